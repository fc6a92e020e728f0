/**
 * `tessera uid-rotate-token`: rotate a UID token. With `--token-file` the new token is written back
 * atomically (same form, mode 0600) BEFORE it is acknowledged or first used, through the SDK's
 * session manager; a crash at any point leaves a file holding a token that works.
 */

import { TesseraPersistError, TesseraSession } from '@tessera/sdk';
import type { CommandSpec } from './cli.context.js';
import { CliError, UsageError } from './cli.errors.js';
import { formatDuration, formatTime } from './output.format.js';
import { DEFAULT_TOKEN_KEY, FileUidTokenStore } from './token-file.store.js';

const rotate: CommandSpec = {
  path: ['uid-rotate-token'],
  summary: 'Rotate a UID token: new secret for the same node, TTL reset, children untouched',
  details:
    'Readable output is `ROTATED TOKEN: [u-…]` on stdout. With --token-file FILE the current token is read ' +
    'from FILE (the raw token, or a UID_TOKEN=… line) and the new one is written back atomically before it ' +
    'is used; only a confirmation is printed. --manual-ack asks the server to keep the old token valid until ' +
    'the new one is acknowledged: with --token-file the CLI acknowledges after saving; without it, send the ' +
    'acknowledgement yourself with --send-manual-ack-token once the new token is stored.',
  options: {
    'uid-token': {
      type: 'string',
      placeholder: 'u-…',
      description: 'the token to rotate (also --uid_token)',
    },
    'token-file': {
      type: 'string',
      placeholder: 'FILE',
      description: 'read the token from FILE and write the new one back',
    },
    'token-key': {
      type: 'string',
      placeholder: 'KEY',
      description: `key of the token line in key=value files (default ${DEFAULT_TOKEN_KEY})`,
    },
    'manual-ack': {
      type: 'boolean',
      description: 'keep the old token valid until the new one is acknowledged',
    },
    'send-manual-ack-token': {
      type: 'string',
      placeholder: 'u-…',
      description: 'acknowledge a manual-ack rotation: the NEW token (with --uid-token = the old one)',
    },
  },
  examples: [
    'tessera uid-rotate-token --uid-token "$CURRENT_TOKEN"',
    'NEW_TOKEN=$(tessera uid-rotate-token --uid-token "$T" | grep -E "(ROTATED TOKEN|Token):" | sed \'s/.*\\[//\' | sed \'s/\\].*//\')',
    'tessera uid-rotate-token --token-file /secure/tessera-token',
    'tessera uid-rotate-token --token-file ./tokens/demo-tokens --manual-ack',
  ],
  async run(ctx, args) {
    const uidToken = args.str('uid-token');
    const tokenFile = args.str('token-file');
    const ackToken = args.str('send-manual-ack-token');
    const manualAck = args.bool('manual-ack');

    if (ackToken !== undefined) {
      if (!uidToken) throw new UsageError('--send-manual-ack-token needs --uid-token (the old token)');
      if (tokenFile || manualAck)
        throw new UsageError('--send-manual-ack-token is used alone with --uid-token');
      const answer = await ctx.client.ackUidRotation(uidToken, ackToken);
      ctx.emit(answer, () => `Rotation of ${answer.tokenId} acknowledged; the old token no longer works.\n`);
      return;
    }

    if (tokenFile) {
      const key = args.str('token-key');
      const store = new FileUidTokenStore(tokenFile, {
        ...(key ? { key } : {}),
        ...(uidToken ? { initialToken: uidToken } : {}),
      });
      const session = new TesseraSession({
        client: ctx.client,
        credentials: { accessType: 'universal_identity', uidTokenStore: store },
      });
      const result = await session.rotateUidToken({ manualAck }).catch((err: unknown) => {
        if (!(err instanceof TesseraPersistError)) throw err;
        // The new token exists only in this process, which is about to exit: say what still works.
        const cause = (err.cause as NodeJS.ErrnoException | undefined)?.code;
        throw new CliError(
          err.code,
          `the rotated token could not be written to ${tokenFile}${cause ? ` (${cause})` : ''}; ` +
            `${manualAck ? 'it was not acknowledged, and ' : ''}the file still holds the old token`,
        );
      });
      ctx.emit({ ...result, tokenFile }, () => {
        const ack = manualAck ? ' and acknowledged' : '';
        return (
          `Token rotated; the new token was written to ${tokenFile}${ack}.\n` +
          `Token id ${result.tokenId}, TTL ${formatDuration(result.ttlSeconds)}, ` +
          `expires ${formatTime(result.expiresAt, ctx.now())}.\n`
        );
      });
      return;
    }

    if (!uidToken) throw new UsageError('--uid-token (or --token-file) is required');
    const rotated = await ctx.client.rotateUidToken(uidToken, manualAck ? { manualAck: true } : {});
    if (ctx.json) {
      ctx.printJson(rotated);
      return;
    }
    ctx.out(`ROTATED TOKEN: [${rotated.token}]\n`);
    ctx.note(
      `Token id ${rotated.tokenId}, TTL ${formatDuration(rotated.ttlSeconds)}, ` +
        `expires ${formatTime(rotated.expiresAt, ctx.now())}.`,
    );
    if (rotated.pendingAck) {
      ctx.note(
        'Not acknowledged yet: store the new token, then run ' +
          '`tessera uid-rotate-token --uid-token <old token> --send-manual-ack-token <new token>`.',
      );
    } else {
      ctx.note('Store the new token now: the old one stops working once the new one is used.');
    }
  },
};

/** `uid-rotate-token`. */
export const uidRotateCommands: readonly CommandSpec[] = [rotate];
