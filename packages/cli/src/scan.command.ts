/**
 * `tessera scan`: finds leaked secrets in a tree, a staged change or git history (ADR 0020), and
 * with `--revoke` reports the Tessera credentials among them to `POST /v1/leaks`.
 */

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sha256Hex } from '@tessera/sdk';
import { CLI_VERSION, type CommandContext, type CommandSpec } from './cli.context.js';
import { CommandExit, UsageError } from './cli.errors.js';
import { configDir } from './config.store.js';
import { ensurePrivateDir, writeFileAtomic } from './file.atomic.js';
import { jsonText, renderTable } from './output.format.js';
import { DEFAULT_ALLOW_FILE, loadAllowList } from './scan/scan.allowlist.js';
import { createDetector, type Finding } from './scan/scan.detect.js';
import {
  jsonReport,
  type RevokeResult,
  type ScanSummary,
  sarifReport,
  textReport,
} from './scan/scan.report.js';
import {
  fileUnit,
  gitFiles,
  historyUnits,
  type ScanUnit,
  stagedUnits,
  walkTree,
} from './scan/scan.sources.js';

const FORMATS = ['text', 'json', 'sarif'] as const;
/** Files read and scanned at once (I/O overlaps the scanning). */
const PARALLEL = 8;

/**
 * The scan key: `TESSERA_SCAN_KEY` when set (share it in a team or CI so fingerprints, and the
 * allow-list entries made of them, agree everywhere), else a random key kept in the config
 * directory (0600), made on first use.
 */
async function scanKey(ctx: CommandContext): Promise<Uint8Array> {
  const fromEnv = ctx.io.env.TESSERA_SCAN_KEY;
  if (fromEnv) return Buffer.from(sha256Hex(`tessera scan key v1\0${fromEnv}`), 'hex');
  const dir = configDir(ctx.io.env);
  const file = join(dir, 'scan.key');
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (/^[0-9a-f]{64}$/.test(text)) return Buffer.from(text, 'hex');
  } catch {}
  // WebCrypto's generator (only server/src/crypto imports node:crypto).
  const key = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  await ensurePrivateDir(dir);
  await writeFileAtomic(file, `${key.toString('hex')}\n`);
  return key;
}

async function* units(root: string, mode: ScanSummary['mode'], since: string | undefined) {
  if (mode === 'staged') yield* await stagedUnits(root);
  else if (mode === 'history') yield* await historyUnits(root, since);
  else {
    const paths = mode === 'git' ? await gitFiles(root) : walkTree(root);
    for await (const path of paths) yield path;
  }
}

/** Reports the Tessera credentials found (each value once, at its first place) to the server. */
async function revoke(ctx: CommandContext, findings: Finding[]): Promise<RevokeResult> {
  const first = new Map<string, Finding>();
  for (const f of findings) if (f.tesseraKind && !first.has(f.fingerprint)) first.set(f.fingerprint, f);
  const list = [...first.values()];
  const auditHashes: Record<string, string | null> = {};
  for (let i = 0; i < list.length; i += 100) {
    const chunk = list.slice(i, i + 100);
    const receipt = await ctx.withAdmin((t) =>
      ctx.client.reportLeaks(t, {
        items: chunk.map((f) => ({
          credential: f.secret,
          location: {
            uri: f.path,
            line: f.line,
            ...(f.commit && /^[0-9a-f]{7,64}$/.test(f.commit) ? { commit: f.commit } : {}),
            source: 'tessera scan',
          },
        })),
      }),
    );
    for (const r of receipt.items) auditHashes[chunk[r.index]!.fingerprint] = r.auditHash;
  }
  return { reported: list.length, auditHashes };
}

