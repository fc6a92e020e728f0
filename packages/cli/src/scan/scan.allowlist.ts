/**
 * The allow-list (ADR 0020): findings someone decided are not leaks, each with the reason why.
 * `.tessera-scan-allow.yaml` in the scanned directory by default:
 *
 *     - fingerprint: hmac-sha256:…   # one value, wherever it appears
 *       reason: the documented example key of our SDK
 *     - path: test/fixtures/**       # gitignore-style pattern; optionally one rule
 *       rule: secretlint/*
 *       reason: fixtures hold fake keys only
 */

import { readFile } from 'node:fs/promises';
import ignore from 'ignore';
import { UsageError } from '../cli.errors.js';
import type { Finding } from './scan.detect.js';

export const DEFAULT_ALLOW_FILE = '.tessera-scan-allow.yaml';

interface Entry {
  fingerprint?: string;
  path?: string;
  rule?: string;
  reason: string;
}

export interface AllowList {
  /** The reason a finding is allowed, or null. */
  reasonFor(finding: Finding): string | null;
  size: number;
}

const KEYS = new Set(['fingerprint', 'path', 'rule', 'reason']);

/** Reads and checks the allow-list; a missing default file is an empty list. */
export async function loadAllowList(file: string, required: boolean): Promise<AllowList> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    if (required) throw new UsageError(`the allow-list ${file} cannot be read`);
    return { reasonFor: () => null, size: 0 };
  }
  let doc: unknown;
  try {
    const { parse } = await import('yaml'); // loaded only when there is an allow-list to read
    doc = parse(text) ?? [];
  } catch (error) {
    throw new UsageError(`${file}: not YAML (${(error as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(doc)) throw new UsageError(`${file}: must be a list of entries`);
  const entries = doc.map((raw, i): Entry & { match: (f: Finding) => boolean } => {
    const where = `${file}: entry ${i + 1}`;
    if (typeof raw !== 'object' || raw === null) throw new UsageError(`${where} must be a mapping`);
    for (const k of Object.keys(raw)) if (!KEYS.has(k)) throw new UsageError(`${where}: unknown key "${k}"`);
    const e = raw as Record<string, unknown>;
    if (typeof e.reason !== 'string' || e.reason.trim().length < 3)
      throw new UsageError(`${where}: needs a reason (why this is not a leak)`);
    if ((e.fingerprint === undefined) === (e.path === undefined))
      throw new UsageError(`${where}: needs exactly one of fingerprint and path`);
    for (const k of ['fingerprint', 'path', 'rule'])
      if (e[k] !== undefined && typeof e[k] !== 'string')
        throw new UsageError(`${where}: ${k} must be a string`);
    const rule = e.rule as string | undefined;
    const ruleOk = (f: Finding) =>
      rule === undefined || (rule.endsWith('*') ? f.rule.startsWith(rule.slice(0, -1)) : f.rule === rule);
    if (typeof e.fingerprint === 'string') {
      const fp = e.fingerprint;
      return { ...(e as unknown as Entry), match: (f) => f.fingerprint === fp && ruleOk(f) };
    }
    const ig = ignore().add(e.path as string);
    return { ...(e as unknown as Entry), match: (f) => ig.ignores(f.path) && ruleOk(f) };
  });
  return {
    size: entries.length,
    reasonFor: (f) => entries.find((e) => e.match(f))?.reason ?? null,
  };
}
