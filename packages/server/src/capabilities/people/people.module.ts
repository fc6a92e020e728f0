import type { AuthMethodsService } from '../../core/auth-methods/auth-methods.service.js';
import type { RolesService } from '../../core/roles/roles.service.js';
import type { SessionsService } from '../../core/sessions/sessions.service.js';
import type { TypedApp } from '../../http/app.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import { createOidcRelyingParty } from './people.oidc.js';
import { createPeopleRepo, peopleMigrations } from './people.repo.js';
import { registerPeopleRoutes } from './people.routes.js';
import { createPeopleService, type PeopleService } from './people.service.js';

/**
 * People (issue 14, ADR 0016): persons known by their IdP subject and email, signed in by OIDC
 * single sign-on (Tessera as relying party), their groups mapped to roles, short-lived human
 * sessions, `tessera login`/`logout`. People are owners and approvers, not the product's subjects.
 */
export function createPeopleModule(
  platform: Platform,
  deps: { sessions: SessionsService; authMethods: AuthMethodsService; roles: RolesService },
): CapabilityModule<{ people: PeopleService }> {
  const { uow, clock, credentials, config, log } = platform;
  platform.storage.contribute({
    name: 'people',
    migrations: peopleMigrations,
    repos: { people: createPeopleRepo },
  });
  const oidc = config.humans.oidc;
  const people = createPeopleService({
    uow,
    clock,
    credentials,
    ...deps,
    config: oidc,
    rp: oidc ? createOidcRelyingParty(oidc) : null,
    log,
  });
  return {
    name: 'people',
    services: { people },
    routes: {
      native: (app: TypedApp) =>
        registerPeopleRoutes(app, { people, redirectUri: oidc?.redirectUri ?? null }),
    },
  };
}
