import type { TypedApp } from '../app.js';
import { errorHandler } from '../error-mapper.js';
import { type DoorAccessDeps, defaultBodyLimit, type FrontDoor, installDoorAccess } from './door.js';

/** The largest native request body; routes that carry a secret value set their own. */
export const NATIVE_BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The native API (`/v1/…`, docs/http-api.md): JSON bodies only, Tessera's error shape, session
 * tokens (or the `u-` token on holder routes) in `Authorization: Bearer`.
 */
export function nativeDoor(deps: DoorAccessDeps, routes: ReadonlyArray<(app: TypedApp) => void>): FrontDoor {
  return {
    name: 'native',
    prefix: '',
    register(scope) {
      // Every body is JSON; anything else is 415, not a string to validate.
      scope.removeContentTypeParser('text/plain');
      defaultBodyLimit(scope, NATIVE_BODY_LIMIT_BYTES);
      // A POST without a body is an empty object: `{manualAck?}`-style bodies are optional on the wire.
      scope.addHook('preValidation', async (request) => {
        if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH'))
          request.body = {};
      });
      scope.setErrorHandler(errorHandler);
      installDoorAccess(scope, deps);
      for (const register of routes) register(scope as TypedApp);
    },
  };
}
