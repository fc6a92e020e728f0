/**
 * The real process as a {@link CliIo}: stdout/stderr, environment, clock, stdin and signals.
 */

import type { CliIo } from './cli.context.js';
import { nodeHttpFetch } from './http.fetch.js';

/** Builds the {@link CliIo} of the running Node.js process. */
export function nodeIo(): CliIo {
  return {
    stdout: (text) => {
      process.stdout.write(text);
    },
    stderr: (text) => {
      process.stderr.write(text);
    },
    env: process.env,
    fetch: nodeHttpFetch,
    now: () => Date.now(),
    isTty: () => process.stderr.isTTY === true,
    async readStdin(): Promise<string> {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin)
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      return Buffer.concat(chunks).toString('utf8');
    },
    onShutdownSignal(handler) {
      const onSignal = (signal: NodeJS.Signals): void => handler(signal);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      return () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      };
    },
  };
}
