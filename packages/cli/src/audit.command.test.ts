import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, FetchLike } from '@tessera/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCapturing } from '../test/capture-cli.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

const ev = (seq: number, over: Partial<AuditEvent> = {}): AuditEvent => ({
  seq,
  id: `ev-${seq}`,
  at: new Date(NOW - (100 - seq) * 1000).toISOString(),
  type: 'auth.failed',
  outcome: 'failure',
  actor: { identityId: null, authMethodId: 'p-x', uidNodeId: null, tokenId: null, credentialRef: null },
  resource: null,
  reason: 'unknown_access_id',
  requestId: `req-${seq}`,
  sourceIp: '127.0.0.1',
  data: { v: 1, accessType: 'access_key' },
  ...over,
});

let dir: string;
let queries: URLSearchParams[];
let bodies: unknown[];
/** Answers `GET /v1/audit/events` from its query. */
let answer: (q: URLSearchParams) => { items: AuditEvent[]; nextCursor: string | null };

const fakeFetch: FetchLike = async (input, init) => {
  const url = new URL(input);
  if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
  if (url.pathname === '/v1/audit/events') {
    queries.push(url.searchParams);
    return new Response(JSON.stringify(answer(url.searchParams)), { status: 200 });
  }
  if (url.pathname === '/v1/audit/hash') {
    bodies.push(JSON.parse(String(init.body)));
    return new Response(JSON.stringify({ hash: `hmac-sha256:${'ab'.repeat(32)}` }), { status: 200 });
  }
  return new Response('{}', { status: 404 });
};

