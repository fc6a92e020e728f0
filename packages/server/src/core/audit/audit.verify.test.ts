import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointClaim,
  GENESIS_HASH,
  type LedgerRow,
  type LedgerSource,
  type VerifiedSpan,
  verifyLedger,
  watchedSeqs,
} from './audit.verify.js';

/**
 * A source may hand the walk verified spans (slices checked among themselves on other threads)
 * instead of rows (ADR 0053). Whatever was tampered with, the walk must report the same thing
 * either way: same kind, same event, same counts.
 */

const hashOf = (prevHash: string, row: LedgerRow) =>
  createHash('sha256')
    .update(`${prevHash}\n${JSON.stringify([row.seq, row.body])}`)
    .digest('hex');

function ledger(n: number): LedgerRow[] {
  const rows: LedgerRow[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const row: LedgerRow = { seq, prev_hash: prev, hash: '', body: `event ${seq}` };
    row.hash = hashOf(prev, row);
    rows.push(row);
    prev = row.hash;
  }
  return rows;
}

const claim = (seq: number, hash: string, signatureValid = true): CheckpointClaim => ({
  seq,
  hash,
  atMs: 1_733_616_000_000,
  signatureValid,
});

type Claims = Pick<LedgerSource, 'checkpoints' | 'anchors' | 'from'>;

/** The stored rows, event by event, as the sequential reader gives them. */
function rowSource(rows: LedgerRow[], claims: Claims): LedgerSource {
  return {
    ...claims,
    hashOf,
    readBatch: async (afterSeq, limit) => rows.filter((r) => r.seq > afterSeq).slice(0, limit),
  };
}

/**
 * What the verification workers do: slices by seq range, each checked among itself (seqs
 * consecutive, links, hashes) into a span with the watched hashes; a slice that is empty or does
 * not hold is read as rows.
 */
function spanSource(rows: LedgerRow[], claims: Claims): LedgerSource & { spans: number } {
  const watched = watchedSeqs(claims as LedgerSource);
  const source = {
    ...rowSource(rows, claims),
    spans: 0,
    readBatch: async (afterSeq: number, limit: number): Promise<LedgerRow[] | VerifiedSpan> => {
      const slice = rows.filter((r) => r.seq > afterSeq && r.seq <= afterSeq + limit);
      const holds =
        slice.length > 0 &&
        slice.every(
          (r, i) =>
            r.seq === slice[0]!.seq + i &&
            (i === 0 || r.prev_hash === slice[i - 1]!.hash) &&
            hashOf(r.prev_hash, r) === r.hash,
        );
      if (!holds) return rows.filter((r) => r.seq > afterSeq).slice(0, limit);
      source.spans++;
      const first = slice[0]!;
      const last = slice[slice.length - 1]!;
      return {
        kind: 'span',
        firstSeq: first.seq,
        lastSeq: last.seq,
        firstPrevHash: first.prev_hash,
        lastHash: last.hash,
        watched: new Map(
          slice.filter((r) => watched.includes(r.seq)).map((r) => [r.seq, r.hash] as [number, string]),
        ),
      };
    },
  };
  return source;
}

/** 12,345 events: two full slices of 5,000 and a partial one. */
const N = 12_345;

interface Case {
  name: string;
  tamper: (rows: LedgerRow[]) => LedgerRow[];
  claims?: (rows: LedgerRow[]) => Claims;
  expected: { kind: string; seq: number } | null;
}

const at = (rows: LedgerRow[], seq: number) => rows.find((r) => r.seq === seq)!;
const edit = (seq: number) => (rows: LedgerRow[]) =>
  rows.map((r) => (r.seq === seq ? { ...r, body: 'nothing happened' } : r));
const remove =
  (from: number, to = from) =>
  (rows: LedgerRow[]) =>
    rows.filter((r) => r.seq < from || r.seq > to);
const untouched = (rows: LedgerRow[]) => rows;
/** Checkpoints of the untouched ledger at these events. */
const checkpointsAt =
  (...seqs: number[]) =>
  (rows: LedgerRow[]): Claims => ({ checkpoints: seqs.map((s) => claim(s, at(rows, s).hash)) });

