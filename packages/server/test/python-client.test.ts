import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The Python client's unittest suite (clients/python/tests), run as part of `npm test`: it starts
 * its own server from packages/cli/dist (built by `npm test` first) and needs only `python3` (≥ 3.9,
 * standard library). `PYTHON` overrides the interpreter.
 */
const repoRoot = resolve(__dirname, '../../..');

function runPythonSuite(): Promise<{ code: number | null; output: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(
      process.env.PYTHON ?? 'python3',
      ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'],
      {
        cwd: repoRoot,
        env: { ...process.env, TESSERA_NODE: process.execPath, PYTHONDONTWRITEBYTECODE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 110_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      ok({ code, output });
    });
  });
}

describe('Python client (clients/python)', () => {
  it('passes its unittest suite against a live server', { timeout: 120_000 }, async () => {
    const { code, output } = await runPythonSuite();
    if (code !== 0) console.error(output);
    expect(code, output.slice(-4000)).toBe(0);
  });
});
