/**
 * A small argv parser: `--flag value`, `--flag=value`, booleans, repeatable lists, `--` to end
 * options. Flag names are normalised so `--uid_token` and `--uid-token` are the same option.
 */

import { UsageError } from './cli.errors.js';

/** How an option's value is read. */
export type OptionType = 'string' | 'boolean' | 'number' | 'list';

/** One option of a command. */
export interface OptionSpec {
  type: OptionType;
  description: string;
  /** Other names (without `--`), e.g. Akeyless spellings. */
  aliases?: string[];
  /** Older names still accepted but not shown in help (one flag name per concept). */
  hiddenAliases?: string[];
  /** Value placeholder in help, e.g. `MIN`. */
  placeholder?: string;
  /** Shown in help as required; checked by the command. */
  required?: boolean;
}

/** Options of a command, by canonical name (kebab-case, without `--`). */
export type OptionSpecs = Record<string, OptionSpec>;

/** A parsed option value. */
export type OptionValue = string | boolean | number | string[];

/** Result of {@link parseArgv}. */
export interface ParsedArgs {
  positionals: string[];
  options: Record<string, OptionValue>;
}

/** `--Uid_Token` → `uid-token`. */
export function normaliseFlagName(name: string): string {
  return name.trim().toLowerCase().replace(/_/g, '-');
}

function buildIndex(specs: OptionSpecs): Map<string, string> {
  const index = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    index.set(normaliseFlagName(name), name);
    for (const alias of [...(spec.aliases ?? []), ...(spec.hiddenAliases ?? [])]) {
      index.set(normaliseFlagName(alias), name);
    }
  }
  return index;
}

/**
 * Parses `argv` against `specs`.
 *
 * @throws {@link UsageError} on unknown options, missing values or bad numbers
 */
export function parseArgv(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const index = buildIndex(specs);
  const positionals: string[] = [];
  const options: Record<string, OptionValue> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      setOption(options, 'help', specs, true);
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    let name = index.get(normaliseFlagName(rawName));
    let negated = false;
    if (!name && normaliseFlagName(rawName).startsWith('no-')) {
      const positive = index.get(normaliseFlagName(rawName).slice(3));
      if (positive && specs[positive]?.type === 'boolean') {
        name = positive;
        negated = true;
      }
    }
    if (!name) throw unknownOption(rawName, index);
    const spec = specs[name] as OptionSpec;
    if (spec.type === 'boolean') {
      if (negated) {
        if (inline !== undefined) throw new UsageError(`--${rawName} takes no value`);
        setOption(options, name, specs, false);
      } else if (inline !== undefined) {
        setOption(options, name, specs, parseBoolean(inline, name));
      } else if (argv[i + 1] === 'true' || argv[i + 1] === 'false') {
        // Akeyless style: `--deny-rotate true`.
        setOption(options, name, specs, argv[i + 1] === 'true');
        i++;
      } else {
        setOption(options, name, specs, true);
      }
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`);
      }
      value = next;
      i++;
    }
    setOption(options, name, specs, value);
  }
  return { positionals, options };
}

function setOption(
  options: Record<string, OptionValue>,
  name: string,
  specs: OptionSpecs,
  raw: string | boolean,
) {
  const spec = specs[name];
  if (!spec) return;
  switch (spec.type) {
    case 'boolean':
      options[name] = raw === true;
      return;
    case 'number': {
      const n = Number(raw);
      if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) {
        throw new UsageError(`--${name} must be a number, got "${String(raw)}"`);
      }
      options[name] = n;
      return;
    }
    case 'list': {
      const items = String(raw)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const prev = options[name];
      options[name] = [...(Array.isArray(prev) ? prev : []), ...items];
      return;
    }
    default:
      options[name] = String(raw);
  }
}

function parseBoolean(raw: string, name: string): boolean {
  const v = raw.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw new UsageError(`--${name} must be true or false, got "${raw}"`);
}

function unknownOption(rawName: string, index: Map<string, string>): UsageError {
  const wanted = normaliseFlagName(rawName);
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of index.keys()) {
    const d = editDistance(wanted, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return new UsageError(`unknown option --${rawName}${best ? ` (did you mean --${best}?)` : ''}`);
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** Typed, validated access to parsed options. */
export class ArgReader {
  /** @param parsed - the parser's result */
  constructor(readonly parsed: ParsedArgs) {}

  /** A string option, if given. */
  str(name: string): string | undefined {
    const v = this.parsed.options[name];
    return typeof v === 'string' ? v : undefined;
  }

  /** A string option that must be given and non-empty. */
  requireStr(name: string): string {
    const v = this.str(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
    return v;
  }

  /** A boolean option (false when absent). */
  bool(name: string): boolean {
    return this.parsed.options[name] === true;
  }

  /** A boolean option that may be absent. */
  maybeBool(name: string): boolean | undefined {
    const v = this.parsed.options[name];
    return typeof v === 'boolean' ? v : undefined;
  }

  /** A number option, if given. */
  num(name: string): number | undefined {
    const v = this.parsed.options[name];
    return typeof v === 'number' ? v : undefined;
  }

  /** A positive integer option, if given. */
  positiveInt(name: string): number | undefined {
    const v = this.num(name);
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      throw new UsageError(`--${name} must be a positive whole number`);
    }
    return v;
  }

  /** A list option (comma-separated and/or repeated), if given. */
  list(name: string): string[] | undefined {
    const v = this.parsed.options[name];
    return Array.isArray(v) ? v : undefined;
  }

  /** A string option restricted to `choices`. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!(choices as readonly string[]).includes(v)) {
      throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got "${v}"`);
    }
    return v as T;
  }

  /** The positional arguments after the command words. */
  get positionals(): string[] {
    return this.parsed.positionals;
  }
}
