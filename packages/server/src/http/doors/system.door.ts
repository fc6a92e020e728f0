import type { TypedApp } from '../app.js';
import { errorHandler } from '../error-mapper.js';
import { type DoorAccessDeps, defaultBodyLimit, type FrontDoor, installDoorAccess } from './door.js';

/**
 * System routes: health, readiness, keys, metrics and the API reference. Reads only: no body is
 * accepted (415), and the one credential it knows is a session token (for `/metrics`).
 */
export function systemDoor(deps: DoorAccessDeps, routes: ReadonlyArray<(app: TypedApp) => void>): FrontDoor {
  return {
    name: 'system',
    prefix: '',
    register(scope) {
      scope.removeAllContentTypeParsers();
      defaultBodyLimit(scope, 1024);
      scope.setErrorHandler(errorHandler);
      installDoorAccess(scope, deps);
      for (const register of routes) register(scope as TypedApp);
    },
  };
}
