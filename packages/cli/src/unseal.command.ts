/**
 * `tessera unseal`: gives one root-key share to a sealed server (ADR 0012). The share is read from a
 * file or from standard input, never from the command line, where it would land in the shell history.
 */

import { readFile } from 'node:fs/promises';
import type { SealStatus } from '@tessera/sdk';
import type { CommandContext, CommandSpec } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';

async function readShare(ctx: CommandContext, share: string | undefined, file: string | undefined) {
  if (share !== undefined && file !== undefined)
    throw new UsageError('give --share - or --share-file, not both');
  if (share !== undefined && share !== '-')
    throw new UsageError(
      'a key share on the command line lands in the shell history: use --share - (standard input) or --share-file FILE',
    );
  if (share === undefined && file === undefined)
    throw new UsageError('give the key share with --share-file FILE or --share - (standard input)');
  const text = share === '-' ? await ctx.io.readStdin() : await readFile(file as string, 'utf8');
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length !== 1)
    throw new UsageError(
      `expected one key share, found ${lines.length} non-empty lines: one share per person`,
    );
  return lines[0] as string;
}

/** Waits (up to `timeoutMs`) for the server to answer as unsealed after the last share. */
async function waitUntilServing(ctx: CommandContext, timeoutMs = 30_000): Promise<boolean> {
  const end = ctx.now() + timeoutMs;
  while (ctx.now() < end) {
    const status = await ctx.client.sealStatus().catch(() => null);
    if (status && !status.sealed) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const unseal: CommandSpec = {
  path: ['unseal'],
  summary: 'Give one root-key share to a sealed server (see `tessera root-key split`)',
  details:
    'A server without its root key starts sealed and serves nothing until enough holders of key shares ' +
    'have each run this command. It prints how many shares are in (e.g. 2 of 3). Shares are held in the ' +
    "server's memory only; a share of another key is refused; shares that rebuild a key which does not " +
    'open the store reset the progress. Without a share option it shows the seal status.',
  options: {
    'share-file': { type: 'string', placeholder: 'FILE', description: 'a file holding your key share' },
    share: { type: 'string', placeholder: '-', description: '- to read your key share from standard input' },
  },
  examples: [
    'tessera unseal --url https://tessera.internal:8377 --share-file ~/tessera-share.txt',
    'pass show tessera/share | tessera unseal --url https://tessera.internal:8377 --share -',
    'tessera unseal --url https://tessera.internal:8377',
  ],
  async run(ctx, args) {
    const shareFlag = args.str('share');
    const file = args.str('share-file');
    if (shareFlag === undefined && file === undefined) {
      const status = await ctx.client.sealStatus();
      ctx.emit(status, () =>
        status.sealed
          ? `Sealed: ${status.progress} of ${status.threshold ?? '?'} key shares given (root key ${status.keyId ?? '?'}).\n`
          : 'Not sealed: the server is running.\n',
      );
      return;
    }
    const share = await readShare(ctx, shareFlag, file);
    const before = await ctx.client.sealStatus();
    if (!before.sealed) {
      ctx.emit(before, () => 'Not sealed: the server is already running.\n');
      return;
    }
    const status: SealStatus = await ctx.client.unseal(share);
    if (status.sealed) {
      const missing = (status.threshold ?? 0) - status.progress;
      ctx.emit(
        status,
        () =>
          `Key share accepted: ${status.progress} of ${status.threshold} (${missing} more needed). Still sealed.\n`,
      );
      return;
    }
    const serving = await waitUntilServing(ctx);
    if (!serving)
      throw new CliError(
        'TESSERA_UNAVAILABLE',
        'the key was rebuilt but the server did not come up within 30 s',
        "check the server's log",
      );
    ctx.emit(
      status,
      () =>
        `Key share accepted: ${status.progress} of ${status.threshold}. Unsealed: the server is running.\n`,
    );
  },
};

/** `unseal`. */
export const unsealCommands: readonly CommandSpec[] = [unseal];
