import type { TypedApp } from '../http/app.js';
import type { Job } from '../jobs/scheduler.js';

/**
 * What a capability contributes to each front door (ADR 0013). A door is an encapsulated Fastify
 * context with its own body parsers, limits, authentication and error rendering; a capability
 * only declares its routes there, each with the access it needs. The Akeyless-compatible door is
 * a translation of a fixed external API onto the services, so its command catalogue is its own
 * (http/compat/akeyless) rather than a contribution of each capability.
 */
export interface DoorRoutes {
  /** The native API: JSON bodies, `/v1/…` paths, Tessera's error shape. */
  native?: (app: TypedApp) => void;
  /** Public, cheap system routes (health, keys, metrics, reference). */
  system?: (app: TypedApp) => void;
}

/**
 * One capability, as the composition root sees it: built by its own factory from exactly the
 * dependencies it names, it provides services (to the modules composed after it), routes, jobs
 * and a lifecycle. Storage (tables, repositories) is declared through `platform.storage` inside
 * the factory, metrics through `platform.metrics.registry`, reactions to other capabilities
 * through `platform.events`.
 */
export interface CapabilityModule<S = unknown> {
  readonly name: string;
  readonly services: S;
  readonly routes?: DoorRoutes;
  readonly jobs?: readonly Job[];
  /** After migrations, before the first request: load what the services keep in memory. */
  start?(): Promise<void>;
  /** At shutdown, in reverse composition order, after the HTTP server stopped taking requests. */
  close?(): Promise<void>;
}
