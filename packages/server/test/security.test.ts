import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { createAuditHasher } from '../src/crypto/audit-hash.js';
import { ChainHasher } from '../src/crypto/audit-ledger.js';
import { createCredentialFactory, sha256Hex } from '../src/crypto/credentials.js';
import { rootKeyFromBase64 } from '../src/crypto/root-key.js';
import { startServer } from '../src/server.js';
import { adminSession, STORES, startTestServer, type TestServer, uidAuth } from './harness.js';

/** DESIGN §6, the security invariants, on every store. */

/** A log sink for pino: every line the server writes, as written. */
function captureLogs() {
  const lines: string[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(line) }, text: () => lines.join('') };
}

/** Every row of every table, as text: what someone with a copy of the database would see. */
async function dumpDatabase(s: TestServer): Promise<{ tables: string[]; text: string }> {
  const db = s.tessera.store.db;
  const names =
    s.tessera.store.dialect === 'sqlite'
      ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows
      : (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(
            db,
          )
        ).rows;
  const tables = names.map((n) => n.name).sort();
  let text = '';
  for (const table of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db)).rows;
    text += `\n== ${table}\n${JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`;
  }
  return { tables, text };
}

/** The raw bytes of the SQLite files (database and write-ahead log), as latin1 text. */
function sqliteFiles(s: TestServer): string {
  const file = s.config.storeUrl.slice('sqlite:'.length);
  let text = '';
  for (const f of [file, `${file}-wal`]) {
    try {
      text += readFileSync(f).toString('latin1');
    } catch {}
  }
  return text;
}

/** The parts of a credential that must never be seen: the whole, and its secret body. */
function needles(secret: string): string[] {
  if (secret.startsWith('u-')) return [secret, secret.slice(2), secret.slice(2, 30), secret.slice(20, 45)];
  if (secret.startsWith('tak-')) return [secret, secret.slice(4), secret.slice(4, 30), secret.slice(20, 45)];
  if (secret.split('.').length === 3) return [secret, secret.split('.')[2]!];
  return [secret];
}

function expectAbsent(haystack: string, secrets: Map<string, string>, where: string) {
  const found: string[] = [];
  for (const [label, secret] of secrets) {
    for (const needle of needles(secret))
      if (haystack.includes(needle)) found.push(`${label} (${needle.slice(0, 12)}…)`);
  }
  expect(found, `credentials found in ${where}`).toEqual([]);
}

