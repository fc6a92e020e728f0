/**
 * `tessera plan|apply|export`: identity as code (issue 17, ADR 0021). The files are YAML, checked
 * by the server against the schema in `schemas/tessera-config.schema.json`; problems come back with
 * file, line and column.
 *
 * Exit codes: `plan` 0 when live state matches the files, 2 when it differs (drift), 1 on error;
 * `apply` 0 when applied (or nothing to do), 1 on error.
 */

import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import type { ConfigFileInput, ConfigPlan } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { CliError, CommandExit, EXIT_FAILURE, UsageError } from './cli.errors.js';

/** `plan` found changes: what CI fails on to report drift. */
export const EXIT_CHANGES = 2;

const FILES: OptionSpecs = {
  file: {
    type: 'list',
    placeholder: 'PATH',
    description: 'a YAML file, or a directory of them (*.yaml, *.yml, read recursively); repeatable; also -f',
    aliases: ['files'],
  },
};

const YAML_FILE = /\.(ya?ml|json)$/i;

async function collect(path: string, out: string[]): Promise<void> {
  const info = await stat(path);
  if (!info.isDirectory()) {
    out.push(path);
    return;
  }
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) await collect(child, out);
    else if (YAML_FILE.test(entry.name)) out.push(child);
  }
}

/** The files named by `--file` (directories expanded), with paths as the user gave them. */
async function readFiles(args: ArgReader): Promise<ConfigFileInput[]> {
  // `-f PATH` (the short form the issue and Terraform users write) arrives as two positionals.
  const given = [...(args.list('file') ?? []), ...args.positionals.filter((p) => p !== '-f')];
  if (given.length === 0) throw new UsageError('give the files to plan: --file PATH (a file or a directory)');
  const paths: string[] = [];
  for (const path of given) await collect(path, paths);
  if (paths.length === 0)
    throw new CliError('TESSERA_CONFIG_NO_FILES', `no *.yaml files in ${given.join(', ')}`);
  return Promise.all(paths.map(async (path) => ({ path, text: await readFile(path, 'utf8') })));
}

/**
 * The values behind the files' secret references (ADR 0030): a field of a declared object written
 * `{env: NAME}` (this process's environment) or `{file: PATH}` (relative to the declaring file). They
 * travel beside the files, keyed as the server keys them; one that cannot be read is left out, and the
 * server reports it with its file and line. Values are never printed.
 */
