import type { CommandRegistrar } from './akeyless.api.js';
import { type AkeylessAuthDeps, registerAkeylessAuthCommands } from './akeyless.auth.js';
import { registerAkeylessDynamicCommands } from './akeyless.dynamic.js';
import { methodAssociationToAkeyless, registerAkeylessRoleCommands } from './akeyless.roles.js';
import { registerAkeylessSecretCommands } from './akeyless.secrets.js';
import { registerAkeylessUidCommands } from './akeyless.uid.js';

export type AkeylessDeps = Omit<AkeylessAuthDeps, 'rolesOfMethod'> &
  Parameters<typeof registerAkeylessUidCommands>[1] &
  Parameters<typeof registerAkeylessRoleCommands>[1] &
  Parameters<typeof registerAkeylessSecretCommands>[1] &
  Parameters<typeof registerAkeylessDynamicCommands>[1];

/** Every Akeyless command Tessera answers (docs/akeyless-compat.md). */
export function registerAkeylessCommands(commands: CommandRegistrar, deps: AkeylessDeps) {
  registerAkeylessAuthCommands(commands, {
    ...deps,
    rolesOfMethod: async (method) =>
      (await deps.roles.associationsOfMethod(method.id)).map(methodAssociationToAkeyless),
  });
  registerAkeylessUidCommands(commands, deps);
  registerAkeylessRoleCommands(commands, deps);
  registerAkeylessSecretCommands(commands, deps);
  registerAkeylessDynamicCommands(commands, deps);
}
