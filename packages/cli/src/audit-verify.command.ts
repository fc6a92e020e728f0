/**
 * `tessera audit verify`: checks the audit chain and its signed checkpoints, either on a running
 * server (its API) or offline on a data directory (`--data-dir`), showing progress on large ledgers.
 */

import type { CommandSpec } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';

interface Report {
  ok: boolean;
  checkedEvents: number;
  lastSeq: number;
  checkpoints: { total: number; matched: number; latestSeq: number | null };
  anchor?: { seq: number; hash: string } | null;
  problem: { kind: string; seq: number; message: string } | null;
}

function readable(report: Report): string {
  const cps = `${report.checkpoints.matched}/${report.checkpoints.total} checkpoints matched`;
  const anchored = report.anchor ? `, from the archive anchor at seq ${report.anchor.seq}` : '';
  if (report.ok) {
    return `Audit ledger verified: ${report.checkedEvents.toLocaleString('en')} events (up to seq ${report.lastSeq}${anchored}), ${cps}.\n`;
  }
  const p = report.problem!;
  return (
    `AUDIT LEDGER TAMPERED: ${p.kind} at event ${p.seq}.\n${p.message}\n` +
    `Checked ${report.checkedEvents.toLocaleString('en')} events before it; ${cps}.\n`
  );
}

const verify: CommandSpec = {
  path: ['audit', 'verify'],
  summary: 'Verify the tamper-evident audit ledger (chain and signed checkpoints)',
  details:
    'Checks every event (its keyed hash, its link to the previous one, no gap in the sequence) and every ' +
    'signed checkpoint of the chain head, which reveals deleted newest events. Names the first bad event and ' +
    'exits 1 when the ledger was tampered with. With --data-dir it works offline on a data directory (the ' +
    'server may be running) and shows progress; otherwise it asks the server.',
  options: {
    'data-dir': { type: 'string', placeholder: 'DIR', description: 'verify this data directory offline' },
    store: {
      type: 'string',
      placeholder: 'URL',
      description: 'with --data-dir: the store, if not the SQLite file in it',
    },
    archives: {
      type: 'string',
      placeholder: 'DIR',
      description:
        'with --data-dir: also read the archive files in DIR (e.g. DATA_DIR/audit/archive) and verify the whole history from the first event',
    },
  },
  examples: [
    'tessera audit verify',
    'tessera audit verify --data-dir /var/lib/tessera',
    'tessera audit verify --json',
    'tessera audit verify --data-dir /var/lib/tessera --archives /var/lib/tessera/audit/archive',
  ],
  async run(ctx, args) {
    const dataDir = args.str('data-dir');
    const storeUrl = args.str('store');
    const archives = args.str('archives');
    if (storeUrl && !dataDir) throw new UsageError('--store needs --data-dir (offline verification)');
    if (archives && !dataDir) throw new UsageError('--archives needs --data-dir (offline verification)');
    let report: Report;
    if (dataDir) {
      const { loadConfig, verifyAuditLedgerOffline } = await import('@tessera/server');
      const config = loadConfig({ dataDir, ...(storeUrl ? { storeUrl } : {}), logLevel: 'silent' });
      const started = ctx.now();
      report = await verifyAuditLedgerOffline(
        config,
        (checked, lastSeq) => {
          if (!ctx.json) {
            const seconds = Math.max((ctx.now() - started) / 1000, 0.001);
            ctx.note(
              `  verified ${checked.toLocaleString('en')} events (seq ${lastSeq}), ${Math.round(checked / seconds).toLocaleString('en')}/s`,
            );
          }
        },
        archives ? { archives } : {},
      );
    } else {
      report = await ctx.withAdmin((t) => ctx.client.verifyAuditLedger(t));
    }
    ctx.emit(report, () => readable(report));
    if (!report.ok)
      throw new CliError(
        'TESSERA_AUDIT_TAMPERED',
        `the audit ledger fails verification at event ${report.problem!.seq}`,
      );
  },
};

const archive: CommandSpec = {
  path: ['audit', 'archive'],
  summary: 'Archive and prune the oldest audit events, keeping the chain verifiable',
  details:
    'Exports the stored events from the oldest through --through-seq to an archive file on the server ' +
    '(DATA_DIR/audit/archive/events-FROM-TO.jsonl, JSON lines with their hashes, mode 0600), records a signed ' +
    'anchor of that event and prunes the exported events. `tessera audit verify` then starts at the anchor; ' +
    'with --data-dir and --archives it verifies the whole history. Keep the archive files: they are the ' +
    'only copy of the pruned events.',
  options: {
    'through-seq': {
      type: 'number',
      placeholder: 'N',
      description: 'archive every stored event up to and including N',
    },
  },
  examples: ['tessera audit archive --through-seq 1000000'],
  async run(ctx, args) {
    const throughSeq = args.positiveInt('through-seq');
    if (throughSeq === undefined) throw new UsageError('--through-seq is required');
    const result = await ctx.withAdmin((t) => ctx.client.archiveAuditLedger(t, throughSeq));
    ctx.emit(
      result,
      () =>
        `Archived ${result.events.toLocaleString('en')} events (seq ${result.fromSeq}–${result.throughSeq}) to ${result.file}; ` +
        `the ledger now starts after the signed anchor at seq ${result.anchor.seq}.\n`,
    );
  },
};

/** `audit verify`, `audit archive`. */
export const auditVerifyCommands: readonly CommandSpec[] = [verify, archive];
