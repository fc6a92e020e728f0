import type { Producer, ProducerType } from '../core/dynamic/producer.port.js';
import { validationError } from '../core/shared/errors.js';

/**
 * The producers Tessera can use, by type (issue 6). The core sees only `ProducerRegistry`; the
 * composition root registers the implementations (PostgreSQL here; MariaDB/MySQL and Redis beside it).
 */
export class ProducerRegistry {
  readonly #producers = new Map<ProducerType, Producer>();

  register(producer: Producer): this {
    if (this.#producers.has(producer.type)) throw new Error(`producer ${producer.type} registered twice`);
    this.#producers.set(producer.type, producer);
    return this;
  }

  /** The producer of `type`; a validation error (400) for a type no producer serves. */
  get(type: string): Producer {
    const producer = this.#producers.get(type as ProducerType);
    if (!producer)
      throw validationError(`Unknown dynamic secret type "${type.slice(0, 40)}".`, { field: 'type' });
    return producer;
  }

  types(): ProducerType[] {
    return [...this.#producers.keys()];
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#producers.values()].map((p) => p.close()));
  }
}
