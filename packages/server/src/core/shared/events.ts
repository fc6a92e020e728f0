import type { Repos } from './unit-of-work.js';

/**
 * The events one capability publishes for others to react to (ADR 0013). A capability adds its
 * own by augmenting this interface in its own folder:
 *
 *     declare module '../shared/events.js' {
 *       interface DomainEvents { 'lease.revoked': { leaseId: string } }
 *     }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging, one capability at a time
export interface DomainEvents {}

export type EventType = keyof DomainEvents & string;

/** Reacts inside the publisher's unit of work: its writes commit, or roll back, with the change. */
export type TransactionalHandler<K extends EventType> = (
  repos: Repos,
  payload: DomainEvents[K],
) => Promise<void>;
/** Reacts once the change is durable (network calls, caches, notifications); never inside a transaction. */
export type CommittedHandler<K extends EventType> = (payload: DomainEvents[K]) => void | Promise<void>;

/**
 * A typed channel between capabilities, so that a capability reacts to another's change without a
 * reference to it (DESIGN §3 "cross-capability reactions travel as typed after-commit events").
 * Subscriptions are made while modules are composed, before the first request.
 */
export interface EventBus {
  /** Publishes inside a unit of work: `within` handlers run now, `committed` ones after the commit. */
  publish<K extends EventType>(repos: Repos, type: K, payload: DomainEvents[K]): Promise<void>;
  within<K extends EventType>(type: K, handler: TransactionalHandler<K>): void;
  committed<K extends EventType>(type: K, handler: CommittedHandler<K>): void;
}

/** `onError` is told of a committed handler that failed: the change stands, the reaction is logged. */
export function createEventBus(onError: (type: string, error: unknown) => void): EventBus {
  const within = new Map<string, TransactionalHandler<never>[]>();
  const committed = new Map<string, CommittedHandler<never>[]>();
  const add = <H>(map: Map<string, H[]>, type: string, handler: H) => {
    const list = map.get(type);
    if (list) list.push(handler);
    else map.set(type, [handler]);
  };
  return {
    async publish(repos, type, payload) {
      for (const handler of within.get(type) ?? [])
        await (handler as TransactionalHandler<typeof type>)(repos, payload);
      const after = committed.get(type);
      if (!after) return;
      repos.afterCommit(() => {
        for (const handler of after) {
          try {
            const result = (handler as CommittedHandler<typeof type>)(payload);
            if (result) result.catch((error) => onError(type, error));
          } catch (error) {
            onError(type, error);
          }
        }
      });
    },
    within: (type, handler) => add(within, type, handler as TransactionalHandler<never>),
    committed: (type, handler) => add(committed, type, handler as CommittedHandler<never>),
  };
}