async function run(argv: string[], opts: { onSignal?: (fire: () => void) => void; stdin?: string } = {}) {
  let listeners = 0;
  const result = await runCapturing(argv, {
    env: { TESSERA_CONFIG_DIR: dir, TESSERA_TOKEN: 't-admin-session' },
    now: () => NOW,
    readStdin: async () => opts.stdin ?? '',
    onShutdownSignal: (handler) => {
      listeners++;
      opts.onSignal?.(() => handler('SIGINT'));
      return () => {
        listeners--;
      };
    },
    fetch: fakeFetch,
  });
  return { ...result, listeners };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-cli-audit-'));
  queries = [];
  bodies = [];
  answer = () => ({ items: [], nextCursor: null });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tessera audit list', () => {
  it('sends the filters and prints one line per event, oldest first', async () => {
    answer = () => ({
      items: [ev(9), ev(8, { outcome: 'success', type: 'auth.succeeded' })],
      nextCursor: '8',
    });
    const r = await run([
      'audit',
      'list',
      '--identity-id',
      'i-1',
      '--auth-method-id',
      'p-x',
      '--type',
      'uid.token.*',
      '--outcome',
      'failure',
      '--resource-prefix',
      '/auth-methods/',
      '--since',
      '1h',
      '--until',
      '2026-11-22T11:30:00Z',
      '--limit',
      '2',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.fromEntries(queries[0]!)).toEqual({
      identityId: 'i-1',
      authMethodId: 'p-x',
      type: 'uid.token.*',
      outcome: 'failure',
      resourcePrefix: '/auth-methods/',
      since: '2026-11-22T11:00:00.000Z',
      until: '2026-11-22T11:30:00.000Z',
      limit: '2',
    });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^2026-11-22T11:58:28Z {2}success {2}auth\.succeeded/);
    expect(lines[1]).toMatch(/^2026-11-22T11:58:29Z {2}failure {2}auth\.failed .*unknown_access_id$/);
    expect(r.stderr).toContain('tessera audit list --cursor 8');
  });

  it('prints {items, nextCursor} with --json (oldest first), and passes --cursor on', async () => {
    answer = () => ({ items: [ev(5), ev(4)], nextCursor: '3' });
    const r = await run(['audit', 'list', '--cursor', '6', '--json']);
    expect(queries[0]!.get('cursor')).toBe('6');
    const doc = JSON.parse(r.stdout) as { items: Array<{ seq: number }>; nextCursor: string };
    expect(doc.items.map((e) => e.seq)).toEqual([4, 5]);
    expect(doc.nextCursor).toBe('3');
    expect(r.stderr).toBe('');
  });

  it('refuses bad flags before calling the server', async () => {
    for (const argv of [
      ['--outcome', 'maybe'],
      ['--since', 'yesterday'],
      ['--limit', '501'],
      ['--limit', '0'],
      ['--follow', '--cursor', '5'],
      ['--follow', '--until', '1h'],
    ]) {
      const r = await run(['audit', 'list', ...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
    }
    expect(queries).toHaveLength(0);
  });

  it('--follow polls after the last seq until SIGINT, then exits 0 and stops listening', async () => {
    let fire: () => void = () => {};
    let polls = 0;
    answer = (q) => {
      if (!q.has('afterSeq')) return { items: [ev(3), ev(2)], nextCursor: '2' };
      polls++;
      if (polls === 1) return { items: [ev(4), ev(5)], nextCursor: null };
      // Interrupted while waiting for the second poll's answer.
      fire();
      return { items: [], nextCursor: null };
    };
    const started = Date.now();
    const r = await run(['audit', 'list', '--follow', '--type', 'auth.*', '--json'], {
      onSignal: (f) => {
        fire = f;
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).seq),
    ).toEqual([2, 3, 4, 5]);
    expect(queries.slice(1).map((q) => [q.get('afterSeq'), q.get('type'), q.get('limit')])).toEqual([
      ['3', 'auth.*', '500'],
      ['5', 'auth.*', '500'],
    ]);
    expect(r.listeners).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('--follow with nothing matching starts from the head of the ledger', async () => {
    let fire: () => void = () => {};
    answer = (q) => {
      if (q.get('limit') === '1' && !q.has('type')) return { items: [ev(42)], nextCursor: '42' };
      if (!q.has('afterSeq')) return { items: [], nextCursor: null };
      fire();
      return { items: [ev(43, { type: 'uid.token.reuse_detected' })], nextCursor: null };
    };
    const r = await run(['audit', 'list', '--follow', '--type', 'uid.*'], {
      onSignal: (f) => {
        fire = f;
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(queries.at(-1)!.get('afterSeq')).toBe('42');
    expect(r.stdout).toContain('uid.token.reuse_detected');
  });

  it('--follow stops at once when interrupted during the pause between polls', async () => {
    let fire: () => void = () => {};
    answer = (q) => {
      if (q.has('afterSeq')) setTimeout(() => fire(), 50);
      return { items: [ev(1)], nextCursor: null };
    };
    const started = Date.now();
    const r = await run(['audit', 'list', '--follow'], {
      onSignal: (f) => {
        fire = f;
      },
    });
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(900);
    expect(queries).toHaveLength(2);
  });
});

describe('tessera audit failures', () => {
  it('asks for failed auth.failed and uid.* events and words them "authentication failed"', async () => {
    answer = () => ({
      items: [ev(11, { type: 'uid.token.rotated', reason: 'unknown_uid_token', data: { v: 1 } }), ev(10)],
      nextCursor: null,
    });
    const r = await run(['audit', 'failures', '--limit', '20']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.fromEntries(queries[0]!)).toEqual({
      type: 'auth.failed,uid.*',
      outcome: 'failure',
      limit: '20',
    });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('authentication failed  reason=unknown_access_id  event=auth.failed');
    expect(lines[1]).toContain('authentication failed  reason=unknown_uid_token  event=uid.token.rotated');
  });

  it('defaults to the last 100 and says when there are none', async () => {
    const r = await run(['audit', 'failures']);
    expect(queries[0]!.get('limit')).toBe('100');
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('No failed authentications.');
  });
});

describe('tessera audit hash', () => {
  it('prints the hash alone, the value from --value or from stdin', async () => {
    const r = await run(['audit', 'hash', '--value', 'some value']);
    expect(r.stdout).toBe(`hmac-sha256:${'ab'.repeat(32)}\n`);
    const s = await run(['audit', 'hash', '--value', '-'], { stdin: 'from-stdin\n' });
    expect(s.code).toBe(0);
    expect(bodies).toEqual([{ value: 'some value' }, { value: 'from-stdin' }]);
    expect((await run(['audit', 'hash'])).code).toBe(2);
  });
});
