/**
 * The three outputs of `tessera scan`: readable text, JSON for scripts, and SARIF 2.1.0 for
 * code-scanning UIs. None carries a secret: each finding shows a masked form and a fingerprint.
 */

import type { Finding } from './scan.detect.js';

export interface ScanSummary {
  mode: 'tree' | 'git' | 'staged' | 'history';
  units: number;
  bytes: number;
  skipped: number;
  seconds: number;
  allowed: Array<{ finding: Finding; reason: string }>;
}

/** The result of `--revoke`: one line per Tessera credential reported. */
export interface RevokeResult {
  reported: number;
  /** Keyed audit hashes from the server (`POST /v1/audit/hash` form), by finding fingerprint. */
  auditHashes: Record<string, string | null>;
}

/** A finding as printed: the allow-listed fields only (the value is never among them). */
export const publicFinding = (f: Finding) => ({
  rule: f.rule,
  ...(f.tesseraKind ? { tesseraKind: f.tesseraKind } : {}),
  path: f.path,
  line: f.line,
  column: f.column,
  ...(f.commit ? { commit: f.commit } : {}),
  masked: f.masked,
  fingerprint: f.fingerprint,
});

export function jsonReport(findings: Finding[], summary: ScanSummary, revoke: RevokeResult | null) {
  return {
    found: findings.length,
    findings: findings.map((f) => ({
      ...publicFinding(f),
      ...(revoke && f.tesseraKind ? { auditHash: revoke.auditHashes[f.fingerprint] ?? null } : {}),
    })),
    allowed: summary.allowed.map((a) => ({ ...publicFinding(a.finding), reason: a.reason })),
    scanned: { mode: summary.mode, units: summary.units, bytes: summary.bytes, skipped: summary.skipped },
    ...(revoke ? { revoked: { reported: revoke.reported } } : {}),
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function textReport(findings: Finding[], summary: ScanSummary, revoke: RevokeResult | null): string {
  const lines = findings.map((f) => {
    const commit = f.commit && f.commit !== 'STAGED' ? ` (commit ${f.commit.slice(0, 12)})` : '';
    const staged = f.commit === 'STAGED' ? ' (staged)' : '';
    return `${f.path}:${f.line}:${f.column}  ${f.rule}  ${f.masked}  ${f.fingerprint}${commit}${staged}`;
  });
  const tessera = findings.filter((f) => f.tesseraKind).length;
  const what = summary.mode === 'history' ? 'commits' : summary.mode === 'staged' ? 'staged files' : 'files';
  lines.push(
    `${findings.length === 0 ? 'No secrets found' : `${findings.length} secret${findings.length === 1 ? '' : 's'} found (${tessera} Tessera credential${tessera === 1 ? '' : 's'})`} ` +
      `in ${summary.units} ${what} (${mb(summary.bytes)}, ${summary.seconds.toFixed(1)} s)` +
      `${summary.allowed.length ? `; ${summary.allowed.length} allowed by the allow-list` : ''}` +
      `${summary.skipped ? `; ${summary.skipped} binary or oversized skipped` : ''}.`,
  );
  if (revoke)
    lines.push(
      `Reported ${revoke.reported} Tessera credential${revoke.reported === 1 ? '' : 's'} to POST /v1/leaks: ` +
        'each live one is revoked and its owner alerted (findings: GET /v1/leaks).',
    );
  else if (tessera > 0) lines.push('Revoke the Tessera credentials now: run again with --revoke.');
  return `${lines.join('\n')}\n`;
}

/** SARIF 2.1.0 (OASIS): one run, one rule per kind found, one result per finding. */
export function sarifReport(findings: Finding[], version: string) {
  const ruleIds = [...new Set(findings.map((f) => f.rule))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tessera-scan',
            version,
            rules: ruleIds.map((id) => ({
              id,
              name: id.replace(/[^A-Za-z0-9]+/g, '_'),
              shortDescription: {
                text: id.startsWith('tessera/')
                  ? `A Tessera ${id.slice(8).replace(/_/g, ' ')} (prefix and checksum match)`
                  : `A secret matched by secretlint rule ${id.slice(11)}`,
              },
              defaultConfiguration: { level: 'error' },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: ruleIds.indexOf(f.rule),
          level: 'error',
          message: {
            text: `Secret ${f.masked} (${f.fingerprint}): revoke it${f.tesseraKind ? ' (tessera scan --revoke)' : ''} and remove it.`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.path },
                region: { startLine: f.line, startColumn: f.column },
              },
            },
          ],
          partialFingerprints: { 'tesseraSecret/v1': f.fingerprint },
          ...(f.commit ? { properties: { commit: f.commit } } : {}),
        })),
      },
    ],
  };
}
