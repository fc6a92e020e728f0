import { createHmac, hkdfSync } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTessera, type LedgerReport, loadConfig, verifyAuditLedgerOffline } from '@tessera/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootKeyFromBase64 } from '../../server/src/crypto/root-key.js';
import { SQLite } from '../../server/src/storage/sqlite-driver.js';
import { bin, run } from './server-process.js';

type Expected = { kind: string; seq: number };

/**
 * `tessera audit verify --data-dir` on a ledger large enough for the verification workers (the
 * built server checks slices of it on worker threads and hands the walk verified spans, ADR 0053),
 * against the same verification without workers (the server's sources, in this process: event by
 * event). Untouched, both say ok; tampered every way, both name the same event the same way. Most
 * of the ledger is written here the way every earlier version appended (Node's Hmac over
 * `prev_hash`, a newline and JSON.stringify of the chained fields, ADR 0006), the rest by the
 * server's own append: old ledgers keep verifying.
 */
describe('tessera audit verify with verification workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-verify-workers-'));
  const base = join(dir, 'base');
  const env = { ...process.env, NO_COLOR: '1' };
  /** The slices the workers check are 5,000 events: (0, 5000], (5000, 10000], … */
  const N = 32_000;
  /** The events in the ledger (the server's own few, then N − 2,000 written here, then 2,000 appended). */
  let total = 0;
  /** The seq of the checkpoint signed before the server's appends. */
  let middle = 0;
  let chainKey: Buffer;
  let copies = 0;

  const FIELDS = [
    'seq',
    'id',
    'at',
    'type',
    'outcome',
    'actor',
    'resource',
    'reason',
    'request_id',
    'source_ip',
    'data',
  ];
  const reference = (prevHash: string, fields: unknown[]) =>
    createHmac('sha256', chainKey).update(prevHash).update('\n').update(JSON.stringify(fields)).digest('hex');

  beforeAll(async () => {
    const config = loadConfig({ dataDir: base, logLevel: 'silent' }, {});
    let t = await createTessera(config, { logger: false });
    await t.close();
    const rootKey = rootKeyFromBase64(readFileSync(join(base, 'root.key'), 'utf8'));
    chainKey = Buffer.from(
      hkdfSync('sha256', rootKey.material, Buffer.alloc(0), 'tessera audit chain v1', 32),
    );

    // Events as earlier versions appended them, continuing the chain the server started.
    const db = new SQLite(join(base, 'tessera.db'));
    const head = db.prepare('select seq, hash from audit_events order by seq desc limit 1').get() as {
      seq: number;
      hash: string;
    };
    const insert = db.prepare(
      `insert into audit_events (${FIELDS.join(', ')}, prev_hash, hash) values (${FIELDS.map(() => '?').join(', ')}, ?, ?)`,
    );
    let prev = head.hash;
    db.transaction(() => {
      for (let seq = head.seq + 1; seq <= N - 2_000; seq++) {
        const fields = [
          seq,
          `ev-${seq}`,
          1_765_000_000_000 + seq,
          'auth.succeeded',
          'success',
          JSON.stringify({ identityId: 'i-verify', authMethodId: 'p-verify', uidNodeId: `n${seq % 97}` }),
          seq % 3 ? `/verify/${seq}` : null,
          null,
          `req-${seq}`,
          '127.0.0.1',
          JSON.stringify({ v: 1, userAgent: seq % 1_000 ? 'bench' : 'curl — Grüße, 東京 🚀\t"q"' }),
        ];
        const hash = reference(prev, fields);
        insert.run(...fields, prev, hash);
        prev = hash;
      }
    })();
    db.close();

    // The rest through the server's append, with a checkpoint in the middle and one of the head.
    t = await createTessera(config, { logger: false });
    middle = (await t.ledger.checkpoint(Date.now()))!.seq;
    const ctx = {
      requestId: 'req-verify',
      sourceIp: '127.0.0.1',
      userAgent: 'test',
      actor: { identityId: 'i-verify' },
    };
    for (let wave = 0; wave < 4; wave++) {
      await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          t.uow.write((r) =>
            r.audit.append(
              { type: 'auth.succeeded', outcome: 'success', data: { wave, i, note: 'ünïcödé' } },
              ctx,
              Date.now(),
            ),
          ),
        ),
      );
    }
    total = (await t.ledger.checkpoint(Date.now() + 1))!.seq;
    await t.close();
    expect(total).toBeGreaterThanOrEqual(N);
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A copy of the ledger, tampered with by `tamper` (SQL on the store). */
  function tampered(tamper: (db: InstanceType<typeof SQLite>) => void = () => {}): string {
    const copy = join(dir, `copy-${copies++}`);
    cpSync(base, copy, { recursive: true });
    const db = new SQLite(join(copy, 'tessera.db'));
    tamper(db);
    db.close();
    return copy;
  }

  /** The report of the built CLI (workers) and of the sources in this process (no workers). */
  async function verifyBoth(dataDir: string, archives?: string): Promise<LedgerReport> {
    const r = await run(
      process.execPath,
      [
        bin,
        'audit',
        'verify',
        '--data-dir',
        dataDir,
        '--json',
        ...(archives ? ['--archives', archives] : []),
      ],
      env,
    );
    const withWorkers = JSON.parse(r.stdout) as LedgerReport;
    expect(r.code, r.stderr).toBe(withWorkers.ok ? 0 : 1);
    const eventByEvent = await verifyAuditLedgerOffline(
      loadConfig({ dataDir, logLevel: 'silent' }, {}),
      undefined,
      archives ? { archives } : {},
    );
    expect(withWorkers).toEqual(eventByEvent);
    return eventByEvent;
  }

  const rechainFrom = (db: InstanceType<typeof SQLite>, from: number) => {
    let prev = (db.prepare('select hash from audit_events where seq = ?').get(from - 1) as { hash: string })
      .hash;
    const rows = db
      .prepare(`select ${FIELDS.join(', ')} from audit_events where seq >= ? order by seq`)
      .raw(true)
      .all(from) as unknown[][];
    const update = db.prepare('update audit_events set prev_hash = ?, hash = ? where seq = ?');
    for (const fields of rows) {
      const hash = reference(prev, fields);
      update.run(prev, hash, fields[0]);
      prev = hash;
    }
  };

  // The built verifier uses workers only with more than one core, its worker file next to it and a
  // ledger of at least 20,000 events (PARALLEL_FROM in audit.ledger.ts); otherwise the comparisons
  // below would compare the event-by-event path with itself. Hold the test to those conditions.
  it('runs where the built verifier uses its workers', () => {
    expect(availableParallelism()).toBeGreaterThan(1);
    const worker = fileURLToPath(new URL('../../server/dist/audit/audit-verify.worker.js', import.meta.url));
    expect(existsSync(worker)).toBe(true);
    expect(total).toBeGreaterThanOrEqual(20_000);
  });

  it('verifies an untouched ledger, written by this version and earlier ones, and both checkpoints', async () => {
    const report = await verifyBoth(tampered());
    expect(report).toMatchObject({ ok: true, checkedEvents: total, lastSeq: total });
    expect(report.checkpoints.total).toBeGreaterThanOrEqual(2);
    expect(report.checkpoints.matched).toBe(report.checkpoints.total);
  }, 60_000);

  it.each([
    [
      'an event edited inside a slice',
      (db) => db.prepare("update audit_events set reason = 'x' where seq = 17777").run(),
      { kind: 'edited', seq: 17_777 },
    ],
    [
      'the first event of a slice edited',
      (db) => db.prepare("update audit_events set outcome = 'failure' where seq = 10001").run(),
      { kind: 'edited', seq: 10_001 },
    ],
    [
      'the last event edited',
      (db) => db.prepare("update audit_events set data = '{}' where seq = ?").run(total),
      () => ({ kind: 'edited', seq: total }),
    ],
    [
      'an event deleted',
      (db) => db.prepare('delete from audit_events where seq = 20000').run(),
      { kind: 'missing-events', seq: 20_000 },
    ],
    [
      'a whole slice deleted',
      (db) => db.prepare('delete from audit_events where seq > 5000 and seq <= 10000').run(),
      { kind: 'missing-events', seq: 5_001 },
    ],
    [
      'a link broken',
      (db) => db.prepare('update audit_events set prev_hash = ? where seq = 22222').run('0'.repeat(64)),
      { kind: 'broken-link', seq: 22_222 },
    ],
    [
      'a stored hash lengthened',
      (db) => db.prepare("update audit_events set hash = hash || 'x' where seq = 18000").run(),
      { kind: 'edited', seq: 18_000 },
    ],
    [
      'binary where text was',
      (db) => db.prepare("update audit_events set reason = x'00ff' where seq = 15000").run(),
      { kind: 'edited', seq: 15_000 },
    ],
    [
      'the chain rewritten with the key, caught by the checkpoint',
      (db) => {
        db.prepare("update audit_events set reason = 'nothing happened' where seq = 12345").run();
        rechainFrom(db, 12_345);
      },
      () => ({ kind: 'checkpoint-mismatch', seq: middle }),
    ],
    [
      'the newest events deleted, caught by the checkpoint',
      (db) => db.prepare('delete from audit_events where seq > 31000').run(),
      { kind: 'truncated', seq: 31_001 },
    ],
  ] as Array<[string, (db: InstanceType<typeof SQLite>) => void, Expected | (() => Expected)]>)(
    'names the same event with and without workers: %s',
    async (_name, tamper, expected) => {
      const report = await verifyBoth(tampered(tamper));
      expect(report.ok).toBe(false);
      expect(report.problem).toMatchObject(typeof expected === 'function' ? expected() : expected);
    },
    60_000,
  );

  it('verifies from an archive anchor, and the whole history with the archives', async () => {
    const copy = tampered();
    const t = await createTessera(loadConfig({ dataDir: copy, logLevel: 'silent' }, {}), { logger: false });
    const archived = await t.ledger.archive(9_000, Date.now() + 2);
    await t.close();
    expect(await verifyBoth(copy)).toMatchObject({
      ok: true,
      checkedEvents: total - 9_000,
      anchor: { seq: 9_000 },
    });
    const archives = join(copy, 'audit', 'archive');
    expect(await verifyBoth(copy, archives)).toMatchObject({ ok: true, checkedEvents: total });
    const db = new SQLite(join(copy, 'tessera.db'));
    db.prepare("update audit_events set type = 'auth.failed' where seq = 25000").run();
    db.close();
    expect((await verifyBoth(copy, archives)).problem).toMatchObject({ kind: 'edited', seq: 25_000 });
    expect(archived.events).toBeGreaterThan(8_000);
  }, 120_000);
});