const scan: CommandSpec = {
  path: ['scan'],
  summary: 'Find leaked secrets in files, a staged change or git history; revoke Tessera ones',
  positionals: '[PATH]',
  details:
    'Recognises every Tessera credential offline by prefix and checksum (UID tokens u-, access keys tak-, ' +
    'client secrets tcs-, registration access tokens trt-, registration tokens tri-, session tokens, dynamic passwords tdp1…, rotated passwords trp1…) and other ' +
    "secrets (cloud keys, VCS and chat tokens, private keys…) with secretlint's recommended ruleset. Scans " +
    'the working tree under PATH (default .) honouring .gitignore, or with --git the files git tracks, with ' +
    '--staged the lines a commit would add, with --history the lines every commit added (--since REF: ' +
    'only commits after REF). Findings in the allow-list (.tessera-scan-allow.yaml, each with a reason) ' +
    'are not reported. A secret is never printed: a masked form and its fingerprint (HMAC under ' +
    'TESSERA_SCAN_KEY, or a per-user key) are. With --revoke the Tessera credentials found are reported ' +
    'to the server (POST /v1/leaks), which revokes each live one and alerts its owner. Exits 1 when ' +
    'something is found.',
  options: {
    git: {
      type: 'boolean',
      description: 'scan the files git tracks (and untracked ones it does not ignore)',
    },
    staged: { type: 'boolean', description: 'scan the lines the staged change adds (pre-commit hook)' },
    history: { type: 'boolean', description: 'scan the lines every commit added' },
    since: {
      type: 'string',
      placeholder: 'REF',
      description: 'with --history: only the commits after REF (e.g. origin/main)',
    },
    revoke: {
      type: 'boolean',
      description: 'report Tessera credentials found to the server, which revokes them',
    },
    format: { type: 'string', placeholder: 'text|json|sarif', description: 'output format (default text)' },
    output: {
      type: 'string',
      placeholder: 'FILE',
      description: 'write the report to FILE instead of stdout',
    },
    allow: {
      type: 'string',
      placeholder: 'FILE',
      description: `allow-list file (default PATH/${DEFAULT_ALLOW_FILE} when present)`,
    },
    'tessera-only': {
      type: 'boolean',
      description: 'only Tessera credentials (skip the third-party ruleset)',
    },
  },
  examples: [
    'tessera scan',
    'tessera scan ./deploy --format sarif --output scan.sarif',
    'tessera scan --staged',
    'tessera scan --history --since origin/main --revoke',
  ],
  async run(ctx, args) {
    if (args.positionals.length > 1) throw new UsageError(`unexpected argument "${args.positionals[1]}"`);
    const root = resolve(args.positionals[0] ?? '.');
    const modes = (['git', 'staged', 'history'] as const).filter((m) => args.bool(m));
    if (modes.length > 1) throw new UsageError(`choose one of --${modes.join(', --')}`);
    const mode: ScanSummary['mode'] = modes[0] ?? 'tree';
    const since = args.str('since');
    if (since !== undefined && mode !== 'history') throw new UsageError('--since needs --history');
    const format = args.choice('format', FORMATS) ?? (ctx.json ? 'json' : 'text');
    const allowFile = args.str('allow');
    const allow = await loadAllowList(allowFile ?? join(root, DEFAULT_ALLOW_FILE), allowFile !== undefined);
    const detector = createDetector(await scanKey(ctx), !args.bool('tessera-only'));
    const tty = ctx.io.isTty?.() === true && format === 'text';
    const started = ctx.now();
    const summary: ScanSummary = { mode, units: 0, bytes: 0, skipped: 0, seconds: 0, allowed: [] };
    const findings: Finding[] = [];
    let lastProgress = 0;
    const progress = (force = false) => {
      if (!tty || (!force && ctx.now() - lastProgress < 100)) return;
      lastProgress = ctx.now();
      const seconds = Math.max((ctx.now() - started) / 1000, 0.001);
      ctx.io.stderr(
        `\r\x1b[2K  scanned ${summary.units} ${mode === 'history' ? 'changes' : 'files'}, ` +
          `${(summary.bytes / 1048576).toFixed(1)} MB (${(summary.bytes / 1048576 / seconds).toFixed(1)} MB/s), ` +
          `${findings.length} found`,
      );
    };
    const handle = async (item: string | ScanUnit) => {
      const unit = typeof item === 'string' ? await fileUnit(root, item) : item;
      if (!unit) {
        summary.skipped++;
        return;
      }
      summary.units++;
      summary.bytes += unit.bytes;
      for (const f of await detector.scan(unit)) {
        const reason = allow.reasonFor(f);
        if (reason) summary.allowed.push({ finding: f, reason });
        else findings.push(f);
      }
      progress();
    };
    const inFlight = new Set<Promise<void>>();
    for await (const item of units(root, mode, since)) {
      const p = handle(item).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= PARALLEL) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (tty) ctx.io.stderr('\r\x1b[2K');
    findings.sort((a, b) => (a.path === b.path ? a.line - b.line : a.path < b.path ? -1 : 1));
    summary.seconds = (ctx.now() - started) / 1000;
    const revoked =
      args.bool('revoke') && findings.some((f) => f.tesseraKind) ? await revoke(ctx, findings) : null;
    const report =
      format === 'sarif'
        ? jsonText(sarifReport(findings, CLI_VERSION))
        : format === 'json'
          ? jsonText(jsonReport(findings, summary, revoked))
          : textReport(findings, summary, revoked);
    const output = args.str('output');
    if (output) {
      await writeFileAtomic(resolve(output), report);
      if (format !== 'text') ctx.note(textReport(findings, summary, revoked));
    } else ctx.out(report);
    if (findings.length > 0) throw new CommandExit(1);
  },
};

