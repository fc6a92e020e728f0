import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAIN_FIELDS, ChainHasher } from '../src/crypto/audit-ledger.js';
import { sha256Hex } from '../src/crypto/credentials.js';
import { rootKeyFromBase64 } from '../src/crypto/root-key.js';
import { STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

/** Tampering with the ledger, every way the issue names: each is found, and the place is named. */
describe.each(STORES)('audit ledger on %s', (store) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  /** A server with a few dozen events and a checkpoint of its head. */
  async function ledgerWithEvents(): Promise<TestServer> {
    const server = await startTestServer(store);
    const { root } = await uidSetup(server);
    for (let i = 0; i < 10; i++) await uidAuth(server, root.token);
    await uidAuth(server, 'u-not-a-token');
    await server.tessera.ledger.checkpoint(server.clock.ms);
    return server;
  }

  const verify = (server: TestServer) =>
    server.call('POST', '/v1/audit/verify', { token: server.adminToken });
  const db = (server: TestServer) => server.tessera.store.db;
  const lastSeq = async (server: TestServer) =>
    Number(
      (
        await db(server)
          .selectFrom('audit_events')
          .select('seq')
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirstOrThrow()
      ).seq,
    );

  it('verifies an untouched ledger, and its checkpoints', async () => {
    s = await ledgerWithEvents();
    const r = await verify(s);
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    expect(r.body.problem).toBeNull();
    expect(r.body.checkedEvents).toBeGreaterThan(12);
    expect(r.body.checkpoints.matched).toBe(1);
    const key = await s.call('GET', '/v1/audit/checkpoint-key', { token: s.adminToken });
    expect(key.body).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
  });

  it('names an event edited in place', async () => {
    s = await ledgerWithEvents();
    await db(s)
      .updateTable('audit_events')
      .set({ reason: 'tampered', outcome: 'failure' })
      .where('seq', '=', 5)
      .execute();
    const r = await verify(s);
    expect(r.body.ok).toBe(false);
    expect(r.body.problem).toMatchObject({ kind: 'edited', seq: 5 });
  });

  it('names an event inserted in the middle (later events renumbered)', async () => {
    s = await ledgerWithEvents();
    const last = await lastSeq(s);
    for (let seq = last; seq >= 7; seq--) {
      await db(s)
        .updateTable('audit_events')
        .set({ seq: seq + 1 })
        .where('seq', '=', seq)
        .execute();
    }
    const six = await db(s)
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '=', 6)
      .executeTakeFirstOrThrow();
    const forged = { ...six, seq: 7, id: 'ev-7', type: 'auth.succeeded', prev_hash: six.hash };
    await db(s)
      .insertInto('audit_events')
      .values({
        ...forged,
        hash: sha256Hex(
          `${six.hash}\n${JSON.stringify(CHAIN_FIELDS.map((f) => (forged as Record<string, unknown>)[f]))}`,
        ),
      })
      .execute();
    const r = await verify(s);
    expect(r.body.problem).toMatchObject({ kind: 'edited', seq: 7 });
  });

  it('refuses an event appended by someone without the root key', async () => {
    s = await ledgerWithEvents();
    const last = await db(s)
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirstOrThrow();
    const seq = Number(last.seq) + 1;
    const forged = { ...last, seq, id: `ev-${seq}`, prev_hash: last.hash };
    const unkeyed = sha256Hex(
      `${last.hash}\n${JSON.stringify(CHAIN_FIELDS.map((f) => (forged as Record<string, unknown>)[f]))}`,
    );
    await db(s)
      .insertInto('audit_events')
      .values({ ...forged, hash: unkeyed })
      .execute();
    const r = await verify(s);
    expect(r.body.problem).toMatchObject({ kind: 'edited', seq });
  });

  it('names the place of an event deleted in the middle', async () => {
    s = await ledgerWithEvents();
    await db(s).deleteFrom('audit_events').where('seq', '=', 8).execute();
    const r = await verify(s);
    expect(r.body.problem).toMatchObject({ kind: 'missing-events', seq: 8 });
    expect(r.body.checkedEvents).toBe(7);
  });

  it('detects the deletion of the newest events through the signed checkpoint', async () => {
    s = await ledgerWithEvents();
    const last = await lastSeq(s);
    await db(s)
      .deleteFrom('audit_events')
      .where('seq', '>', last - 3)
      .execute();
    const r = await verify(s);
    expect(r.body.problem).toMatchObject({ kind: 'truncated', seq: last - 2 });
    expect(r.body.problem.message).toContain(`up to ${last}`);
  });

  it('detects a chain rewritten with the right key, by the checkpoint', async () => {
    s = await ledgerWithEvents();
    const key = rootKeyFromBase64(readFileSync(join(s.dataDir, 'root.key'), 'utf8'));
    const hasher = new ChainHasher(key);
    await db(s)
      .updateTable('audit_events')
      .set({ reason: 'nothing happened' })
      .where('seq', '=', 3)
      .execute();
    const rows = await db(s)
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', 3)
      .orderBy('seq')
      .execute();
    let prev = (
      await db(s).selectFrom('audit_events').select('hash').where('seq', '=', 2).executeTakeFirstOrThrow()
    ).hash;
    for (const row of rows) {
      const hash = hasher.hash(
        prev,
        CHAIN_FIELDS.map((f) =>
          f === 'seq' || f === 'at' ? Number(row[f]) : (row as Record<string, unknown>)[f],
        ),
      );
      await db(s)
        .updateTable('audit_events')
        .set({ prev_hash: prev, hash })
        .where('seq', '=', row.seq)
        .execute();
      prev = hash;
    }
    const r = await verify(s);
    expect(r.body.problem).toMatchObject({ kind: 'checkpoint-mismatch' });
  });

  it('refuses a forged checkpoint', async () => {
    s = await ledgerWithEvents();
    const file = join(s.dataDir, 'audit', 'checkpoints.jsonl');
    const [line] = readFileSync(file, 'utf8').trim().split('\n');
    const real = JSON.parse(line!);
    appendFileSync(file, `${JSON.stringify({ ...real, seq: real.seq + 100 })}\n`);
    const r = await verify(s);
    expect(r.body.problem).toMatchObject({ kind: 'forged-checkpoint', seq: real.seq + 100 });
  });

  it('keeps verifying as the ledger grows past checkpoints, and a UID session cannot verify', async () => {
    s = await ledgerWithEvents();
    const { root } = await uidSetup(s);
    const session = (await uidAuth(s, root.token)).body.token;
    await s.tessera.ledger.checkpoint(s.clock.ms + 1000);
    expect((await verify(s)).body).toMatchObject({ ok: true, checkpoints: { matched: 2 } });
    const denied = await s.call('POST', '/v1/audit/verify', { token: session });
    expect(denied.status).toBe(403);
  });
});
