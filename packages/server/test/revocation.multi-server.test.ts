import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminSession,
  type ServerPair,
  startServerPair,
  startTestServer,
  type TestServer,
  uidAuth,
  uidSetup,
} from './harness.js';

/**
 * DESIGN §2/§5 and ADR 0003: several stateless servers share one PostgreSQL store; a revocation or
 * a signing-key rotation made on one is honoured by every other within 1 s.
 */
describe('two servers on one PostgreSQL database', () => {
  let pair: ServerPair | undefined;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    pair = await startServerPair();
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  const tree = (s: TestServer, token: string) => s.call('GET', '/v1/uid/tree', { token });
  /**
   * A probe that depends on session-token verification alone (signature, expiry, revocation set):
   * a valid UID session is authenticated and then forbidden (403) on an admin route; a refused
   * one is 401. (The UID routes also look the node up in the shared store, which would hide a
   * revocation set that never learnt of the revocation.)
   */
  const verifyOn = (s: TestServer, token: string) => s.call('GET', '/v1/identities?limit=1', { token });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Polls `probe` until it answers `status`; returns the milliseconds it took (real time). */
  async function within(
    limitMs: number,
    probe: () => Promise<{ status: number; body: any }>,
    status: number,
  ) {
    const started = performance.now();
    let last: { status: number; body: any } = { status: 0, body: null };
    while (performance.now() - started < limitMs) {
      last = await probe();
      if (last.status === status) return { ms: performance.now() - started, answer: last };
      await sleep(10);
    }
    throw new Error(
      `not ${status} within ${limitMs} ms; last answer ${last.status} ${JSON.stringify(last.body)}`,
    );
  }

  /** A UID method and root token created on `on`, and a session token from it. */
  async function holder(on: TestServer) {
    on.adminToken = await adminSession(on);
    const setup = await uidSetup(on);
    const auth = await uidAuth(on, setup.root.token);
    expect(auth.status).toBe(200);
    return { ...setup, session: auth.body.token as string, identityId: auth.body.identityId as string };
  }

  it('share the administrator and the signing keys', async () => {
    expect(b.adminAccessId).toBe(a.adminAccessId);
    expect(b.tessera.keyring.activeKid()).toBe(a.tessera.keyring.activeKid());
    const fromA = await adminSession(a);
    expect((await b.call('GET', '/v1/identities?limit=1', { token: fromA })).status).toBe(200);
  });

  it('accept on B a UID session token minted on A, and the other way round', async () => {
    const onA = await holder(a);
    const r = await tree(b, onA.session);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.roots[0].id).toBe(onA.root.tokenId);
    const onB = await holder(b);
    expect((await tree(a, onB.session)).status).toBe(200);
  });

  it('revokeAll on A: B refuses the derived session token within 1 s', async () => {
    const onA = await holder(a);
    const child = await a.call('POST', '/v1/uid/children', {
      token: onA.root.token,
      body: { ttlSeconds: 600 },
    });
    const childSession = (await uidAuth(a, child.body.token)).body.token;
    // B has verified (and cached) both tokens before the revocation.
    expect((await verifyOn(b, onA.session)).status).toBe(403);
    expect((await verifyOn(b, childSession)).status).toBe(403);
    expect((await tree(b, childSession)).status).toBe(200);

    const revoked = await a.call('POST', '/v1/uid/revoke', {
      token: await adminSession(a),
      body: { authMethodId: onA.method.id, tokenId: onA.root.tokenId, type: 'all' },
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedCount).toBe(2);

    const root = await within(1000, () => verifyOn(b, onA.session), 401);
    expect(root.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
    const kid = await within(1000, () => verifyOn(b, childSession), 401);
    expect(kid.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
    expect((await tree(b, childSession)).status).toBe(401);
    // The UID tokens themselves are dead on B at once: their state is in the shared store.
    expect((await uidAuth(b, onA.root.token)).status).toBe(401);
    expect((await uidAuth(b, child.body.token)).status).toBe(401);
  });

  it('a revocation on B reaches A too', async () => {
    const onA = await holder(a);
    expect((await verifyOn(a, onA.session)).status).toBe(403);
    const r = await b.call('POST', '/v1/uid/revoke', { token: onA.root.token, body: { type: 'self' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const answer = await within(1000, () => verifyOn(a, onA.session), 401);
    expect(answer.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
  });

  it('suspending an identity on A refuses its session tokens on B within 1 s', async () => {
    const onA = await holder(a);
    expect((await verifyOn(b, onA.session)).status).toBe(403);
    const s = await a.call('PATCH', `/v1/identities/${onA.identityId}`, {
      token: await adminSession(a),
      body: { state: 'suspended' },
    });
    expect(s.status).toBe(200);
    const answer = await within(1000, () => verifyOn(b, onA.session), 401);
    expect(answer.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
    expect((await uidAuth(b, onA.root.token)).status).toBe(401);
  });

  it('a server that polls only once a minute still learns of a revocation within 1 s (LISTEN/NOTIFY)', async () => {
    const c = await startTestServer(
      'postgres',
      { TESSERA_ROOT_KEY: a.config.rootKeyBase64!, TESSERA_REVOCATION_POLL_MS: '60000' },
      { storeUrl: pair!.storeUrl, adminAccessKey: a.adminAccessKey },
    );
    try {
      const onA = await holder(a);
      expect((await verifyOn(c, onA.session)).status).toBe(403);
      await sleep(100); // let C's listener connect
      const r = await a.call('POST', '/v1/uid/revoke', { token: onA.root.token, body: { type: 'all' } });
      expect(r.status).toBe(200);
      const answer = await within(1000, () => verifyOn(c, onA.session), 401);
      expect(answer.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
    } finally {
      await c.close();
    }
  });

  it('deleting an auth method on A refuses its session tokens on B within 1 s', async () => {
    const onA = await holder(a);
    expect((await verifyOn(b, onA.session)).status).toBe(403);
    const del = await a.call('DELETE', `/v1/auth-methods/${onA.method.id}`, { token: await adminSession(a) });
    expect(del.status).toBe(204);
    const answer = await within(1000, () => verifyOn(b, onA.session), 401);
    expect(answer.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
  });

  it('concurrent revocations on two servers commit in sequence order, and both reach every server', async () => {
    // The sequence number is taken at insert but seen at commit, so a poller reading "after the
    // highest seq I have seen" could skip a revocation that commits late. Tessera's writers take the
    // ledger-head lock first in every write transaction, so a second writer waits: commit order is
    // seq order. "Server 1" here is a raw connection following that protocol mid-transaction.
    const x = await holder(a);
    const y = await holder(a);
    expect((await verifyOn(b, x.session)).status).toBe(403);
    expect((await verifyOn(b, y.session)).status).toBe(403);

    const other = new pg.Client({ connectionString: pair!.storeUrl });
    await other.connect();
    try {
      const now = a.clock.ms;
      const adminToken = await adminSession(b); // before the lock: signing in writes an audit event
      await other.query('begin');
      await other.query('select seq from audit_head where id = 1 for update');
      const early = await other.query(
        'insert into revocations (kind, subject, revoked_at, expires_at, reason) values ($1, $2, $3, $4, $5) returning seq',
        ['identity', x.identityId, now, now + 86_400_000, 'suspended on another server'],
      );
      let settled = false;
      const suspension = b
        .call('PATCH', `/v1/identities/${y.identityId}`, { token: adminToken, body: { state: 'suspended' } })
        .finally(() => {
          settled = true;
        });
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false); // B waits for the first writer instead of overtaking it
      await other.query("select pg_notify('tessera_revocations', $1)", [String(early.rows[0].seq)]);
      await other.query('commit');
      expect((await suspension).status).toBe(200);
      const late = await b.tessera.store.db
        .selectFrom('revocations')
        .select('seq')
        .where('subject', '=', y.identityId)
        .executeTakeFirstOrThrow();
      expect(Number(late.seq)).toBeGreaterThan(Number(early.rows[0].seq));

      for (const server of [a, b]) {
        for (const session of [x.session, y.session]) {
          const seen = await within(1000, () => verifyOn(server, session), 401);
          expect(seen.answer.body.error.code).toBe('TESSERA_TOKEN_REVOKED');
        }
      }
    } finally {
      await other.end();
    }
  });

  it('signing-key rotation on A: B verifies A’s new tokens at once (an unknown kid reloads the keyring)', async () => {
    const onA = await holder(a);
    const oldKid = a.tessera.keyring.activeKid();
    const maxTtlMs = a.config.maxSessionTtlSeconds * 1000;
    const newKid = await a.tessera.keyring.rotate(a.clock.ms, maxTtlMs);
    expect(newKid).not.toBe(oldKid);
    expect(b.tessera.keyring.hasKid(newKid)).toBe(false);

    const fresh = (await uidAuth(a, onA.root.token)).body.token as string;
    const header = JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString());
    expect(header.kid).toBe(newKid);
    const r = await tree(b, fresh);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Tokens signed with the old key still verify on B, and B now signs with the new key too.
    expect((await tree(b, onA.session)).status).toBe(200);
    const kids = (await b.call('GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    const fromB = (await uidAuth(b, onA.root.token)).body.token as string;
    expect(JSON.parse(Buffer.from(fromB.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    expect((await tree(a, fromB)).status).toBe(200);

    // A second rotation a little later propagates the same way.
    a.clock.advance(5);
    b.clock.advance(5);
    const newerKid = await a.tessera.keyring.rotate(a.clock.ms, maxTtlMs);
    const newer = (await uidAuth(a, onA.root.token)).body.token as string;
    expect(JSON.parse(Buffer.from(newer.split('.')[0]!, 'base64url').toString()).kid).toBe(newerKid);
    expect((await tree(b, newer)).status).toBe(200);
  });

  it('refuses on B a token signed with a key that is in no keyring, without reloading in a loop', async () => {
    const onA = await holder(a);
    const [, payload] = onA.session.split('.');
    const forged = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k-nobody' })).toString('base64url')}.${payload}.${'A'.repeat(86)}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => tree(b, forged)));
    for (const r of answers) {
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('TESSERA_TOKEN_INVALID');
    }
  });
});
