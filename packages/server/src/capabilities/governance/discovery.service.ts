import type { AuditEvent } from '../../core/audit/audit.model.js';
import type { RequestContext } from '../../core/shared/context.js';
import { conflict, notFound, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import type { DiscoveryConnector } from './discovery.port.js';
import type { DiscoveredRow } from './governance.repo.js';

export const DECISIONS = ['adopt', 'replace', 'delete'] as const;
export type Decision = (typeof DECISIONS)[number];

const event = (type: string, resource: string | null, data: Record<string, unknown>): AuditEvent => ({
  type,
  outcome: 'success',
  actor: {},
  resource,
  data,
});

/**
 * Discovery (issue 16): sources name a target (through a dynamic secret's connection) and a name
 * scope; a run lists the target's accounts and reconciles them with what Tessera knows. An account
 * Tessera did not create becomes a discovered identity with no owner, awaiting a decision: adopt
 * (rotate it under Tessera), replace (drop it; workloads use the dynamic secret), or delete.
 */
export function createDiscoveryService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  ids: Pick<CredentialFactory, 'newId'>;
  connector: (type: string) => DiscoveryConnector;
}) {
  const { uow, clock } = deps;

  async function source(name: string) {
    const s = await uow.read((r) => r.governance.getSource(name));
    if (!s) throw notFound('The discovery source');
    return s;
  }
  const targetOf = (s: { item_name: string; prefix: string }) => ({
    itemName: s.item_name,
    prefix: s.prefix,
  });

  /** Accounts Tessera made or holds on the item's target: live leases and rotated secrets' accounts. */
  async function known(itemName: string): Promise<Set<string>> {
    return uow.read(async (r) => {
      const item = await r.dynamic.getItem(itemName);
      const names = new Set<string>(item ? await r.dynamic.liveUsernames(item.id) : []);
      const rotated = await r.governance.listRotatedUsernames();
      for (const n of rotated) names.add(n);
      return names;
    });
  }

  async function decisionPlan(id: string, decision: Decision) {
    const d = await uow.read((r) => r.governance.getDiscovered(id));
    if (!d) throw notFound('The discovered account');
    if (d.state !== 'pending') throw conflict(`The account was already decided (${d.state}).`);
    const s = await source(d.source);
    const c = deps.connector(s.connector);
    const where = await c.describe(targetOf(s));
    const secretName = `/discovered/${s.name}/${d.account}`;
    const effects: Record<Decision, string[]> = {
      adopt: [
        `set a new password on ${d.account} at ${where}, known only to Tessera (the old one stops working)`,
        `hold it as the rotated secret ${secretName}; holders read it from Tessera`,
        'mark the identity managed by Tessera',
      ],
      replace: [
        `drop ${d.account} at ${where} and end its sessions`,
        `workloads obtain short-lived accounts from the dynamic secret ${s.item_name} instead`,
      ],
      delete: [`drop ${d.account} at ${where} and end its sessions`, 'retire the discovered identity'],
    };
    return {
      d,
      s,
      c,
      secretName,
      preview: {
        id,
        account: d.account,
        source: s.name,
        decision,
        target: where,
        effects: effects[decision],
      },
    };
  }

  return {
    async addSource(input: { name: string; itemName: string; prefix?: string }, ctx: RequestContext) {
      const now = clock.nowMs();
      const item = await uow.read((r) =>
        r.dynamic.getItem(input.itemName.startsWith('/') ? input.itemName : `/${input.itemName}`),
      );
      if (!item) throw notFound('The dynamic secret');
      deps.connector(item.type); // refuses a type no connector serves
      return uow.write(async (r) => {
        if (await r.governance.getSource(input.name))
          throw conflict('A discovery source with this name exists.');
        const row = {
          name: input.name,
          item_name: item.name,
          connector: item.type,
          prefix: input.prefix ?? '',
          created_at: now,
        };
        await r.governance.insertSource(row);
        await r.audit.append(
          event('governance.source_added', item.name, { source: input.name, connector: item.type }),
          ctx,
          now,
        );
        return { name: row.name, itemName: row.item_name, connector: row.connector, prefix: row.prefix };
      });
    },

    async listSources() {
      const rows = await uow.read((r) => r.governance.listSources());
      return rows.map((x) => ({
        name: x.name,
        itemName: x.item_name,
        connector: x.connector,
        prefix: x.prefix,
      }));
    },

    /** Lists the target's accounts and reconciles them; new unknown ones become discovered identities. */
    async run(name: string, ctx: RequestContext) {
      const s = await source(name);
      const accounts = await deps.connector(s.connector).list(targetOf(s));
      const ours = await known(s.item_name);
      const foreign = accounts.filter((a) => !ours.has(a.name));
      const now = clock.nowMs();
      return uow.write(async (r) => {
        const existing = new Map((await r.governance.listDiscovered(name)).map((d) => [d.account, d]));
        const created: DiscoveredRow[] = [];
        for (const a of foreign) {
          const seen = existing.get(a.name);
          if (seen) {
            // The password may have been changed since (behind Tessera's back, again).
            if (seen.passwordChangedAtMs !== a.passwordChangedAtMs)
              await r.governance.setDiscoveredPasswordChangedAt(seen.id, a.passwordChangedAtMs);
            continue;
          }
          const identityId = deps.ids.newId('i-');
          await r.identities.insert({
            id: identityId,
            name: `discovered/${name}/${a.name}`,
            kind: 'service',
            owner: 'unassigned',
            environment: null,
            description: `Account ${a.name} found on ${s.item_name}'s target, not created by Tessera`,
            tags: ['discovered', `source=${name}`],
            state: 'active',
            createdAtMs: now,
            updatedAtMs: now,
            retiredAtMs: null,
            // A password set is not a use: the identity has no known last use yet.
            lastUsedAtMs: null,
          });
          const row: DiscoveredRow = {
            id: deps.ids.newId('da-'),
            source: name,
            account: a.name,
            identityId,
            state: 'pending',
            firstSeenAtMs: now,
            lastSeenAtMs: now,
            decidedAtMs: null,
            decision: null,
            passwordChangedAtMs: a.passwordChangedAtMs,
          };
          await r.governance.insertDiscovered(row);
          created.push(row);
        }
        const stillThere = foreign
          .map((a) => existing.get(a.name)?.id)
          .filter((x): x is string => Boolean(x));
        await r.governance.touchDiscovered(stillThere, now);
        await r.audit.append(
          event('governance.discovery_ran', s.item_name, {
            source: name,
            accounts: accounts.length,
            unknown: foreign.length,
            new: created.map((c) => c.account).slice(0, 100),
          }),
          ctx,
          now,
        );
        return {
          source: name,
          accounts: accounts.length,
          unknown: foreign.length,
          discovered: created.length,
        };
      });
    },

    async list(sourceName: string | null) {
      return uow.read((r) => r.governance.listDiscovered(sourceName));
    },

    /** What a decision would do, without doing it. */
    async preview(id: string, decision: Decision) {
      return (await decisionPlan(id, decision)).preview;
    },

    /** Carries out a decision: I/O on the target first, then the record, the identity and the audit. */
    async decide(id: string, decision: Decision, owner: string | null, ctx: RequestContext) {
      // An unknown account is 404 whatever the body says.
      if (!(await uow.read((r) => r.governance.getDiscovered(id)))) throw notFound('The discovered account');
      if (decision !== 'delete' && !owner)
        throw validationError('Adopting or replacing an account needs an owner.', { field: 'owner' });
      const plan = await decisionPlan(id, decision);
      const { d, s, c } = plan;
      if (decision === 'adopt') await c.adopt(targetOf(s), d.account, plan.secretName, ctx);
      else await c.remove(targetOf(s), d.account);
      const now = clock.nowMs();
      const state = { adopt: 'adopted', replace: 'replaced', delete: 'deleted' }[decision];
      await uow.write(async (r) => {
        const identity = await r.identities.get(d.identityId);
        if (identity)
          await r.identities.update({
            ...identity,
            owner: owner ?? identity.owner,
            tags: [state, `source=${s.name}`],
            state: decision === 'adopt' ? identity.state : 'retired',
            retiredAtMs: decision === 'adopt' ? identity.retiredAtMs : now,
            updatedAtMs: now,
          });
        await r.governance.decideDiscovered(
          id,
          state,
          decision === 'adopt' ? plan.secretName : s.item_name,
          now,
        );
        await r.audit.append(
          event('governance.discovered_decided', `/discovered/${s.name}/${d.account}`, {
            discoveredId: id,
            decision,
            owner,
          }),
          ctx,
          now,
        );
      });
      return { ...plan.preview, state, rotatedSecret: decision === 'adopt' ? plan.secretName : null };
    },
  };
}

export type DiscoveryService = ReturnType<typeof createDiscoveryService>;
