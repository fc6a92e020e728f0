import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';

/** Logger settings: `false` for none, or pino's level and, for tests, a stream to write lines to. */
export type LoggerOptions =
  | boolean
  | { level?: string; stream?: { write(line: string): void } }
  | FastifyBaseLogger;

function isLogger(value: unknown): value is FastifyBaseLogger {
  return typeof (value as FastifyBaseLogger | null)?.child === 'function';
}

/**
 * The process logger, created first of all (ADR 0013): whatever starts before the HTTP app exists
 * (migrations, key rotation, audit sinks) logs through it, and Fastify is handed the same instance.
 */
export function createLogger(options: LoggerOptions | undefined, level: string): FastifyBaseLogger {
  if (isLogger(options)) return options;
  if (options === false) return pino({ level: 'silent' });
  if (options === true || options === undefined) return pino({ level });
  const { stream, ...rest } = options;
  const settings = { level: rest.level ?? level };
  return (stream ? pino(settings, stream) : pino(settings)) as FastifyBaseLogger;
}
