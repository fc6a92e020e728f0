/**
 * Discovery connectors over the dynamic-secret producers: the target's administrator connection
 * is the dynamic secret's (sealed, decrypted in memory only for the call).
 */
import type { DynamicSecretsService } from '../../core/dynamic/dynamic.service.js';
import type { ProducerSettings } from '../../core/dynamic/producer.port.js';
import type { RotationService } from '../../core/rotated-secrets/rotated-secrets.service.js';
import type { ProducerRegistry } from '../../producers/registry.js';
import type { DiscoveredAccount, DiscoveryConnector, DiscoveryTarget } from './discovery.port.js';

/** Accounts every system has that are not NHIs to govern (built-in, internal). */
const SYSTEM = /^(pg_.*|postgres|default|root|mariadb\.sys|mysql\..*|debian-sys-maint|healthcheck)$/;

/** One connector per producer type, all behind the one port. */
export function producerConnectors(deps: {
  producers: ProducerRegistry;
  dynamicSecrets: DynamicSecretsService;
  rotation: RotationService;
}): (type: string) => DiscoveryConnector {
  const settingsOf = async (target: DiscoveryTarget) => {
    const item = await deps.dynamicSecrets.get(target.itemName);
    const settings = await deps.dynamicSecrets.unseal(item);
    return { item, settings: { ...settings, usernamePrefix: target.prefix } as ProducerSettings };
  };
  return (type) => {
    const producer = deps.producers.get(type);
    return {
      type,
      async list(target) {
        const { settings } = await settingsOf(target);
        const names = await producer.listAccounts(settings);
        const ages = (await producer.passwordChangedAt?.(settings)) ?? new Map<string, number>();
        const skip = new Set([settings.adminUsername, settings.reassignOwnedTo]);
        return names
          .filter((name) => !SYSTEM.test(name) && !skip.has(name))
          .map((name): DiscoveredAccount => ({ name, passwordChangedAtMs: ages.get(name) ?? null }));
      },
      async adopt(target, account, secretName, ctx) {
        const { item, settings } = await settingsOf(target);
        await deps.rotation.create(
          {
            name: secretName,
            producerType: item.type,
            settings: { ...settings },
            strategy: 'single-account',
            usernames: [account],
            description: `Adopted from discovery on ${item.name}`,
          },
          ctx,
        );
      },
      async remove(target, account) {
        const { settings } = await settingsOf(target);
        await producer.revokeAccount(settings, account);
      },
      async describe(target) {
        const { item, settings } = await settingsOf(target);
        return `${item.type}://${settings.host}:${settings.port}${settings.database ? `/${settings.database}` : ''}`;
      },
    };
  };
}
