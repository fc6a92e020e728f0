/**
 * Detection (ADR 0020): Tessera's own credentials by prefix and checksum (the SDK's offline
 * recogniser: no false positives), everything else by secretlint's recommended preset, a ruleset
 * maintained by others (cloud keys, VCS, chat, payment tokens, private keys, …).
 */

import { lintSource } from '@secretlint/core';
import { secretLintProfiler } from '@secretlint/profiler';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import { findTesseraCredentials, hmacSha256Hex, maskSecret, type TesseraCredentialKind } from '@tessera/sdk';
import type { ScanUnit } from './scan.sources.js';

/** One secret found. The value stays in memory: it is never printed or written. */
export interface Finding {
  /** `tessera/<kind>` or the secretlint rule and message id (`secretlint/github/GITHUB_TOKEN`). */
  rule: string;
  /** Set for Tessera credentials: what `--revoke` can report. */
  tesseraKind?: TesseraCredentialKind;
  path: string;
  line: number;
  column: number;
  commit?: string;
  masked: string;
  /** Keyed hash of the value (HMAC-SHA256 under the scan key): stable, safe to print and allow-list. */
  fingerprint: string;
  /** Not serialised. */
  readonly secret: string;
}

/**
 * secretlint's profiler is always on: it keeps every performance mark it ever made and searches
 * them linearly at each new one, so linting N files costs O(N²) (most of the time on a large tree).
 * A scanner has no use for those timings; the marks become no-ops (ADR 0020).
 */
secretLintProfiler.mark = () => {};

const SECRETLINT_CONFIG = {
  rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }],
};

/** Line (1-based) and column (1-based) of each offset, from a sorted table of line starts. */
function locator(text: string) {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/** Attaches the value without making it enumerable: no JSON or spread of a finding carries it. */
function withSecret(finding: Omit<Finding, 'secret'>, secret: string): Finding {
  return Object.defineProperty(finding, 'secret', { value: secret, enumerable: false }) as Finding;
}

export interface Detector {
  scan(unit: ScanUnit): Promise<Finding[]>;
  /** The fingerprint of a value (for allow-list entries and tests). */
  fingerprint(value: string): string;
}

/**
 * @param key - the scan key: fingerprints are `hmac-sha256:` of each value under it, so that a
 *   printed fingerprint cannot be used to test guesses of a low-entropy secret without the key.
 * @param thirdParty - run secretlint's ruleset too (default); off with `--tessera-only`.
 */
export function createDetector(key: Uint8Array, thirdParty = true): Detector {
  const fingerprint = (value: string) => `hmac-sha256:${hmacSha256Hex(key, value).slice(0, 32)}`;
  return {
    fingerprint,
    async scan(unit) {
      const at = locator(unit.text);
      const place = (offset: number) => {
        const { line, column } = at(offset);
        return { line: unit.lineMap ? (unit.lineMap[line - 1] ?? line) : line, column };
      };
      const out: Finding[] = [];
      const tessera = findTesseraCredentials(unit.text);
      for (const f of tessera) {
        out.push(
          withSecret(
            {
              rule: `tessera/${f.kind}`,
              tesseraKind: f.kind,
              path: unit.path,
              ...place(f.index),
              ...(unit.commit ? { commit: unit.commit } : {}),
              masked: maskSecret(f.value),
              fingerprint: fingerprint(f.value),
            },
            f.value,
          ),
        );
      }
      if (!thirdParty) return out;
      const result = await lintSource({
        source: { filePath: unit.path, content: unit.text, contentType: 'text' },
        options: { config: SECRETLINT_CONFIG, noPhysicFilePath: true },
      });
      for (const m of result.messages) {
        const [start, end] = m.range;
        // A Tessera credential some generic rule also matched is reported once, as Tessera's.
        if (tessera.some((t) => start < t.index + t.length && end > t.index)) continue;
        const value = unit.text.slice(start, end);
        const rule = m.ruleId.replace('@secretlint/secretlint-rule-', '');
        out.push(
          withSecret(
            {
              rule: `secretlint/${rule}${m.messageId ? `/${m.messageId}` : ''}`,
              path: unit.path,
              ...place(start),
              ...(unit.commit ? { commit: unit.commit } : {}),
              masked: maskSecret(value),
              fingerprint: fingerprint(value),
            },
            value,
          ),
        );
      }
      return out;
    },
  };
}
