/**
 * Session manager: turns a long-lived credential (access key, or a UID token kept in a store) into
 * short-lived session tokens, caches and renews them, rotates the UID token safely and re-authenticates
 * once when the server rejects a session token.
 *
 * @packageDocumentation
 */

import type { TesseraClient } from './client.js';
import {
  isSessionTokenRejection,
  TesseraApiError,
  TesseraNetworkError,
  TesseraPersistError,
} from './errors.js';
import type {
  AuthResponse,
  RevokeUidTokenRequest,
  RevokeUidTokenResponse,
  UidChildIssued,
  UidTree,
  UidTreeQuery,
} from './wire.js';

/**
 * Where a UID token lives between runs. `save` must be durable when it resolves: the session calls it
 * before the new token is acknowledged or used, so a crash never loses the newest token.
 */
export interface UidTokenStore {
  /** Returns the current UID token `u-…`. */
  load(): Promise<string>;
  /** Durably replaces the current UID token. */
  save(token: string): Promise<void>;
}

/** A {@link UidTokenStore} in memory: for tests, or when the caller persists tokens itself. */
export class MemoryUidTokenStore implements UidTokenStore {
  #token: string;

  /** @param token - the initial UID token */
  constructor(token: string) {
    this.#token = token;
  }

  /** @inheritDoc */
  async load(): Promise<string> {
    return this.#token;
  }

  /** @inheritDoc */
  async save(token: string): Promise<void> {
    this.#token = token;
  }
}

/** A session token with its timing, in epoch milliseconds. */
export interface CachedSession {
  /** The session JWT (no `t-` prefix). */
  token: string;
  /** When the server says it expires. */
  expiresAtMs: number;
  /** When the session manager should get a new one. */
  renewAtMs: number;
}

/** Optional persistence of the session token between processes (e.g. a CLI cache file). */
export interface SessionCache {
  /** The cached session, if any. */
  load(): Promise<CachedSession | undefined>;
  /** Remember a new session. */
  save(session: CachedSession): Promise<void>;
  /** Forget the cached session. */
  clear(): Promise<void>;
}

/** The credential a {@link TesseraSession} exchanges for session tokens. */
export type SessionCredentials =
  | { accessType: 'access_key'; accessId: string; accessKey: string }
  | { accessType: 'universal_identity'; uidToken: string; accessId?: string }
  | { accessType: 'universal_identity'; uidTokenStore: UidTokenStore; accessId?: string };

/** Options of {@link TesseraSession}. */
export interface TesseraSessionOptions {
  /** The low-level client to call through. */
  client: TesseraClient;
  /** The long-lived credential. */
  credentials: SessionCredentials;
  /** Wall clock in epoch ms; default `Date.now`. */
  now?: () => number;
  /** Renew after this fraction of the session's life; default 0.8. */
  renewFraction?: number;
  /** Renew at least this many seconds before expiry; default 60. */
  renewBeforeSeconds?: number;
  /** Share the session token with other processes. */
  cache?: SessionCache;
}

/** Result of {@link TesseraSession.rotateUidToken}. The new token itself is in the store. */
export interface UidRotationResult {
  tokenId: string;
  authMethodId: string;
  expiresAt: string;
  ttlSeconds: number;
  /** True when a manual-ack rotation was acknowledged. */
  acknowledged: boolean;
}

/** Child settings for {@link TesseraSession.createChild}. Admin sessions also name the parent. */
export interface CreateChildOptions {
  ttlSeconds?: number;
  denyRotate?: boolean;
  denyInheritance?: boolean;
  comment?: string;
  authMethodId?: string;
  authMethodName?: string;
  parentTokenId?: string;
}

/** Serialises async sections (promise chain); no timers, no globals. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const MIN_USEFUL_LIFE_MS = 5_000;

/**
 * Session manager. `getToken()` is cheap when a fresh session is cached; concurrent callers share
 * one exchange. Every use of the UID token (exchange, rotate, child, tree, revoke) is serialised and
 * reads the token from the store, so a rotation never races with a use of the superseded token.
 */
