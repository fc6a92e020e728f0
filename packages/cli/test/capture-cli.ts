import type { CliIo } from '../src/cli.context.js';
import { main } from '../src/cli.main.js';

/** Runs the CLI in process with `io` (fetch, env, clock, stdin…), capturing what it prints. */
export async function runCapturing(
  argv: string[],
  io: Omit<CliIo, 'stdout' | 'stderr'>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    ...io,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}