const cases: Case[] = [
  { name: 'an untouched ledger', tamper: untouched, expected: null },
  {
    name: 'an untouched ledger with checkpoints inside slices and at their ends',
    tamper: untouched,
    claims: checkpointsAt(1, 4_999, 5_000, 5_001, 7_777, N),
    expected: null,
  },
  { name: 'an event edited inside a slice', tamper: edit(6_200), expected: { kind: 'edited', seq: 6_200 } },
  {
    name: 'the first event of a slice edited',
    tamper: edit(5_001),
    expected: { kind: 'edited', seq: 5_001 },
  },
  {
    name: 'the last event of a slice edited',
    tamper: edit(10_000),
    expected: { kind: 'edited', seq: 10_000 },
  },
  { name: 'the first event edited', tamper: edit(1), expected: { kind: 'edited', seq: 1 } },
  {
    name: 'an event deleted inside a slice',
    tamper: remove(7_000),
    expected: { kind: 'missing-events', seq: 7_000 },
  },
  {
    name: 'the first event of a slice deleted',
    tamper: remove(5_001),
    expected: { kind: 'missing-events', seq: 5_001 },
  },
  {
    name: 'the last event of a slice deleted',
    tamper: remove(5_000),
    expected: { kind: 'missing-events', seq: 5_000 },
  },
  {
    name: 'a whole slice deleted',
    tamper: remove(5_001, 10_000),
    expected: { kind: 'missing-events', seq: 5_001 },
  },
  { name: 'the first event deleted', tamper: remove(1), expected: { kind: 'missing-events', seq: 1 } },
  {
    name: 'a link broken at the start of a slice (rest of the slice rechained)',
    tamper: (rows) => {
      // Events from 5,001 rewritten by someone with the key, but 5,001 no longer links to 5,000.
      const out = rows.map((r) => ({ ...r }));
      let prev = 'f'.repeat(64);
      for (const r of out.filter((r) => r.seq >= 5_001)) {
        r.prev_hash = prev;
        r.hash = hashOf(prev, r);
        prev = r.hash;
      }
      return out;
    },
    expected: { kind: 'broken-link', seq: 5_001 },
  },
  {
    name: 'a chain rewritten with the key from inside a slice, caught by a checkpoint',
    tamper: (rows) => {
      const out = rows.map((r) => ({ ...r }));
      let prev = at(out, 6_999).hash;
      for (const r of out.filter((r) => r.seq >= 7_000)) {
        if (r.seq === 7_000) r.body = 'nothing happened';
        r.prev_hash = prev;
        r.hash = hashOf(prev, r);
        prev = r.hash;
      }
      return out;
    },
    claims: checkpointsAt(3_000, 8_000, N),
    expected: { kind: 'checkpoint-mismatch', seq: 8_000 },
  },
  {
    name: 'the newest events deleted, caught by a checkpoint',
    tamper: remove(12_000, N),
    claims: checkpointsAt(2_000, N),
    expected: { kind: 'truncated', seq: 12_000 },
  },
  {
    name: 'an anchor that does not match its event',
    tamper: untouched,
    claims: (rows) => ({
      checkpoints: [],
      anchors: [claim(6_000, at(rows, 6_001).hash)],
      from: 'genesis',
    }),
    expected: { kind: 'anchor-mismatch', seq: 6_000 },
  },
  {
    name: 'an anchor and a checkpoint at the same event, the anchor wrong',
    tamper: untouched,
    claims: (rows) => ({
      checkpoints: [claim(6_000, at(rows, 6_000).hash), claim(9_000, at(rows, 9_000).hash)],
      anchors: [claim(6_000, 'e'.repeat(64))],
      from: 'genesis',
    }),
    expected: { kind: 'anchor-mismatch', seq: 6_000 },
  },
];

describe('verifyLedger with verified spans', () => {
  it.each(cases)('reports the same as event by event: $name', async ({ tamper, claims, expected }) => {
    const rows = tamper(ledger(N));
    const c = claims ? claims(ledger(N)) : { checkpoints: [] };
    const progressRows: number[] = [];
    const progressSpans: number[] = [];
    const byRows = await verifyLedger(rowSource(rows, c), (n) => progressRows.push(n));
    const spans = spanSource(rows, c);
    const bySpans = await verifyLedger(spans, (n) => progressSpans.push(n));
    expect(bySpans).toEqual(byRows);
    if (expected) expect(byRows.problem).toMatchObject(expected);
    else {
      expect(byRows).toMatchObject({ ok: true, checkedEvents: N, lastSeq: N });
      expect(progressSpans).toEqual(progressRows);
    }
    // Spans were used for every slice before the problem (the cases are not decided by rows alone).
    if (!expected || expected.seq > 5_000) expect(spans.spans).toBeGreaterThan(0);
  });

  it('refuses a span that lacks the hash of a watched event rather than skip the check', async () => {
    const rows = ledger(N);
    const source: LedgerSource = {
      ...rowSource(rows, { checkpoints: [claim(100, at(rows, 100).hash)] }),
      readBatch: async () => ({
        kind: 'span',
        firstSeq: 1,
        lastSeq: 5_000,
        firstPrevHash: GENESIS_HASH,
        lastHash: at(rows, 5_000).hash,
        watched: new Map(),
      }),
    };
    await expect(verifyLedger(source)).rejects.toThrow(/lacks the hash of event 100/);
  });
});