export class TesseraSession {
  readonly #client: TesseraClient;
  readonly #credentials: SessionCredentials;
  readonly #store: UidTokenStore | undefined;
  readonly #now: () => number;
  readonly #renewFraction: number;
  readonly #renewBeforeMs: number;
  readonly #cache: SessionCache | undefined;
  readonly #uidLock = new Mutex();
  #session: CachedSession | undefined;
  #cacheLoaded = false;
  #inflight: Promise<CachedSession> | undefined;
  /** A rotated token that could not be saved: kept so this process keeps working. */
  #unsavedUidToken: string | undefined;

  /** @param options - see {@link TesseraSessionOptions} */
  constructor(options: TesseraSessionOptions) {
    this.#client = options.client;
    this.#credentials = options.credentials;
    const creds = options.credentials;
    if (creds.accessType === 'universal_identity') {
      this.#store = 'uidTokenStore' in creds ? creds.uidTokenStore : new MemoryUidTokenStore(creds.uidToken);
    }
    this.#now = options.now ?? Date.now;
    this.#renewFraction = options.renewFraction ?? 0.8;
    this.#renewBeforeMs = (options.renewBeforeSeconds ?? 60) * 1000;
    this.#cache = options.cache;
    this.#cacheLoaded = !options.cache;
  }

  /** The low-level client this session calls through. */
  get client(): TesseraClient {
    return this.#client;
  }

  /**
   * A valid session token (bare JWT). Exchanges the credential when none is cached or the cached one
   * is due for renewal. If renewal fails for a transient reason while the old token is still valid,
   * the old token is returned.
   */
  async getToken(): Promise<string> {
    const cached = this.#session;
    if (cached && this.#now() < cached.renewAtMs) return cached.token;
    try {
      return (await this.#singleFlight()).token;
    } catch (err) {
      const still = this.#session;
      if (still && isTransient(err) && still.expiresAtMs - this.#now() > MIN_USEFUL_LIFE_MS)
        return still.token;
      throw err;
    }
  }

  /**
   * Forget the cached session so the next {@link getToken} exchanges again.
   *
   * @param token - only forget it if it is still this token (another caller may have renewed already)
   */
  async invalidate(token?: string): Promise<void> {
    if (token !== undefined && this.#session && this.#session.token !== token) return;
    this.#session = undefined;
    this.#cacheLoaded = true;
    await this.#cache?.clear();
  }

  /**
   * Runs `fn` with a session token; if the server rejects it with 401 `TESSERA_TOKEN_*`, drops the
   * session, re-authenticates and runs `fn` once more.
   */
  async withToken<T>(fn: (token: string) => Promise<T>): Promise<T> {
    const token = await this.getToken();
    try {
      return await fn(token);
    } catch (err) {
      if (!isSessionTokenRejection(err)) throw err;
      await this.invalidate(token);
      return fn(await this.getToken());
    }
  }

  /**
   * Rotates the UID token: calls rotate, saves the new token through the store, and only then
   * acknowledges it (`manualAck`) or lets the next exchange be its first use. If the store cannot
   * save it: with `manualAck` nothing is acknowledged and the old token stays current; without it,
   * the new token is kept in memory for this session and a {@link TesseraPersistError} is thrown.
   */
  async rotateUidToken(options: { manualAck?: boolean } = {}): Promise<UidRotationResult> {
    const store = this.#requireStore('rotateUidToken');
    const manualAck = options.manualAck === true;
    return this.#uidLock.run(async () => {
      const oldToken = await this.#currentUidToken(store);
      const rotated = await this.#client.rotateUidToken(oldToken, manualAck ? { manualAck: true } : {});
      try {
        await store.save(rotated.token);
      } catch (err) {
        if (!manualAck) this.#unsavedUidToken = rotated.token;
        throw new TesseraPersistError(
          manualAck
            ? 'The rotated UID token could not be saved; it was not acknowledged and the old token stays current.'
            : 'The rotated UID token could not be saved; this session keeps it in memory only.',
          err,
        );
      }
      this.#unsavedUidToken = undefined;
      let acknowledged = false;
      if (manualAck) {
        await this.#client.ackUidRotation(oldToken, rotated.token);
        acknowledged = true;
      }
      return {
        tokenId: rotated.tokenId,
        authMethodId: rotated.authMethodId,
        expiresAt: rotated.expiresAt,
        ttlSeconds: rotated.ttlSeconds,
        acknowledged,
      };
    });
  }

  /**
   * Creates a child UID token: below the session's own UID node (UID credentials), or, for an
   * access-key session, below `parentTokenId` of the named auth method.
   */
  createChild(options: CreateChildOptions = {}): Promise<UidChildIssued> {
    if (this.#store) {
      const store = this.#store;
      const { authMethodId: _a, authMethodName: _n, parentTokenId: _p, ...own } = options;
      return this.#uidLock.run(async () =>
        this.#client.createUidChild(await this.#currentUidToken(store), own),
      );
    }
    return this.withToken((token) => this.#client.createUidChild(token, options));
  }

  /** The UID tree: the holder's subtree (UID credentials) or the tree named by `query` (admin). */
  listTree(query: UidTreeQuery = {}): Promise<UidTree> {
    if (this.#store) {
      const store = this.#store;
      return this.#uidLock.run(async () => this.#client.getUidTree(await this.#currentUidToken(store)));
    }
    return this.withToken((token) => this.#client.getUidTree(token, query));
  }

  /** Revokes a UID node (`self`) or subtree (`all`): within the holder's subtree, or as admin. */
  revoke(request: RevokeUidTokenRequest): Promise<RevokeUidTokenResponse> {
    if (this.#store) {
      const store = this.#store;
      return this.#uidLock.run(async () =>
        this.#client.revokeUidToken(await this.#currentUidToken(store), request),
      );
    }
    return this.withToken((token) => this.#client.revokeUidToken(token, request));
  }

  // ------------------------------------------------------------------ internals

  #singleFlight(): Promise<CachedSession> {
    if (!this.#inflight) {
      this.#inflight = this.#refresh().finally(() => {
        this.#inflight = undefined;
      });
    }
    return this.#inflight;
  }

