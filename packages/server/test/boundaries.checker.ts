import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * The architecture's boundaries (DESIGN §4, issue 11), checked on the syntax tree of each source
 * file (comments and strings never count):
 * - `core`: packages/server/src/core has no I/O: no HTTP, SQL or Node module imports, no
 *   `process.env`, no wall clock (`Date.now`, `new Date()` without arguments, `performance.now`);
 * - `crypto`: only packages/server/src/crypto imports crypto primitives (`node:crypto`, `crypto`, `jose`);
 * - `env`: only packages/server/src/config (and the CLI, for its own settings) reads `process.env`;
 * - `sdk`: packages/sdk/src imports no `node:` module (it runs in browsers and edge runtimes too).
 */
export type Rule = 'core' | 'crypto' | 'env' | 'sdk';

export interface Violation {
  /** Path from the repository root, with `/`. */
  file: string;
  line: number;
  rule: Rule;
  what: string;
}

/** What core/ must not import: HTTP, SQL and other I/O clients. */
const CORE_FORBIDDEN_PACKAGES = [
  'fastify',
  '@fastify/',
  'kysely',
  'pg',
  'better-sqlite3',
  'mysql2',
  'redis',
  'undici',
  'ws',
];
const CRYPTO_MODULES = ['node:crypto', 'crypto', 'jose'];
/** Node's built-in modules, also when imported without the `node:` prefix (`fs`, `path/posix`). */
const NODE_BUILTINS = new Set(builtinModules);

const isPackage = (specifier: string, name: string) =>
  name.endsWith('/') ? specifier.startsWith(name) : specifier === name || specifier.startsWith(`${name}/`);
const isNodeBuiltin = (specifier: string) =>
  specifier.startsWith('node:') ||
  NODE_BUILTINS.has(specifier) ||
  NODE_BUILTINS.has(specifier.split('/')[0]!);

function rulesFor(file: string): { core: boolean; crypto: boolean; env: boolean; sdk: boolean } {
  return {
    core: file.startsWith('packages/server/src/core/'),
    crypto: !file.startsWith('packages/server/src/crypto/'),
    env: !file.startsWith('packages/server/src/config/') && !file.startsWith('packages/cli/'),
    sdk: file.startsWith('packages/sdk/src/'),
  };
}

/** Every module a file imports, re-exports, `import()`s or `require`s, with its line. */
function imports(source: ts.SourceFile): Array<{ specifier: string; node: ts.Node }> {
  const found: Array<{ specifier: string; node: ts.Node }> = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      found.push({ specifier: node.moduleSpecifier.text, node });
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      if (ts.isStringLiteral(e)) found.push({ specifier: e.text, node });
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    )
      found.push({ specifier: node.arguments[0].text, node });
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push({ specifier: literal.text, node });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `a.b` where `a` and `b` are the given names (`process.env`, `Date.now`, `globalThis.process`…). */
function isAccess(node: ts.Node, object: string, property: string): boolean {
  if (!ts.isPropertyAccessExpression(node) && !ts.isElementAccessExpression(node)) return false;
  const name = ts.isPropertyAccessExpression(node)
    ? node.name.text
    : ts.isStringLiteralLike(node.argumentExpression)
      ? node.argumentExpression.text
      : null;
  if (name !== property) return false;
  const target = node.expression;
  if (ts.isIdentifier(target)) return target.text === object;
  // globalThis.process.env, globalThis.Date.now
  return isAccess(target, 'globalThis', object);
}

/** The violations in one file; `file` is its path from the repository root. */
export function checkSource(file: string, text: string): Violation[] {
  const rules = rulesFor(file);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Violation[] = [];
  const add = (node: ts.Node, rule: Rule, what: string) =>
    out.push({ file, rule, what, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });

  for (const { specifier, node } of imports(source)) {
    if (rules.core) {
      if (isNodeBuiltin(specifier)) add(node, 'core', `imports ${specifier}`);
      else if (CORE_FORBIDDEN_PACKAGES.some((p) => isPackage(specifier, p)))
        add(node, 'core', `imports ${specifier}`);
    }
    if (rules.crypto && CRYPTO_MODULES.some((m) => isPackage(specifier, m)))
      add(node, 'crypto', `imports ${specifier}`);
    if (rules.sdk && specifier.startsWith('node:')) add(node, 'sdk', `imports ${specifier}`);
  }
  const visit = (node: ts.Node) => {
    if (isAccess(node, 'process', 'env')) {
      if (rules.env) add(node, 'env', 'reads process.env');
      if (rules.core) add(node, 'core', 'reads process.env');
    }
    if (rules.core) {
      if (isAccess(node, 'Date', 'now')) add(node, 'core', 'reads the wall clock (Date.now)');
      if (isAccess(node, 'performance', 'now')) add(node, 'core', 'reads the wall clock (performance.now)');
      if (
        ts.isNewExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'Date' &&
        (node.arguments?.length ?? 0) === 0
      )
        add(node, 'core', 'reads the wall clock (new Date())');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Source files under `dirs` (from `root`): `.ts` files, without tests, declarations or build output. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        /\.(ts|mts|cts|js|mjs)$/.test(entry.name) &&
        !/\.d\.ts$/.test(entry.name) &&
        !/\.test\.ts$/.test(entry.name)
      )
        files.push(relative(root, path).split(sep).join('/'));
    }
  };
  for (const d of dirs) walk(join(root, d));
  return files.sort();
}

/** Checks every source file of the repository at `root`. */
export function checkRepository(root: string): Violation[] {
  const files = sourceFiles(root, ['packages/server/src', 'packages/sdk/src', 'packages/cli/src']);
  return files.flatMap((f) => checkSource(f, readFileSync(join(root, f), 'utf8')));
}
