/**
 * Reading identity-as-code files (ADR 0021): YAML (or JSON, which is YAML) parsed with positions,
 * checked against the file schema generated from the registered kinds, each problem reported with
 * its file, line and column.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { isMap, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { ConfigKind, ConfigPath, ConfigSpec } from '../../core/shared/config-kinds.js';
import { hasValidChecksum } from '../../crypto/credentials.js';
import { configFileSchema } from './config.schema.js';

/** One file as the caller sends it. */
export interface ConfigFile {
  path: string;
  text: string;
}

/** Where something is, for people: `file:line:column`. */
export interface ConfigLocation {
  file: string;
  line: number;
  column: number;
}

export interface LocatedProblem extends ConfigLocation {
  message: string;
}

/** One declared object with where it was declared. */
export interface Declared {
  kind: ConfigKind;
  spec: ConfigSpec;
  /** The file it was declared in, as the caller named it (secret references are relative to it). */
  file: string;
  /** The values behind its secret references, by field (filled by the service; ADR 0030). */
  values?: Record<string, string>;
  /** Location of a path inside the object (the nearest node that exists). */
  at(path: ConfigPath): ConfigLocation;
}

const MAX_FILES = 1000;

/** The file schema's validator, rebuilt when the kinds change (they only change at start-up). */
function validatorFor(kinds: readonly ConfigKind[]): (value: unknown) => ErrorObject[] {
  let validate: ValidateFunction | null = null;
  return (value) => {
    // `verbose` for the failing schema (a secret reference's own message); `data` is never shown.
    validate ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(configFileSchema(kinds));
    return validate(value) ? [] : (validate.errors ?? []);
  };
}

