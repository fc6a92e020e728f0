import type { DynamicSecretsService } from '../../core/dynamic/dynamic.service.js';
import type { RolesService } from '../../core/roles/roles.service.js';
import type { RotationService } from '../../core/rotated-secrets/rotated-secrets.service.js';
import { unauthenticated } from '../../core/sessions/sessions.errors.js';
import { systemContext } from '../../core/shared/context.js';
import type { CapabilityModule } from '../../platform/module.js';
import type { Platform } from '../../platform/platform.js';
import type { ProducerRegistry } from '../../producers/registry.js';
import { type PersonOf, resolveCaller } from '../approvals/approvals.caller.js';
import type { AnomalySettings } from './anomaly.rules.js';
import { producerConnectors } from './discovery.connectors.js';
import { registerDiscoveryRoutes } from './discovery.routes.js';
import { createDiscoveryService, type DiscoveryService } from './discovery.service.js';
import type { LeakSource, OwnerDirectory } from './governance.model.js';
import { createGovernanceRepo, governanceMigrations } from './governance.repo.js';
import { registerGovernanceRoutes } from './governance.routes.js';
import { createGovernanceService, type GovernanceService } from './governance.service.js';
import { createReviewsRepo, reviewsMigrations } from './reviews.repo.js';
import { registerReviewRoutes } from './reviews.routes.js';
import { createReviewsService, type ReviewsService } from './reviews.service.js';

/**
 * Governance (issue 16, ADR 0019): inventory, posture findings (a leader job: once per cluster),
 * narrowed roles, retirement and offboarding, discovery.
 */
export function createGovernanceModule(
  platform: Platform,
  deps: {
    roles: RolesService;
    producers: ProducerRegistry;
    dynamicSecrets: DynamicSecretsService;
    rotation: RotationService;
    /** Leaked credentials per identity (the leaks capability), for the NHI2 findings. */
    leakSource?: LeakSource;
    scanIntervalMs?: number;
    reviewIntervalMs?: number;
    /** How often new audit events are checked against the anomaly baselines (ADR 0033). */
    anomalyIntervalMs?: number;
    anomaly?: Partial<AnomalySettings>;
    /** The people known from sign-in and their groups, for NHI1 owner reachability. */
    ownerDirectory?: () => Promise<OwnerDirectory | null>;
    /** The person behind a session (the people capability): who may certify access-review items. */
    personOf?: PersonOf;
  },
): CapabilityModule<{ governance: GovernanceService; discovery: DiscoveryService; reviews: ReviewsService }> {
  platform.storage.contribute({
    name: 'governance',
    migrations: governanceMigrations,
    repos: { governance: createGovernanceRepo },
  });
  platform.storage.contribute({
    name: 'reviews',
    migrations: reviewsMigrations,
    repos: { reviews: createReviewsRepo },
  });
  const governance = createGovernanceService({
    uow: platform.uow,
    clock: platform.clock,
    events: platform.events,
    roles: deps.roles,
    leakSource: deps.leakSource ?? null,
    anomaly: { ...platform.config.governance.anomaly, ...deps.anomaly },
    ...(deps.ownerDirectory ? { ownerDirectory: deps.ownerDirectory } : {}),
  });
  const discovery = createDiscoveryService({
    uow: platform.uow,
    clock: platform.clock,
    ids: platform.credentials,
    connector: producerConnectors(deps),
  });
  const reviews = createReviewsService({
    uow: platform.uow,
    clock: platform.clock,
    events: platform.events,
    ids: platform.credentials,
    governance,
  });
  return {
    name: 'governance',
    services: { governance, discovery, reviews },
    routes: {
      native: (app) => {
        registerGovernanceRoutes(app, { governance, nowMs: () => platform.clock.nowMs() });
        registerDiscoveryRoutes(app, { discovery });
        registerReviewRoutes(app, {
          reviews,
          deciderOf: async (request) => {
            if (!request.principal) throw unauthenticated();
            return (await resolveCaller(platform.uow, deps.personOf, request.principal)).decider;
          },
        });
      },
    },
    jobs: [
      {
        name: 'posture-scan',
        scope: 'leader',
        intervalMs: deps.scanIntervalMs ?? 15 * 60_000,
        run: () => governance.scan(systemContext('posture-scan')),
      },
      {
        // Folds new audit events into usage and the anomaly baselines between full scans.
        name: 'anomaly-detection',
        scope: 'leader',
        intervalMs: deps.anomalyIntervalMs ?? 60_000,
        run: async () => {
          await governance.ingest();
        },
      },
      {
        name: 'access-reviews',
        scope: 'leader',
        intervalMs: deps.reviewIntervalMs ?? 15 * 60_000,
        run: () => reviews.processAll(systemContext('access-reviews')),
      },
    ],
  };
}