const listLeaks: CommandSpec = {
  path: ['list-leaks'],
  summary: 'List findings of leaked credentials: what each was, where it was found',
  details:
    'Each credential reported to POST /v1/leaks (by `tessera scan --revoke` or a repository host) has one ' +
    'finding: revoked (it was live and is now dead, its owner alerted), already_dead, unknown (never a ' +
    'Tessera credential of this server), or action_required (a key share of the live root key: rotate the ' +
    'root key and split the new one), with the places it was reported from.',
  options: {
    outcome: {
      type: 'string',
      placeholder: 'OUTCOME',
      description: 'revoked, already_dead, unknown or action_required',
    },
    'identity-id': { type: 'string', placeholder: 'ID', description: 'only this identity’s credentials' },
    limit: { type: 'number', placeholder: 'N', description: 'at most N (default 50)' },
  },
  examples: ['tessera list-leaks', 'tessera list-leaks --outcome revoked --json'],
  async run(ctx, args) {
    const outcome = args.choice('outcome', [
      'revoked',
      'already_dead',
      'unknown',
      'action_required',
    ] as const);
    const identityId = args.str('identity-id');
    const limit = args.positiveInt('limit');
    const page = await ctx.withAdmin((t) =>
      ctx.client.listLeaks(t, {
        ...(outcome ? { outcome } : {}),
        ...(identityId ? { identityId } : {}),
        ...(limit ? { limit } : {}),
      }),
    );
    ctx.emit(page, () =>
      page.items.length === 0
        ? 'No leaked credentials reported.\n'
        : renderTable(
            ['FINDING', 'KIND', 'OUTCOME', 'IDENTITY', 'REPORTS', 'FOUND IN'],
            page.items.map((f) => [
              f.id,
              f.kind,
              f.outcome,
              f.identityId ?? '-',
              String(f.reportCount),
              f.locations
                .map(
                  (l) =>
                    `${l.uri}${l.line ? `:${l.line}` : ''}${l.commit ? ` @${l.commit.slice(0, 12)}` : ''}`,
                )
                .join(', ') || '-',
            ]),
          ),
    );
  },
};

export const scanCommands: readonly CommandSpec[] = [scan, listLeaks];