describe.each(STORES)('security invariants on %s', (store) => {
  let s: TestServer;
  const logs = captureLogs();
  beforeAll(async () => {
    s = await startTestServer(store, {}, { logger: { level: 'trace', stream: logs.stream } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('never stores, logs or echoes a credential in plaintext', async () => {
    const secrets = new Map<string, string>();
    const errors: string[] = [];
    const call = async (method: string, url: string, opts: { token?: string; body?: unknown } = {}) => {
      const r = await s.call(method, url, opts);
      if (r.status >= 400) errors.push(JSON.stringify(r.body));
      return r;
    };
    const keep = (label: string, secret: string) => {
      expect(typeof secret, label).toBe('string');
      secrets.set(label, secret);
      return secret;
    };
    keep('admin access key', s.adminAccessKey);
    keep('admin session (start-up)', s.adminToken);
    const admin = keep('admin session', await adminSession(s));

    // Access keys.
    const ak = await call('POST', '/v1/auth-methods', {
      token: admin,
      body: { type: 'access_key', name: 'ci/deployer' },
    });
    expect(ak.status).toBe(201);
    const key = keep('access key', ak.body.accessKey);
    const akSession = await call('POST', '/v1/auth', {
      body: { accessType: 'access_key', accessId: ak.body.authMethod.id, accessKey: key },
    });
    keep('access-key session', akSession.body.token);
    const typo = `${key.slice(0, -3)}${key.endsWith('A') ? 'BBB' : 'AAA'}`;
    keep('mistyped access key', typo);
    expect(
      (
        await call('POST', '/v1/auth', {
          body: { accessType: 'access_key', accessId: ak.body.authMethod.id, accessKey: typo },
        })
      ).status,
    ).toBe(401);

    // Universal Identity: generate, authenticate, rotate, child, manual ack, reuse, revoke.
    const m = await call('POST', '/v1/auth-methods', {
      token: admin,
      body: { type: 'universal_identity', name: 'vm/fleet', ttlSeconds: 3600 },
    });
    expect(m.status).toBe(201);
    const root = await call('POST', '/v1/uid/tokens', {
      token: admin,
      body: { authMethodId: m.body.authMethod.id },
    });
    const u1 = keep('root UID token', root.body.token);
    keep('root UID session', (await uidAuth(s, u1)).body.token);
    const rotated = await call('POST', '/v1/uid/rotate', { token: u1, body: {} });
    expect(rotated.status).toBe(200);
    const u2 = keep('rotated UID token', rotated.body.token);
    keep('rotated UID session', (await uidAuth(s, u2)).body.token);
    const child = await call('POST', '/v1/uid/children', { token: u2, body: { ttlSeconds: 600 } });
    const u3 = keep('child UID token', child.body.token);
    const childSession = keep('child UID session', (await uidAuth(s, u3)).body.token);
    expect((await call('GET', '/v1/uid/tree', { token: childSession })).status).toBe(200);
    const manual = await call('POST', '/v1/uid/rotate', { token: u3, body: { manualAck: true } });
    const u4 = keep('manually acknowledged UID token', manual.body.token);
    const stranger = keep(
      'never-issued UID token',
      createCredentialFactory(createAuditHasher({ id: 'test', material: Buffer.alloc(32, 1) })).newUidToken(),
    );
    expect(
      (await call('POST', '/v1/uid/rotate/ack', { token: u3, body: { newToken: stranger } })).status,
    ).toBe(401);
    expect((await call('POST', '/v1/uid/rotate/ack', { token: u3, body: { newToken: u4 } })).status).toBe(
      200,
    );
    const adminChild = await call('POST', '/v1/uid/children', {
      token: admin,
      body: { authMethodId: m.body.authMethod.id, parentTokenId: root.body.tokenId, ttlSeconds: 600 },
    });
    keep('admin-created child UID token', adminChild.body.token);
    expect((await uidAuth(s, u1)).status).toBe(401); // reuse of a rotated-away token
    expect((await call('GET', '/v1/identities', { token: u2 })).status).toBe(401); // a UID token as a session
    expect(
      (
        await call('POST', '/v1/uid/revoke', {
          token: admin,
          body: { authMethodId: m.body.authMethod.id, token: u4, type: 'self' },
        })
      ).status,
    ).toBe(200);
    expect((await uidAuth(s, u4)).status).toBe(401);
    expect((await uidAuth(s, stranger)).status).toBe(401);
    await s.tessera.flushLastUsed();

    // What is stored is a hash: prove the scan looks where the credentials live.
    const { tables, text: dump } = await dumpDatabase(s);
    expect(tables).toEqual(
      expect.arrayContaining(['auth_methods', 'uid_credentials', 'audit_events', 'signing_keys']),
    );
    expect(dump).toContain(sha256Hex(key));
    expect(dump).toContain(sha256Hex(s.adminAccessKey));
    for (const t of [u1, u2, u3, u4]) expect(dump).toContain(sha256Hex(t));
    expect(dump).toContain('uid.token.reuse_detected');

    expectAbsent(dump, secrets, 'the database');
    if (store === 'sqlite') expectAbsent(sqliteFiles(s), secrets, 'the SQLite files');
    expectAbsent(errors.join('\n'), secrets, 'error bodies');

    // The logs were captured (one line per request at least), and hold none of it.
    const logText = logs.text();
    expect(logs.lines.filter((l) => l.includes('request completed')).length).toBeGreaterThan(20);
    expect(logText).toContain('request refused');
    expectAbsent(logText, secrets, 'the logs');
    expect(logText).not.toMatch(/authorization/i);
  });

  it('keeps the root key in a 0600 file, and out of the store and the logs', async () => {
    const path = join(s.dataDir, 'root.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(s.dataDir).mode & 0o077).toBe(0);
    const material = readFileSync(path, 'utf8').trim();
    expect(Buffer.from(material, 'base64')).toHaveLength(32);
    const secrets = new Map([
      ['root key (base64)', material],
      ['root key (hex)', Buffer.from(material, 'base64').toString('hex')],
      ['root key (base64url)', Buffer.from(material, 'base64').toString('base64url')],
    ]);
    expectAbsent((await dumpDatabase(s)).text, secrets, 'the database');
    expectAbsent(logs.text(), secrets, 'the logs');
  });

  it('rate-limits brute force on /v1/auth per source, and audits every failure', async () => {
    const attacker = '203.0.113.7';
    const bystander = '198.51.100.9';
    const limit = s.config.authFailureLimit;
    const from = (ip: string, body: unknown) =>
      s.tessera.app
        .inject({ method: 'POST', url: '/v1/auth', remoteAddress: ip, payload: body as object })
        .then((r) => ({ status: r.statusCode, body: r.json() }));
    const guess = (i: number) => ({
      accessType: 'access_key',
      accessId: s.adminAccessId,
      accessKey: `tak-guess-${i}`,
    });

    const answers = [];
    for (let i = 0; i < limit + 5; i++) answers.push(await from(attacker, guess(i)));
    expect(answers.slice(0, limit).map((a) => a.status)).toEqual(Array(limit).fill(401));
    for (const a of answers.slice(limit)) {
      expect(a.status).toBe(429);
      expect(a.body.error.code).toBe('TESSERA_RATE_LIMITED');
    }
    // While blocked, even the right key is refused from that source; other sources are unaffected.
    const right = { accessType: 'access_key', accessId: s.adminAccessId, accessKey: s.adminAccessKey };
    expect((await from(attacker, right)).status).toBe(429);
    expect((await from(bystander, right)).status).toBe(200);
    expect((await from(bystander, guess(99))).status).toBe(401);
    // UID-token guessing counts against the same budget.
    expect(
      (await from(attacker, { accessType: 'universal_identity', uidToken: `u-${'A'.repeat(49)}` })).status,
    ).toBe(429);

    // The refusals of a blocked source are one event at once and one summary with the count
    // (issue 10: a blocked client must not grow the ledger with a row per request).
    await s.tessera.denials.flush(true);
    const events = await s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('source_ip', '=', attacker)
      .orderBy('seq')
      .execute();
    const failed = events.filter((e) => e.type === 'auth.failed');
    const limited = events.filter((e) => e.type === 'auth.rate_limited');
    expect(failed).toHaveLength(limit);
    expect(limited.length).toBe(2);
    expect(JSON.parse(limited[1]!.data).repeated).toBe(6);
    // Each failure refers to the presented key by its audit hash: the one an operator gets from
    // POST /v1/audit/hash for that value, so the attempts of one guessed key can be found.
    const firstGuess = guess(0) as { accessKey: string };
    const searched = await s.call('POST', '/v1/audit/hash', {
      token: s.adminToken,
      body: { value: firstGuess.accessKey },
    });
    expect(JSON.parse(failed[0]!.actor).credentialRef).toBe(searched.body.hash);
    for (const e of failed) {
      expect(e.outcome).toBe('failure');
      expect(e.reason).toBe('wrong_access_key');
      expect(JSON.parse(e.actor).credentialRef).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(e.actor + e.data).not.toContain('tak-guess');
    }
    for (const e of limited) expect(e.outcome).toBe('denied');

    // The window passes: the source may try again.
    s.clock.advance(s.config.authFailureWindowSeconds + 1);
    expect((await from(attacker, right)).status).toBe(200);
    s.adminToken = await adminSession(s);
  });

  it('rate-limits brute force on the UID holder endpoints too, and audits it', async () => {
    // DESIGN §6: "Brute force on any credential endpoint is rate-limited and audited." The holder
    // routes take a u- token as their credential, so guessing there must be limited like /v1/auth.
    const attacker = '203.0.113.8';
    const limit = s.config.authFailureLimit;
    const credentials = createCredentialFactory(
      createAuditHasher({ id: 'test', material: Buffer.alloc(32, 1) }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < limit + 5; i++) {
      const r = await s.tessera.app.inject({
        method: 'POST',
        url: '/v1/uid/rotate',
        remoteAddress: attacker,
        headers: { authorization: `Bearer ${credentials.newUidToken()}` },
        payload: {},
      });
      statuses.push(r.statusCode);
    }
    const audited = await s.tessera.store.db
      .selectFrom('audit_events')
      .select(['type', 'outcome'])
      .where('source_ip', '=', attacker)
      .execute();
    expect(audited.filter((e) => e.outcome === 'failure').length).toBeGreaterThanOrEqual(limit);
    expect(statuses.slice(0, limit).every((st) => st === 401)).toBe(true);
    expect(statuses.slice(limit)).toEqual(Array(5).fill(429));
  });

  it('chains every audit event to its predecessor, and the chain detects edits, insertions and deletions', async () => {
    const rows = await s.tessera.store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));

    const fields = (r: (typeof rows)[number]) => [
      Number(r.seq),
      r.id,
      Number(r.at),
      r.type,
      r.outcome,
      r.actor,
      r.resource,
      r.reason,
      r.request_id,
      r.source_ip,
      r.data,
    ];
    const hasher = new ChainHasher(rootKeyFromBase64(readFileSync(join(s.dataDir, 'root.key'), 'utf8')));
    const chainHash = (prev: string, f: unknown[]) => hasher.hash(prev, f);
    /** The seq of the first event that does not verify, or null. */
    const firstBroken = (events: typeof rows): number | null => {
      let prev = '0'.repeat(64);
      for (const e of events) {
        if (e.prev_hash !== prev || chainHash(e.prev_hash, fields(e)) !== e.hash) return Number(e.seq);
        prev = e.hash;
      }
      return null;
    };

    let prev = '0'.repeat(64);
    for (const r of rows) {
      expect(r.prev_hash, `event ${r.seq}`).toBe(prev);
      prev = r.hash;
    }
    expect(firstBroken(rows)).toBeNull();
    if (store === 'postgres') {
      const head = await s.tessera.store.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
      expect(Number(head.seq)).toBe(rows.length);
      expect(head.hash).toBe(prev);
    }

    const k = 10;
    const edited = rows.map((r, i) => (i === k ? { ...r, reason: 'nothing to see' } : r));
    expect(firstBroken(edited)).toBe(k + 1);
    const deleted = rows.filter((_, i) => i !== k);
    expect(firstBroken(deleted)).toBe(k + 2);
    const forged = { ...rows[k]!, data: '{"v":1,"forged":true}' };
    forged.hash = chainHash(forged.prev_hash, fields(forged));
    const inserted = [...rows.slice(0, k), forged, ...rows.slice(k)];
    expect(firstBroken(inserted)).toBe(Number(rows[k]!.seq)); // the original successor no longer links
  });
});

describe('first start with startServer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-first-start-'));
  const dataDir = join(dir, 'data');
  const logs = captureLogs();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes admin.json 0600 in a 0700 data dir, and never logs the key', async () => {
    const config = loadConfig(
      { dataDir, port: 0, host: '127.0.0.1', logLevel: 'trace' },
      { TESSERA_ISSUER: 'http://tessera.test' },
    );
    const server = await startServer(config, { logger: { level: 'trace', stream: logs.stream } });
    let admin: { accessId: string; accessKey: string };
    try {
      const path = join(dataDir, 'admin.json');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, 'root.key')).mode & 0o777).toBe(0o600);
      admin = JSON.parse(readFileSync(path, 'utf8'));
      expect(admin.accessId).toMatch(/^p-/);
      expect(admin.accessKey).toMatch(/^tak-/);

      // The key works over real HTTP.
      const r = await fetch(`${server.url}/v1/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accessType: 'access_key', ...admin }),
      });
      expect(r.status).toBe(200);
      const session = ((await r.json()) as { token: string }).token;
      const listed = await fetch(`${server.url}/v1/identities`, {
        headers: { authorization: `Bearer ${session}` },
      });
      expect(listed.status).toBe(200);
    } finally {
      await server.close();
    }

    // A second start finds the administrator: admin.json is left alone, no key is printed.
    const before = readFileSync(join(dataDir, 'admin.json'), 'utf8');
    const again = await startServer(config, { logger: { level: 'trace', stream: logs.stream } });
    await again.close();
    expect(readFileSync(join(dataDir, 'admin.json'), 'utf8')).toBe(before);

    const text = logs.text();
    expect(text).toContain('first start');
    expect(text).toContain(admin!.accessId);
    expectAbsent(text, new Map([['admin access key', admin!.accessKey]]), 'the logs');
    const rootKey = readFileSync(join(dataDir, 'root.key'), 'utf8').trim();
    expectAbsent(text, new Map([['root key', rootKey]]), 'the logs');
  });
});
