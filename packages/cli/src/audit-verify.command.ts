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
  problem: { kind: string; seq: number; message: string } | null;
}

function readable(report: Report): string {
  const cps = `${report.checkpoints.matched}/${report.checkpoints.total} checkpoints matched`;
  if (report.ok) {
    return `Audit ledger verified: ${report.checkedEvents.toLocaleString('en')} events (up to seq ${report.lastSeq}), ${cps}.\n`;
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
  },
  examples: [
    'tessera audit verify',
    'tessera audit verify --data-dir /var/lib/tessera',
    'tessera audit verify --json',
  ],
  async run(ctx, args) {
    const dataDir = args.str('data-dir');
    const storeUrl = args.str('store');
    if (storeUrl && !dataDir) throw new UsageError('--store needs --data-dir (offline verification)');
    let report: Report;
    if (dataDir) {
      const { loadConfig, verifyAuditLedgerOffline } = await import('@tessera/server');
      const config = loadConfig({ dataDir, ...(storeUrl ? { storeUrl } : {}), logLevel: 'silent' });
      const started = ctx.now();
      report = await verifyAuditLedgerOffline(config, (checked, lastSeq) => {
        if (!ctx.json) {
          const seconds = Math.max((ctx.now() - started) / 1000, 0.001);
          ctx.note(
            `  verified ${checked.toLocaleString('en')} events (seq ${lastSeq}), ${Math.round(checked / seconds).toLocaleString('en')}/s`,
          );
        }
      });
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

/** `audit verify`. */
export const auditVerifyCommands: readonly CommandSpec[] = [verify];
