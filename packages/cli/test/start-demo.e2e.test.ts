import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from './server-process.js';

/**
 * `./start.sh`, the three-persona demo, run as a person (or CI) runs it: the script starts its own
 * server and stops it on exit. Its throw-away files (tokens/, .demo/) go to a temp dir through
 * TESSERA_DEMO_DIR, so the repository is left alone.
 */

const script = join(root, 'start.sh');
const dirs: string[] = [];

function demoDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-demo-'));
  dirs.push(dir);
  return dir;
}

/** Runs start.sh to completion with `input` on its standard input; never rejects. */
function runDemo(
  args: string[],
  dir: string,
  input = '',
  timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TESSERA_DEMO_DIR: dir, NO_COLOR: '1' };
    delete env.TESSERA_URL;
    delete env.TESSERA_TOKEN;
    const child = spawn(script, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** Whether a process is still alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `text` (Linux; empty elsewhere). */
function processesMentioning(text: string): number[] {
  if (!existsSync('/proc')) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return found;
}

/** Full credentials that must never be shown: UID tokens, session tokens, JWTs, access keys. */
const CREDENTIAL =
  /\bu-[A-Za-z0-9_-]{20,}|\bt-eyJ[A-Za-z0-9._-]{20,}|\beyJ[A-Za-z0-9_-]{20,}\.|\btak-[A-Za-z0-9_-]{12,}/;

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('./start.sh, the three-persona demo', () => {
  it('--help explains the modes; an unknown option is a usage error', async () => {
    const help = await runDemo(['--help'], demoDir());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--all');
    expect(help.stdout).toContain('TESSERA_DEMO_DIR');
    const bad = await runDemo(['--bogus'], demoDir());
    expect(bad.code).toBe(2);
  });

  it('hard-codes no credential in the script, the cron template or the examples it uses', () => {
    for (const file of ['start.sh', 'examples/demo/rotate-uid-token.cron']) {
      expect(readFileSync(join(root, file), 'utf8')).not.toMatch(CREDENTIAL);
    }
  });

  it('--all runs every step against its own server, exits 0 and leaves nothing running', async () => {
    const dir = demoDir();
    const result = await runDemo(['--all'], dir);
    const all = `${result.stdout}\n${result.stderr}`;
    expect(result.code, all).toBe(0);

    // The milestones of the seed's story, in order.
    const milestones = [
      'server ready at http://127.0.0.1:',
      'RESULT: step 2 (Admin setup) passed',
      'RESULT: step 3 (Platform engineer deployment) passed',
      'the old UID token: refused',
      'RESULT: step 4 (Application service operations) passed',
      'ROTATED TOKEN: [u-',
      'the stolen old copy: refused',
      'uid.token.reuse_detected',
      'RESULT: step 5 (Token rotation demo) passed',
      'revokeSelf: its children moved to its parent',
      "the worker's session token: refused",
      'RESULT: step 6 (Hierarchical token management) passed',
      'RESULT: step 7 (Python integration example) passed',
      'RESULT: step 8 (Show workflow status) passed',
      'All steps passed',
    ];
    let at = 0;
    for (const m of milestones) {
      const next = result.stdout.indexOf(m, at);
      expect(next, `missing or out of order: ${m}`).toBeGreaterThanOrEqual(0);
      at = next;
    }
    expect(result.stdout).not.toMatch(/RESULT: .* FAILED/);
    expect(result.stdout).toMatch(
      /\$ tessera uid-rotate-token --token-file tokens\/application-service-token/,
    );
    expect(result.stdout).toMatch(/u-[A-Za-z0-9_-]{4}…/); // tokens are shown masked…
    expect(all).not.toMatch(CREDENTIAL); // …and never in full

    // The server is gone, and so are its data (root key, admin.json) and the admin's CLI profile.
    const pid = Number(readFileSync(join(dir, '.demo/server.pid'), 'utf8'));
    expect(alive(pid)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(join(dir, '.demo/server'))).toBe(false);
    expect(existsSync(join(dir, '.demo/cli-config'))).toBe(false);

    // Token files: only the service's own token is left (the hand-off copy was deleted), 0600.
    const tokens = readdirSync(join(dir, 'tokens'));
    expect(tokens).toContain('application-service-token');
    for (const f of tokens) expect(mode(join(dir, 'tokens', f)), f).toBe(0o600);
    expect(readFileSync(join(dir, 'tokens/application-service-token'), 'utf8')).toMatch(/^u-/);

    // The agent rendered the config (0600); its value never reached the output.
    const env = readFileSync(join(dir, '.demo/rendered/database.env'), 'utf8');
    expect(mode(join(dir, '.demo/rendered/database.env'))).toBe(0o600);
    const password = /^DB_PASSWORD=(.+)$/m.exec(env)?.[1] ?? '';
    expect(password.length).toBeGreaterThan(10);
    expect(all).not.toContain(password);

    // The generated configs hold no credential: only paths and the server URL.
    for (const f of ['.demo/agent.yaml', '.demo/rotate-uid-token.cron']) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text).not.toMatch(CREDENTIAL);
      expect(text).not.toContain(password);
    }
    expect(readFileSync(join(dir, '.demo/rotate-uid-token.cron'), 'utf8')).toMatch(
      /uid-rotate-token --token-file \S+application-service-token/,
    );
  }, 150_000);

  it('the menu works with piped input: admin setup, status, exit', async () => {
    const dir = demoDir();
    const result = await runDemo([], dir, '2\n8\n9\n', 90_000);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('1) Complete three-persona workflow (recommended)');
    expect(result.stdout).toContain('9) Exit');
    expect(result.stdout).toContain('Step 2 · Admin setup');
    expect(result.stdout).toContain(
      '$ tessera auth-method create universal-identity --name /demo/uid-non-human-auth',
    );
    expect(result.stdout).toContain('RESULT: step 2 (Admin setup) passed');
    expect(result.stdout).toContain('Step 8 · Workflow status');
    expect(result.stdout).toMatch(/tokens\/client-tokens {2}mode 600 {2}u-[A-Za-z0-9_-]{4}…/);
    expect(result.stdout).toContain('RESULT: step 8 (Show workflow status) passed');
    expect(result.stdout).toContain('Bye.');
    expect(`${result.stdout}\n${result.stderr}`).not.toMatch(CREDENTIAL);
    expect(mode(join(dir, 'tokens/client-tokens'))).toBe(0o600);
    expect(readFileSync(join(dir, 'tokens/client-tokens'), 'utf8')).toMatch(/^UID_TOKEN=u-/m);
    expect(alive(Number(readFileSync(join(dir, '.demo/server.pid'), 'utf8')))).toBe(false);
  }, 120_000);
});
