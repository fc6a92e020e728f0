import Fastify, { type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { FailureLimiter } from '../core/auth/failure-limiter.js';
import { ErrorCodes, TesseraError } from '../core/shared/errors.js';
import type { Clock } from '../core/shared/platform.port.js';
import type { RootKey } from '../crypto/envelope.js';
import { rootKeyFromMaterial } from '../crypto/root-key.js';
import { checkCompatible, combine, type KeyShare, parseShare, ShareError } from '../crypto/shamir.js';
import { STATUS_BY_CODE } from '../http/error-mapper.js';

/**
 * The sealed listener (ADR 0012): what answers on the server's address while it waits for root-key
 * shares. It knows nothing but the ids of the root key the store is sealed under; it holds the shares
 * given so far in memory only, never logs or returns them, and hands the rebuilt key over once it
 * opens the store. Everything but health, seal status and unseal answers 503 `TESSERA_SEALED`.
 */
export interface SealedServerOptions {
  /** Serve HTTPS (the key shares never travel in clear when the server is configured for TLS). */
  tls?: { cert: string; key: string } | null;
  host: string;
  port: number;
  /** Ids of the root key(s) the store's sealed rows name (normally one). */
  storeKeyIds: ReadonlySet<string>;
  /** Throws when `key` does not open the store (`assertRootKeyMatches`). */
  verifyKey(key: RootKey): Promise<void>;
  logger: FastifyServerOptions['logger'];
  trustProxy: boolean;
  version: string;
  clock: Clock;
  /** Unseal attempts allowed per source address per minute; default 20. */
  attemptsPerMinute?: number;
}

export interface SealedServer {
  url: string;
  /** The port actually bound (the normal server takes it over). */
  port: number;
  /** Resolves with the root key once enough shares rebuilt a key that opens the store. */
  unsealed: Promise<RootKey>;
  close(): Promise<void>;
}

interface SealStatus {
  sealed: boolean;
  threshold: number | null;
  progress: number;
  keyId: string | null;
}

const SEALED_MESSAGE =
  'Tessera is sealed: it waits for root-key shares (`tessera unseal`, POST /v1/sys/unseal) before it serves requests.';

const ShareBody = {
  type: 'object',
  additionalProperties: false,
  required: ['share'],
  properties: { share: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

const PROBLEM_MESSAGES: Record<ShareError['problem'], string> = {
  malformed: 'That is not a valid Tessera key share (truncated or altered?).',
  checksum: 'The key share fails its checksum: check it for a typo.',
  mixed: 'The key share belongs to another root key or another split of it.',
  duplicate: 'That key share was already given.',
  'too-few': 'More key shares are needed.',
  mismatch: 'The key shares do not rebuild the root key.',
};

function sendError(reply: FastifyReply, request: FastifyRequest, error: TesseraError) {
  if (error.code === ErrorCodes.RATE_LIMITED) reply.header('retry-after', '60');
  return reply.status(STATUS_BY_CODE[error.code]).send({
    error: { code: error.code, message: error.message, requestId: request.id },
  });
}

/** Starts the sealed listener on `host:port`. */
export async function startSealedServer(options: SealedServerOptions): Promise<SealedServer> {
  const limiter = new FailureLimiter(options.clock, options.attemptsPerMinute ?? 20, 60_000);
  const expected = [...options.storeKeyIds];
  const storeKeyId = expected.length === 1 ? (expected[0] ?? null) : null;
  let shares: KeyShare[] = [];
  let unsealedKey: RootKey | null = null;
  /** Set by the request that reached the threshold; its response's end hands the key over. */
  let handOver = false;
  let queue: Promise<unknown> = Promise.resolve();
  let resolveUnsealed!: (key: RootKey) => void;
  let rejectUnsealed!: (error: Error) => void;
  const unsealed = new Promise<RootKey>((resolve, reject) => {
    resolveUnsealed = resolve;
    rejectUnsealed = reject;
  });
  // The caller may close before anyone unseals: that rejection is expected, not unhandled.
  unsealed.catch(() => {});

  const status = (): SealStatus => ({
    sealed: unsealedKey === null,
    threshold: shares[0]?.threshold ?? null,
    progress: unsealedKey ? (shares[0]?.threshold ?? 0) : shares.length,
    keyId: storeKeyId ?? shares[0]?.keyId ?? null,
  });
  const forget = () => {
    for (const s of shares) s.values.fill(0);
    shares = [];
  };

  let sequence = 0;
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    logger: options.logger ?? false,
    trustProxy: options.trustProxy,
    bodyLimit: 4096,
    // Unknown body fields are refused (400), as on the native API, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    genReqId: () => `req-sealed-${++sequence}`,
    connectionTimeout: 10_000,
    requestTimeout: 10_000,
  });
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof TesseraError) return sendError(reply, request, error);
    const e = error as { statusCode?: number; code?: string };
    // Fastify's own refusals (bad JSON, schema, size): a 4xx with a stable code, never the body.
    const code =
      e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? ErrorCodes.PAYLOAD_TOO_LARGE
        : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? ErrorCodes.UNSUPPORTED_MEDIA_TYPE
          : (e.statusCode ?? 500) < 500
            ? ErrorCodes.VALIDATION_FAILED
            : ErrorCodes.INTERNAL;
    if (code === ErrorCodes.INTERNAL) request.log.error({ code: e.code }, 'sealed listener: request failed');
    const message =
      code === ErrorCodes.VALIDATION_FAILED
        ? 'The body must be {"share": "tessera-share-…"}.'
        : 'Request refused.';
    return sendError(reply, request, new TesseraError(code, message));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, new TesseraError(ErrorCodes.SEALED, SEALED_MESSAGE)),
  );

  app.get('/healthz', async () => ({ status: 'ok', sealed: true, version: options.version }));
  app.get('/readyz', (request, reply) =>
    sendError(reply, request, new TesseraError(ErrorCodes.SEALED, SEALED_MESSAGE)),
  );
  app.get('/v1/sys/seal-status', async () => status());

  /** One share: checked alone, then against those given so far; combined at the threshold. */
  async function submit(text: string, request: FastifyRequest): Promise<SealStatus> {
    if (unsealedKey) return status();
    let share: KeyShare;
    try {
      share = parseShare(text);
      if (!options.storeKeyIds.has(share.keyId))
        throw new ShareError('mixed', 'the key share belongs to another root key');
      checkCompatible(shares, share);
    } catch (error) {
      if (!(error instanceof ShareError)) throw error;
      request.log.warn({ problem: error.problem, progress: shares.length }, 'unseal: key share refused');
      throw new TesseraError(ErrorCodes.UNSEAL_SHARE_INVALID, PROBLEM_MESSAGES[error.problem]);
    }
    shares.push(share);
    request.log.info(
      { index: share.index, progress: shares.length, threshold: share.threshold },
      'unseal: key share accepted',
    );
    if (shares.length < share.threshold) return status();
    let key: RootKey;
    try {
      const material = combine(shares);
      key = rootKeyFromMaterial(material);
      material.fill(0);
      await options.verifyKey(key);
    } catch (error) {
      forget();
      // No audit: the ledger is not open while sealed. The log says what happened, never a share.
      request.log.error(
        { problem: error instanceof ShareError ? error.problem : 'store-mismatch' },
        'unseal: the key shares rebuilt a key that does not open the store; progress reset',
      );
      throw new TesseraError(
        ErrorCodes.UNSEAL_KEY_MISMATCH,
        'The key shares do not rebuild the key this store is sealed under. Progress was reset: start again.',
      );
    }
    unsealedKey = key;
    const answer = status();
    forget();
    request.log.info({ keyId: key.id }, 'unseal: threshold reached, the root key opens the store');
    return answer;
  }

  app.post('/v1/sys/unseal', { schema: { body: ShareBody } }, async (request, reply) => {
    const source = request.ip;
    if (limiter.isBlocked(source))
      throw new TesseraError(ErrorCodes.RATE_LIMITED, 'Too many unseal attempts: wait a minute.');
    limiter.recordFailure(source);
    const { share } = request.body as { share: string };
    const run = queue.then(() => submit(share, request));
    queue = run.catch(() => {});
    const answer = await run;
    if (!answer.sealed) handOver = true;
    return reply.send(answer);
  });
  // No keep-alive: the sealed listener gives way to the normal server, and a client must not be left
  // holding a connection to it.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('connection', 'close');
  });
  // Hand the key over once the answer that reached the threshold has been sent.
  app.addHook('onResponse', async () => {
    if (handOver && unsealedKey) resolveUnsealed(unsealedKey);
  });

  const url = await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  app.log.warn(
    { url, keyId: storeKeyId },
    'tessera is sealed: submit root-key shares with `tessera unseal` to start it',
  );
  return {
    url,
    port,
    unsealed,
    async close() {
      forget();
      rejectUnsealed(new Error('the sealed server was closed before it was unsealed'));
      await app.close();
    },
  };
}
