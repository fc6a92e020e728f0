import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer, uidAuth, uidSetup } from './harness.js';

/**
 * Retention with archival export: the oldest events go to an archive file and leave the store; the
 * stored chain resumes from a signed anchor, and the archives plus the store verify as one history.
 */
describe.each(STORES)('audit archive on %s', (store) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function ledgerWithEvents(): Promise<TestServer> {
    const server = await startTestServer(store);
    const { root } = await uidSetup(server);
    for (let i = 0; i < 10; i++) await uidAuth(server, root.token);
    await server.tessera.ledger.checkpoint(server.clock.ms);
    return server;
  }
  const archiveDir = (server: TestServer) => join(server.dataDir, 'audit', 'archive');
  const archive = (server: TestServer, throughSeq: number) =>
    server.call('POST', '/v1/audit/archive', { token: server.adminToken, body: { throughSeq } });
  const verify = (server: TestServer) =>
    server.call('POST', '/v1/audit/verify', { token: server.adminToken });
  const stored = async (server: TestServer) =>
    (await server.tessera.store.db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map(
      (r) => Number(r.seq),
    );

  it('archives, prunes, and both the store alone and archives + store verify', async () => {
    s = await ledgerWithEvents();
    const first = await archive(s, 5);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ fromSeq: 1, throughSeq: 5, events: 5 });
    expect(first.body.file).toBe(join(archiveDir(s), 'events-1-5.jsonl'));
    expect(statSync(first.body.file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(first.body.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[0]).toHaveProperty('prev_hash', '0'.repeat(64));
    expect(lines[4].hash).toBe(first.body.anchor.hash);
    expect((await stored(s))[0]).toBe(6);

    // New events chain onto the stored head; a second archive continues from the first anchor.
    await uidAuth(s, 'u-not-a-token');
    const second = await archive(s, 8);
    expect(second.body).toMatchObject({ fromSeq: 6, throughSeq: 8, events: 3 });
    expect((await archive(s, 7)).status).toBe(409);

    const r = await verify(s);
    expect(r.body).toMatchObject({ ok: true, anchor: { seq: 8 }, problem: null });
    expect(r.body.checkedEvents).toBe((await stored(s)).length);

    const whole = await s.tessera.ledger.verify(undefined, { archives: archiveDir(s) });
    expect(whole).toMatchObject({ ok: true, problem: null, lastSeq: r.body.lastSeq });
    expect(whole.checkedEvents).toBe(r.body.lastSeq);
  });

  it('names an event edited in an archive file', async () => {
    s = await ledgerWithEvents();
    const { body } = await archive(s, 6);
    const lines = readFileSync(body.file, 'utf8').trim().split('\n');
    const three = JSON.parse(lines[2]!);
    three.outcome = 'failure';
    lines[2] = JSON.stringify(three);
    writeFileSync(body.file, `${lines.join('\n')}\n`);
    expect((await verify(s)).body.ok).toBe(true); // the store alone starts at the anchor
    const whole = await s.tessera.ledger.verify(undefined, { archives: archiveDir(s) });
    expect(whole.ok).toBe(false);
    expect(whole.problem).toMatchObject({ kind: 'edited', seq: 3 });
    expect(whole.problem!.message).toContain('events-1-6.jsonl');
  });

  it('names events missing from an archive file, and a missing archive', async () => {
    s = await ledgerWithEvents();
    const { body } = await archive(s, 6);
    const lines = readFileSync(body.file, 'utf8').trim().split('\n');
    writeFileSync(body.file, `${lines.slice(0, 4).join('\n')}\n`);
    const cut = await s.tessera.ledger.verify(undefined, { archives: archiveDir(s) });
    expect(cut.problem).toMatchObject({ kind: 'missing-events', seq: 5 });
    const none = await s.tessera.ledger.verify(undefined, { archives: [] });
    expect(none.problem).toMatchObject({ kind: 'missing-events', seq: 1 });
  });

  it('names an altered anchor, and a removed one', async () => {
    s = await ledgerWithEvents();
    await archive(s, 6);
    const db = s.tessera.store.db;
    await db
      .updateTable('audit_anchors')
      .set({ hash: 'f'.repeat(64) })
      .where('seq', '=', 6)
      .execute();
    const forged = await verify(s);
    expect(forged.body.ok).toBe(false);
    expect(forged.body.problem).toMatchObject({ kind: 'forged-anchor', seq: 6 });

    await db.deleteFrom('audit_anchors').execute();
    const removed = await verify(s);
    expect(removed.body.problem).toMatchObject({ kind: 'missing-events', seq: 1 });
  });

  it('refuses to archive a broken chain, and needs delete permission on the ledger', async () => {
    s = await ledgerWithEvents();
    await s.tessera.store.db.updateTable('audit_events').set({ reason: 'x' }).where('seq', '=', 3).execute();
    expect((await archive(s, 5)).status).toBe(409);
    expect(await stored(s)).toContain(1);
    expect((await archive(s, 10_000)).status).toBe(400);
    const anonymous = await s.call('POST', '/v1/audit/archive', { body: { throughSeq: 1 } });
    expect(anonymous.status).toBe(401);
  });

  it('resumes the chain from the anchor when every stored event was archived', async () => {
    s = await ledgerWithEvents();
    const last = (await stored(s)).at(-1)!;
    expect((await archive(s, last)).status).toBe(200);
    expect(await stored(s)).toEqual([]);
    await uidAuth(s, 'u-not-a-token');
    expect(await stored(s)).toEqual([last + 1]);
    const whole = await s.tessera.ledger.verify(undefined, { archives: archiveDir(s) });
    expect(whole).toMatchObject({ ok: true, lastSeq: last + 1 });
  });
});