function describe(error: ErrorObject): { path: Array<string | number>; message: string } {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const params = error.params as Record<string, unknown>;
  if (
    (error.parentSchema as Record<string, unknown> | undefined)?.['x-tessera-secret-reference'] === true &&
    error.keyword !== 'additionalProperties'
  )
    return {
      path,
      message:
        'must be a reference, {env: NAME} or {file: PATH}: a file never holds a secret value (ADR 0030)',
    };
  switch (error.keyword) {
    case 'additionalProperties':
      return {
        path: [...path, String(params.additionalProperty)],
        message: `unknown key "${String(params.additionalProperty)}"`,
      };
    case 'required':
      return { path, message: `missing required key "${String(params.missingProperty)}"` };
    case 'const':
      return { path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'type':
      return { path, message: `must be ${String(params.type)}` };
    default:
      return { path, message: error.message ?? 'is not valid' };
  }
}

const CREDENTIAL_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['u-', 'a UID token'],
  ['tak-', 'an access key'],
  ['tcs-', 'an OAuth client secret'],
  ['trt-', 'a registration access token'],
  ['tri-', 'an OAuth initial access token'],
];
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Strings that are credentials (Tessera's, recognised by prefix and checksum; PEM private keys),
 * wherever they are: secrets are referenced, never written in a file (ADR 0021).
 */
function inlinedSecrets(
  value: unknown,
  path: Array<string | number> = [],
): Array<{ path: ConfigPath; what: string }> {
  if (typeof value === 'string') {
    if (PRIVATE_KEY.test(value)) return [{ path, what: 'a private key' }];
    const hit = CREDENTIAL_PREFIXES.find(([prefix]) => hasValidChecksum(value.trim(), prefix));
    return hit ? [{ path, what: hit[1] }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => inlinedSecrets(v, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => inlinedSecrets(v, [...path, k]));
  return [];
}

/** `roles[2].rules[0].path`: a path as people read it. */
export const pathText = (path: ConfigPath): string =>
  path.map((p, i) => (typeof p === 'number' || /^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/** Literal unions produce one error per literal: report "must be one of …" once instead. */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const unions = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword !== 'const') continue;
    const list = unions.get(e.instancePath) ?? [];
    list.push((e.params as { allowedValue: unknown }).allowedValue);
    unions.set(e.instancePath, list);
  }
  const out: ErrorObject[] = [];
  const reported = new Set<string>();
  for (const e of errors) {
    const literals = unions.get(e.instancePath);
    if (literals && (e.keyword === 'const' || e.keyword === 'anyOf' || e.keyword === 'type')) {
      if (reported.has(e.instancePath)) continue;
      reported.add(e.instancePath);
      if (literals.length > 1) {
        out.push({
          ...e,
          keyword: 'enum',
          message: `must be one of ${literals.map((l) => JSON.stringify(l)).join(', ')}`,
        });
        continue;
      }
    }
    if (e.keyword === 'anyOf' && errors.some((x) => x !== e && x.instancePath === e.instancePath)) continue;
    out.push(e);
  }
  return out;
}

/** What YAML features send a file to the full parser: anchors, aliases, tags, merge keys, directives. */
const NOT_PLAIN = /(?:^|[\s[{,])[&*!][^\s]|(?:^|[\s{,])<<\s*:|^%/m;

/**
 * The file's documents as plain objects by the fast parser (js-yaml, YAML 1.2 core schema: the same
 * values as `yaml`'s), or null when the file is not plain (see {@link NOT_PLAIN}), does not parse, or
 * has a document that is not a mapping: then the full parser reads it and reports what is wrong.
 */
function fastDocuments(text: string): Array<Record<string, unknown>> | null {
  if (NOT_PLAIN.test(text)) return null;
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: CORE_SCHEMA, json: false });
  } catch {
    return null;
  }
  if (docs.length === 0) return null;
  for (const doc of docs) if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return null;
  return docs as Array<Record<string, unknown>>;
}

type Located = Array<(path: ConfigPath) => ConfigLocation>;

/**
 * Parses one file with positions (`yaml`, the full parser): its syntax problems, and for each
 * non-empty document its value and how to locate a path in it.
 */
function parseWithPositions(file: ConfigFile): {
  problems: LocatedProblem[];
  docs: Array<{ value: unknown; at: (path: ConfigPath) => ConfigLocation }>;
} {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(file.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number): ConfigLocation => {
    const pos = lines.linePos(offset);
    return { file: file.path, line: pos.line, column: pos.col };
  };
  const problems: LocatedProblem[] = [];
  const docs: Array<{ value: unknown; at: (path: ConfigPath) => ConfigLocation }> = [];
  if (!Array.isArray(parsed)) {
    problems.push({ ...where(0), message: 'not a YAML document' });
    return { problems, docs };
  }
  for (const doc of parsed) {
    const syntax = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')];
    for (const e of syntax) problems.push({ ...where(e.pos[0]), message: e.message.split('\n')[0]! });
    if (syntax.length > 0) continue;
    if (doc.contents === null) continue; // an empty document (a file of comments)
    /** The location of the deepest node along `path` that exists. */
    const at = (path: ConfigPath): ConfigLocation => {
      let node: Node | null = doc.contents as Node;
      let located = node.range ? where(node.range[0]) : where(0);
      for (const key of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
          if (!pair) break;
          const keyNode = pair.key as Node;
          if (keyNode?.range) located = where(keyNode.range[0]);
          node = pair.value as Node | null;
          if (node?.range && !isMap(node) && !isSeq(node)) located = where(node.range[0]);
        } else if (isSeq(node) && typeof key === 'number') {
          node = (node.items[key] as Node | undefined) ?? null;
          if (node?.range) located = where(node.range[0]);
        } else break;
        if (!node) break;
      }
      return located;
    };
    docs.push({ value: doc.toJS({ maxAliasCount: 100 }) as unknown, at });
  }
  return { problems, docs };
}

/**
 * Reads and checks the files; returns the declared objects, or every problem found.
 *
 * Positions cost most of a plan (BENCHMARKS.md): a plain file is read by the fast parser, and the
 * full parser reads it again only when a position is needed (a problem to report). A file the fast
 * parser does not take, or whose documents do not match the schema, is read by the full one.
 */
export function createFileReader(kinds: () => readonly ConfigKind[]) {
  let validate: ((value: unknown) => ErrorObject[]) | null = null;
  return function read(files: readonly ConfigFile[]): { declared: Declared[]; problems: LocatedProblem[] } {
    validate ??= validatorFor(kinds());
    const check = validate;
    const declared: Declared[] = [];
    const problems: LocatedProblem[] = [];
    if (files.length > MAX_FILES) {
      problems.push({ file: '-', line: 1, column: 1, message: `at most ${MAX_FILES} files at once` });
      return { declared, problems };
    }
    const declare = (file: ConfigFile, value: unknown, at: (path: ConfigPath) => ConfigLocation) => {
      for (const kind of kinds()) {
        const list = (value as Record<string, unknown>)[kind.key] as ConfigSpec[] | undefined;
        list?.forEach((spec, i) => {
          declared.push({ kind, spec, file: file.path, at: (path) => at([kind.key, i, ...path]) });
        });
      }
    };
    for (const file of files) {
      const fast = fastDocuments(file.text);
      if (fast?.every((value) => check(value).length === 0 && inlinedSecrets(value).length === 0)) {
        let located: Located | null = null;
        fast.forEach((value, index) => {
          declare(file, value, (path) => {
            located ??= parseWithPositions(file).docs.map((d) => d.at);
            const at = located[index];
            return at ? at(path) : { file: file.path, line: 1, column: 1 };
          });
        });
        continue;
      }
      const parsed = parseWithPositions(file);
      problems.push(...parsed.problems);
      for (const { value, at } of parsed.docs) {
        const errors = collapse(check(value));
        for (const error of errors) {
          const { path, message } = describe(error);
          const field = path.length > 0 ? `${pathText(path)}: ` : '';
          problems.push({ ...at(path), message: `${field}${message}` });
        }
        if (errors.length > 0) continue;
        for (const { path, what } of inlinedSecrets(value))
          problems.push({
            ...at(path),
            message: `${pathText(path)}: this looks like ${what}; a file never holds a secret (issue it out of band)`,
          });
        declare(file, value, at);
      }
    }
    return { declared, problems };
  };
}
