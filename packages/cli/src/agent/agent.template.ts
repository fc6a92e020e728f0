/**
 * The agent's template language, kept tiny and safe (no code execution, no file access):
 *
 * - `{{ secret "NAME" }}` — the value of the secret NAME;
 * - `{{ secret "NAME" "field" }}` — a top-level field of a JSON secret (strings as they are, other
 *   values as JSON);
 * - `{{ env "VAR" }}` — an environment variable of the agent (empty when unset);
 * - `{{ dynamic "NAME" "field" }}` — a field (`username`, `password`, `leaseId`, `expiresAt`) of the
 *   lease the agent holds on the dynamic secret NAME (one lease per name, shared by all templates).
 *
 * Everything outside `{{ … }}` is copied as it is. Errors name the line, never a value.
 */

import { DYNAMIC_FIELDS, type DynamicField, type DynamicValues } from './agent.leases.js';

/** One piece of a parsed template. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'secret'; name: string; field?: string }
  | { kind: 'env'; name: string }
  | { kind: 'dynamic'; name: string; field: DynamicField };

/** A parsed template. */
export interface ParsedTemplate {
  parts: TemplatePart[];
  /** The secret names it reads, without duplicates. */
  secretNames: string[];
  /** The dynamic secret names it reads, without duplicates. */
  dynamicNames: string[];
}

/** A template that cannot be parsed or rendered. */
export class TemplateError extends Error {
  readonly code = 'TESSERA_AGENT_TEMPLATE_INVALID';
  /** @param message - what is wrong (never a secret value) */
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

const ARG = /\s*"((?:[^"\\]|\\.)*)"/y;
const WORD = /\s*([a-z]+)/y;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

function parseAction(body: string, where: string): TemplatePart {
  WORD.lastIndex = 0;
  const word = WORD.exec(body);
  if (!word) throw new TemplateError(`${where}: expected secret "NAME" or env "VAR" inside {{ }}`);
  const args: string[] = [];
  let at = WORD.lastIndex;
  for (;;) {
    ARG.lastIndex = at;
    const m = ARG.exec(body);
    if (!m) break;
    args.push((m[1] as string).replace(/\\(.)/g, '$1'));
    at = ARG.lastIndex;
  }
  if (body.slice(at).trim() !== '')
    throw new TemplateError(`${where}: unexpected text inside {{ }} (arguments are "double-quoted")`);
  const fn = word[1];
  if (fn === 'secret' && (args.length === 1 || args.length === 2) && args[0]) {
    return args[1] !== undefined
      ? { kind: 'secret', name: args[0], field: args[1] }
      : { kind: 'secret', name: args[0] };
  }
  if (fn === 'dynamic' && args.length === 2 && args[0]) {
    if (!(DYNAMIC_FIELDS as readonly string[]).includes(args[1] as string))
      throw new TemplateError(
        `${where}: dynamic "NAME" "field": field is one of ${DYNAMIC_FIELDS.join(', ')}`,
      );
    return { kind: 'dynamic', name: args[0], field: args[1] as DynamicField };
  }
  if (fn === 'env' && args.length === 1 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(args[0] as string))
    return { kind: 'env', name: args[0] as string };
  throw new TemplateError(
    `${where}: unknown action "${fn}" or wrong arguments (secret "NAME" ["field"] | env "VAR" | dynamic "NAME" "field")`,
  );
}

/**
 * Parses a template.
 *
 * @param text - the template
 * @param source - where it comes from, for messages
 * @throws {@link TemplateError}
 */
export function parseTemplate(text: string, source: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{{', at);
    if (open === -1) {
      parts.push({ kind: 'text', text: text.slice(at) });
      break;
    }
    if (open > at) parts.push({ kind: 'text', text: text.slice(at, open) });
    const close = text.indexOf('}}', open + 2);
    const where = `${source}:${lineOf(text, open)}`;
    if (close === -1) throw new TemplateError(`${where}: {{ without a closing }}`);
    parts.push(parseAction(text.slice(open + 2, close), where));
    at = close + 2;
  }
  const secretNames = [...new Set(parts.flatMap((p) => (p.kind === 'secret' ? [p.name] : [])))];
  const dynamicNames = [...new Set(parts.flatMap((p) => (p.kind === 'dynamic' ? [p.name] : [])))];
  return { parts, secretNames, dynamicNames };
}

function field(value: string, name: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new TemplateError(`secret ${name} is not JSON, so it has no field "${key}"`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, key))
    throw new TemplateError(`secret ${name} has no top-level field "${key}"`);
  const v = (parsed as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Renders a parsed template.
 *
 * @param template - from {@link parseTemplate}
 * @param secrets - secret values by name (must hold every name in `secretNames`)
 * @param env - the environment for `env`
 * @param dynamic - credentials by dynamic secret name (must hold every name in `dynamicNames`)
 * @throws {@link TemplateError} for a missing secret or field
 */
export function renderTemplate(
  template: ParsedTemplate,
  secrets: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  dynamic: ReadonlyMap<string, DynamicValues> = new Map(),
): string {
  return template.parts
    .map((part) => {
      if (part.kind === 'text') return part.text;
      if (part.kind === 'env') return env[part.name] ?? '';
      if (part.kind === 'dynamic') {
        const lease = dynamic.get(part.name);
        if (lease === undefined) throw new TemplateError(`dynamic secret ${part.name} has no lease`);
        return lease[part.field];
      }
      const value = secrets.get(part.name);
      if (value === undefined) throw new TemplateError(`secret ${part.name} was not read`);
      return part.field === undefined ? value : field(value, part.name, part.field);
    })
    .join('');
}
