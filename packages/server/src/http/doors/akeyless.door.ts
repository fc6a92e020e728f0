import { mountAkeylessCommands } from '../compat/akeyless/akeyless.api.js';
import { type AkeylessDeps, registerAkeylessCommands } from '../compat/akeyless/akeyless.commands.js';
import { type DoorAccessDeps, defaultBodyLimit, type FrontDoor, installDoorAccess } from './door.js';
import { NATIVE_BODY_LIMIT_BYTES } from './native.door.js';

/**
 * The Akeyless-compatible API (ADR 0009): every command a POST of one JSON body to
 * `/akeyless/<command>`, the credential inside the body, errors as `{"error": "…"}`.
 */
export function akeylessDoor(access: DoorAccessDeps, deps: AkeylessDeps): FrontDoor {
  return {
    name: 'akeyless',
    prefix: '/akeyless',
    register(scope) {
      scope.removeContentTypeParser('text/plain');
      defaultBodyLimit(scope, NATIVE_BODY_LIMIT_BYTES);
      installDoorAccess(scope, access);
      mountAkeylessCommands(scope, (commands) => registerAkeylessCommands(commands, deps));
    },
  };
}