  async #refresh(): Promise<CachedSession> {
    if (!this.#cacheLoaded && this.#cache) {
      this.#cacheLoaded = true;
      const fromCache = await this.#cache.load();
      if (fromCache && this.#now() < fromCache.renewAtMs) {
        this.#session = fromCache;
        return fromCache;
      }
    }
    const sentAt = this.#now();
    const answer = await this.#exchange();
    const session = this.#toCached(answer, sentAt);
    this.#session = session;
    await this.#cache?.save(session);
    return session;
  }

  async #exchange(): Promise<AuthResponse> {
    const creds = this.#credentials;
    if (creds.accessType === 'access_key') {
      return this.#client.auth({
        accessType: 'access_key',
        accessId: creds.accessId,
        accessKey: creds.accessKey,
      });
    }
    const store = this.#requireStore('getToken');
    return this.#uidLock.run(async () => {
      const uidToken = await this.#currentUidToken(store);
      return this.#client.auth({
        accessType: 'universal_identity',
        uidToken,
        ...(creds.accessId ? { accessId: creds.accessId } : {}),
      });
    });
  }

  /** Timing is taken from `expiresIn` and the local send time, so clock skew with the server is harmless. */
  #toCached(answer: AuthResponse, sentAt: number): CachedSession {
    const lifeMs = Math.max(0, answer.expiresIn * 1000);
    const expiresAtMs = sentAt + lifeMs;
    const byFraction = lifeMs * this.#renewFraction;
    const byMargin = lifeMs - this.#renewBeforeMs;
    // Whichever comes first, but never sooner than half the life (very short sessions).
    const renewInMs = Math.max(Math.min(byFraction, byMargin), lifeMs / 2);
    return { token: answer.token, expiresAtMs, renewAtMs: sentAt + renewInMs };
  }

  async #currentUidToken(store: UidTokenStore): Promise<string> {
    return this.#unsavedUidToken ?? (await store.load());
  }

  #requireStore(operation: string): UidTokenStore {
    if (!this.#store) {
      throw new TypeError(`${operation} needs universal_identity credentials`);
    }
    return this.#store;
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof TesseraNetworkError) return true;
  return err instanceof TesseraApiError && (err.status === 429 || err.status >= 500);
}
