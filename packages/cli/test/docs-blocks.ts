import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The fenced code blocks of the user documentation (README.md and docs/**\/*.md), for the test that
 * runs every documented command (docs-commands.e2e.test.ts).
 *
 * A block that cannot run in a test says so, visibly, on the line before its fence:
 *
 *     <!-- docs-test: skip the server runs until Ctrl-C -->
 *     ```bash
 *     npm start
 *     ```
 *
 * The reason is required. Blank lines may separate the marker from the fence.
 */
export type Runner = 'bash' | 'node' | 'python';

export interface DocBlock {
  /** Path relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  runner: Runner | null;
  code: string;
  /** Why the block is not run (from its marker), or null. */
  skip: string | null;
}

const RUNNERS: Record<string, Runner> = {
  bash: 'bash',
  sh: 'bash',
  shell: 'bash',
  js: 'node',
  javascript: 'node',
  mjs: 'node',
  python: 'python',
  py: 'python',
};

const MARKER = /^<!--\s*docs-test:\s*(\S+)(.*?)-->\s*$/;

/** README.md first, then docs/ (depth-first, sorted by name). */
export function docFiles(root: string): string[] {
  const out = [join(root, 'README.md')];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) out.push(path);
    }
  };
  walk(join(root, 'docs'));
  return out;
}

export function extractBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  let pendingSkip: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const marker = MARKER.exec(text.trim());
    if (marker) {
      if (marker[1] !== 'skip') throw new Error(`${file}:${i + 1}: unknown docs-test marker "${marker[1]}"`);
      const reason = marker[2]!.trim();
      if (!reason) throw new Error(`${file}:${i + 1}: a docs-test skip marker needs a reason`);
      pendingSkip = reason;
      continue;
    }
    const fence = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(text);
    if (!fence) {
      if (text.trim() !== '') pendingSkip = null; // a marker applies to the very next block only
      continue;
    }
    const [, indent, ticks, lang] = fence;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(ticks!)) {
      body.push(lines[j]!.startsWith(indent!) ? lines[j]!.slice(indent!.length) : lines[j]!);
      j++;
    }
    if (j >= lines.length) throw new Error(`${file}:${i + 1}: unterminated code block`);
    const language = (lang ?? '').toLowerCase();
    blocks.push({
      file,
      line: i + 1,
      lang: language,
      runner: RUNNERS[language] ?? null,
      code: `${body.join('\n')}\n`,
      skip: pendingSkip,
    });
    pendingSkip = null;
    i = j;
  }
  return blocks;
}

/** Every block of every documentation file, in reading order. */
export function allDocBlocks(root: string): DocBlock[] {
  return docFiles(root).flatMap((path) => extractBlocks(readFileSync(path, 'utf8'), relative(root, path)));
}