export async function referencedValues(
  files: readonly ConfigFileInput[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Array<{ ref: string; value: string }>> {
  const refs = new Map<string, () => Promise<string | undefined>>();
  const { parseAllDocuments } = await import('yaml'); // loaded only here: keeps the start-up light
  for (const file of files) {
    for (const doc of parseAllDocuments(file.text)) {
      if (doc.errors.length > 0) continue; // the server reports it
      const root = doc.toJS({ maxAliasCount: 100 }) as unknown;
      if (!root || typeof root !== 'object') continue;
      for (const list of Object.values(root as Record<string, unknown>)) {
        if (!Array.isArray(list)) continue;
        for (const object of list) {
          if (!object || typeof object !== 'object') continue;
          for (const field of Object.values(object as Record<string, unknown>)) {
            const ref = referenceOf(field);
            if (!ref) continue;
            if ('env' in ref) refs.set(`env:${ref.env}`, async () => env[ref.env]);
            else {
              const path = posix.isAbsolute(ref.file)
                ? posix.normalize(ref.file)
                : posix.normalize(posix.join(posix.dirname(file.path), ref.file));
              refs.set(`file:${path}`, () => readFile(path, 'utf8').catch(() => undefined));
            }
          }
        }
      }
    }
  }
  const out: Array<{ ref: string; value: string }> = [];
  for (const [ref, read] of refs) {
    const value = await read();
    if (value !== undefined) out.push({ ref, value });
  }
  return out;
}

function referenceOf(field: unknown): { env: string } | { file: string } | null {
  if (!field || typeof field !== 'object' || Array.isArray(field)) return null;
  const keys = Object.keys(field);
  if (keys.length !== 1) return null;
  const value = (field as Record<string, unknown>)[keys[0]!];
  if (typeof value !== 'string') return null;
  if (keys[0] === 'env') return { env: value };
  if (keys[0] === 'file') return { file: value };
  return null;
}

const short = (value: unknown): string => {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/** A plan for people: one line per change, the changing fields beneath an update. */
export function renderPlan(plan: ConfigPlan): string {
  if (plan.changes.length === 0) return 'No changes: the live configuration matches the files.\n';
  const sign = { create: '+', update: '~', delete: '-' } as const;
  const lines: string[] = [];
  for (const change of plan.changes) {
    lines.push(`${sign[change.op]} ${change.op} ${change.kind} ${change.name}`);
    if (change.op === 'update')
      for (const f of change.fields) lines.push(`    ${f.field}: ${short(f.from)} -> ${short(f.to)}`);
  }
  const { create, update, delete: del } = plan.summary;
  lines.push(
    '',
    `Plan: ${create} to create, ${update} to update, ${del} to delete.`,
    `Plan hash: ${plan.hash}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Prints a configuration's problems as `file:line:column: message`, then fails. */
async function reportingProblems<T>(ctx: CommandContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const details = (error as { details?: { problems?: unknown } }).details;
    const problems =
      (error as { code?: string }).code === 'TESSERA_CONFIG_INVALID' ? details?.problems : undefined;
    if (!Array.isArray(problems)) throw error;
    if (ctx.json) ctx.printJson({ error: { code: 'TESSERA_CONFIG_INVALID', problems } });
    else {
      for (const p of problems as Array<{ file: string; line: number; column: number; message: string }>)
        ctx.note(`${p.file}:${p.line}:${p.column}: ${p.message}`);
      ctx.note(`${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was applied.`);
    }
    throw new CommandExit(EXIT_FAILURE);
  }
}

const plan: CommandSpec = {
  path: ['plan'],
  summary: 'Show what applying identity-as-code files would change (exit 2 when anything would)',
  positionals: '[PATH...]',
  details:
    'Exit status: 0 when the live configuration matches the files, 2 when it differs (drift), 1 on error. ' +
    'Give the printed plan hash to `tessera apply --plan-hash` so that what was reviewed is what runs.',
  options: FILES,
  examples: ['tessera plan -f identity/', 'tessera plan -f identity/ --json'],
  // 2 means "changes": a mistyped option must not read as drift.
  usageExitCode: EXIT_FAILURE,
  async run(ctx, args) {
    const files = await readFiles(args);
    const values = await referencedValues(files);
    const result = await reportingProblems(ctx, () =>
      ctx.withAdmin((t) => ctx.client.planConfig(t, files, values)),
    );
    ctx.emit(result, () => renderPlan(result));
    if (result.changes.length > 0) throw new CommandExit(EXIT_CHANGES);
  },
};

const apply: CommandSpec = {
  path: ['apply'],
  summary: 'Apply identity-as-code files in one transaction',
  positionals: '[PATH...]',
  details:
    'Nothing is applied when a file has a problem, when the plan deletes without --allow-delete, or ' +
    'when --plan-hash no longer matches. Access keys created here are shown once: write them with ' +
    '--credentials-out (mode 0600).',
  options: {
    ...FILES,
    'plan-hash': {
      type: 'string',
      placeholder: 'HASH',
      description: 'refuse unless the plan is still this one',
    },
    'allow-delete': { type: 'boolean', description: 'delete (retire) live objects the files leave out' },
    'credentials-out': {
      type: 'string',
      placeholder: 'FILE',
      description: 'write credentials generated for created objects here (JSON, mode 0600)',
    },
  },
  examples: [
    'tessera apply -f identity/ --plan-hash sha256:…',
    'tessera apply -f identity/ --allow-delete --credentials-out new-keys.json',
  ],
  async run(ctx, args) {
    const files = await readFiles(args);
    const planHash = args.str('plan-hash');
    const out = args.str('credentials-out');
    const values = await referencedValues(files);
    const body = {
      files,
      ...(values.length > 0 ? { values } : {}),
      ...(planHash ? { planHash } : {}),
      ...(args.bool('allow-delete') ? { allowDelete: true } : {}),
    };
    const result = await reportingProblems(ctx, () => ctx.withAdmin((t) => ctx.client.applyConfig(t, body)));
    if (out && result.issued.length > 0) {
      await writeFile(out, `${JSON.stringify(result.issued, null, 2)}\n`, { mode: 0o600 });
      await chmod(out, 0o600);
    }
    // Credentials go to the file, never to the output (CI logs keep it).
    const shown = { ...result, issued: result.issued.map(({ kind, name }) => ({ kind, name })) };
    ctx.emit(shown, () => {
      const { create, update, delete: del } = result.plan.summary;
      const lines = [
        `Applied: ${create} created, ${update} updated, ${del} deleted.`,
        `Plan hash: ${result.plan.hash}`,
      ];
      for (const i of result.issued)
        lines.push(
          out
            ? `Credential for ${i.kind} ${i.name} written to ${out}.`
            : `A credential was generated for ${i.kind} ${i.name} and not kept: give --credentials-out to keep it.`,
        );
      return `${lines.join('\n')}\n`;
    });
  },
};

/** Export file names, one per kind. */
const fileName = (key: string) => `${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}.yaml`;

const exportCommand: CommandSpec = {
  path: ['export'],
  summary: 'Write the live configuration as identity-as-code files',
  details:
    'Without --out prints one YAML document. Objects the server created for itself (the bootstrap ' +
    'administrator, built-in roles) are left out. Planning the export shows no change.',
  options: {
    out: { type: 'string', placeholder: 'DIR', description: 'write one file per kind into this directory' },
  },
  examples: ['tessera export > tessera.yaml', 'tessera export --out identity/'],
  async run(ctx, args) {
    const { document } = await ctx.withAdmin((t) => ctx.client.exportConfig(t));
    const dir = args.str('out');
    const header = '# yaml-language-server: $schema=https://tessera.dev/schemas/tessera-config.schema.json\n';
    if (!dir) {
      const { stringify } = await import('yaml'); // loaded only here: keeps the CLI's start-up light
      ctx.emit(document, () => header + stringify(document));
      return;
    }
    await mkdir(dir, { recursive: true });
    const written: string[] = [];
    for (const [key, list] of Object.entries(document)) {
      if (key === 'version') continue;
      const path = join(dir, fileName(key));
      await writeFile(path, header + (await import('yaml')).stringify({ version: 1, [key]: list }));
      written.push(relative('.', path) || path);
    }
    ctx.emit({ files: written }, () => `Wrote ${written.join(', ')}\n`);
  },
};

export const configCommands: readonly CommandSpec[] = [plan, apply, exportCommand];
