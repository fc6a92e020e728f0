/**
 * The agent's core: one {@link AgentCore.cycle} is an ordered list of small steps — ensure a session,
 * learn the UID token's expiry, rotate it when due, render templates when due. Everything it touches
 * comes in as a dependency (client, token store, clock, randomness, files, log), so tests drive it
 * with a fake server and a fake clock. The scheduling loop around it is in `agent.loop.ts`.
 *
 * Crash safety (DESIGN §2, ADR 0002): rotations ask for manual acknowledgement, and the SDK saves
 * the new token through the store (temp file, fsync, rename) BEFORE acknowledging it. A crash before
 * the save leaves the old token fully valid (a manual-ack successor does not restrict it); a crash
 * after the save leaves the new token in the file, and its first use promotes it. A token whose
 * automatic-mode rotation is pending (e.g. from a crashed `uid-rotate-token`) is refused for anything
 * but a retry of that rotation, so on a refusal the core retries the rotation once before giving up.
 */

import {
  type CachedSession,
  type SessionCache,
  TesseraApiError,
  type TesseraClient,
  TesseraNetworkError,
  TesseraPersistError,
  TesseraSession,
  type UidTokenStore,
} from '@tessera/sdk';
import { type CertificateSettings, CertKeeper } from './agent.certs.js';
import type { TemplateSettings } from './agent.config.js';
import { LeaseKeeper } from './agent.leases.js';
import type { AgentLog } from './agent.log.js';
import { type ParsedTemplate, parseTemplate, renderTemplate } from './agent.template.js';

/** File access the core needs. */
export interface AgentFiles {
  /** The file's text, or undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Atomic replacement, mode 0600, durable when it resolves. */
  writeAtomic(path: string, content: string): Promise<void>;
}

/** Dependencies of {@link AgentCore}. */
export interface AgentCoreDeps {
  client: TesseraClient;
  store: UidTokenStore;
  files: AgentFiles;
  log: AgentLog;
  /** Wall clock, epoch ms. */
  now(): number;
  /** Uniform in [0, 1): jitter. */
  random(): number;
  /** For `{{ env "VAR" }}`. */
  env: Readonly<Record<string, string | undefined>>;
}

/** What the core needs from the settings. */
export interface AgentCoreOptions {
  uidTokenFile: string;
  /** The auth method's access id, sent with every exchange (the server refuses a token of another). */
  authMethod?: string;
  sessionTokenFile?: string;
  rotateAtFraction: number;
  renderIntervalSeconds: number;
  templates: LoadedTemplate[];
  /** Grace before a replaced lease is revoked (default 60 s). */
  leaseRevokeGraceSeconds?: number;
  /** A certificate kept renewed (issue 13), with the key/CSR maker from `@tessera/server/x509`. */
  certificate?: {
    settings: CertificateSettings;
    newKeyAndCsr(commonName?: string): Promise<{ keyPem: string; csrPem: string }>;
    signal(pid: number): void;
  };
}

/** A template ready to render. */
export interface LoadedTemplate {
  destination: string;
  parsed: ParsedTemplate;
}

/** What `GET /healthz` shows. Times are ISO UTC; nothing secret. */
export interface AgentState {
  status: 'starting' | 'ok' | 'degraded' | 'fatal' | 'stopped';
  uidTokenId: string | null;
  uidTokenExpiresAt: string | null;
  nextRotationAt: string | null;
  lastRotationAt: string | null;
  sessionExpiresAt: string | null;
  lastRenderAt: string | null;
  renderedFiles: number;
  /** Leases held on dynamic secrets (no credential). */
  leases: { name: string; leaseId: string; username: string; expiresAt: string; maxExpiresAt: string }[];
  lastError: { code: string; message: string; at: string } | null;
  consecutiveFailures: number;
}

/** What one cycle did. */
export interface CycleReport {
  rotated: boolean;
  written: string[];
}

/** The UID token cannot be used any more: stop loudly (exit code 2), do not retry. */
export class AgentFatalError extends Error {
  readonly code: string;
  /** @param code - stable code @param message - what happened and what to do (never a token) */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentFatalError';
    this.code = code;
  }
}

/** Rotation time is spread by ±10% so a fleet issued at once does not rotate at once. */
export const ROTATION_JITTER = 0.1;

/** True when the server refused the UID token itself (revoked, expired, rotated away, reused). */
export function isUidTokenRefused(err: unknown): boolean {
  return err instanceof TesseraApiError && err.status === 401 && err.code === 'TESSERA_AUTH_FAILED';
}

/** True for failures worth retrying with backoff: no answer, overload, a rotation in progress. */
export function isTransientError(err: unknown): boolean {
  if (err instanceof TesseraNetworkError) return true;
  if (!(err instanceof TesseraApiError)) return false;
  return err.status === 429 || err.status >= 500 || err.code === 'TESSERA_ROTATION_CONFLICT';
}

/** Reads and parses the configured templates. */
export async function loadTemplates(
  settings: TemplateSettings[],
  files: AgentFiles,
): Promise<LoadedTemplate[]> {
  const out: LoadedTemplate[] = [];
  for (const t of settings) {
    const text = t.template ?? (t.templateFile ? await files.read(t.templateFile) : undefined);
    if (text === undefined) throw new Error(`template file ${t.templateFile} does not exist`);
    out.push({ destination: t.destination, parsed: parseTemplate(text, t.templateFile ?? t.destination) });
  }
  return out;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The agent's state machine; see the file comment. */
export class AgentCore {
  readonly #deps: AgentCoreDeps;
  readonly #options: AgentCoreOptions;
  readonly #session: TesseraSession;
  #token: { tokenId: string; expiresAtMs: number; rotateAtMs: number } | undefined;
  #sessionTiming: CachedSession | undefined;
  #sessionFileDirty = false;
  #nextRenderAtMs = 0;
  #recoveryTried = false;
  /** Leases of the dynamic secrets the templates read. */
  readonly leases: LeaseKeeper;
  /** The certificate kept on disk, when configured. */
  readonly certs: CertKeeper | undefined;
  readonly state: AgentState = {
    status: 'starting',
    uidTokenId: null,
    uidTokenExpiresAt: null,
    nextRotationAt: null,
    lastRotationAt: null,
    sessionExpiresAt: null,
    lastRenderAt: null,
    renderedFiles: 0,
    leases: [],
    lastError: null,
    consecutiveFailures: 0,
  };

  /** @param deps - see {@link AgentCoreDeps} @param options - see {@link AgentCoreOptions} */
  constructor(deps: AgentCoreDeps, options: AgentCoreOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#session = new TesseraSession({
      client: deps.client,
      credentials: {
        accessType: 'universal_identity',
        uidTokenStore: deps.store,
        ...(options.authMethod ? { accessId: options.authMethod } : {}),
      },
      now: deps.now,
      cache: this.#sessionRecorder(),
    });
    this.leases = new LeaseKeeper(
      {
        client: deps.client,
        withToken: (fn) => this.#withUidRecovery(() => this.#session.withToken(fn)),
        now: deps.now,
        random: deps.random,
        log: deps.log,
      },
      { replace: true, revokeGraceSeconds: options.leaseRevokeGraceSeconds ?? 60 },
    );
    const cert = options.certificate;
    this.certs = cert
      ? new CertKeeper(
          {
            client: deps.client,
            withToken: (fn) => this.#withUidRecovery(() => this.#session.withToken(fn)),
            newKeyAndCsr: cert.newKeyAndCsr,
            now: deps.now,
            random: deps.random,
            log: deps.log,
            signal: cert.signal,
          },
          cert.settings,
        )
      : undefined;
  }

  /**
   * One pass: session, expiry, rotation, leases, templates, revocation of replaced leases. Throws
   * {@link AgentFatalError} when the token is dead.
   */
  async cycle(): Promise<CycleReport> {
    await this.ensureSession();
    await this.ensureTokenStatus();
    const rotated = await this.rotateIfDue();
    await this.maintainLeases();
    await this.certs?.renewIfDue();
    const written = await this.renderIfDue();
    await this.leases.revokeDue();
    this.#recordLeases();
    await this.#flushSessionFile();
    this.#recoveryTried = false;
    return { rotated, written };
  }

  /** When the next step is due (epoch ms): session renewal, rotation or rendering. */
  nextWakeAt(): number {
    const now = this.#deps.now();
    const candidates = [
      this.#sessionTiming?.renewAtMs,
      this.#token?.rotateAtMs,
      this.leases.nextWakeAt(),
      this.certs?.nextWakeAt(),
    ];
    if (this.#options.templates.length > 0) candidates.push(this.#nextRenderAtMs);
    const due = candidates.filter((t): t is number => t !== undefined);
    return due.length > 0 ? Math.min(...due) : now + 60_000;
  }

  /** Step 1: a valid session token (exchanged or renewed), also written to the session file. */
  async ensureSession(): Promise<void> {
    await this.#withUidRecovery(() => this.#session.getToken());
    await this.#flushSessionFile();
  }

  /** Writes a session obtained since the last write (also after a re-authentication mid-cycle). */
  async #flushSessionFile(): Promise<void> {
    if (this.#sessionFileDirty && this.#options.sessionTokenFile && this.#sessionTiming) {
      await this.#deps.files.writeAtomic(this.#options.sessionTokenFile, `t-${this.#sessionTiming.token}\n`);
    }
    this.#sessionFileDirty = false;
  }

  /** Step 2: the UID token's node, TTL and expiry from the tree answer, when not known yet. */
  async ensureTokenStatus(): Promise<void> {
    if (this.#token) return;
    const tree = await this.#withUidRecovery(() => this.#session.listTree());
    const node = tree.roots[0];
    if (!node) throw new Error('the server returned an empty UID tree for this token');
    const expiresAtMs = Date.parse(node.expiresAt);
    this.#schedule(node.id, expiresAtMs, node.ttlSeconds);
    this.#deps.log({
      level: 'info',
      event: 'uid.status',
      message: `UID token ${node.id} expires at ${node.expiresAt}; rotation planned at ${this.state.nextRotationAt}`,
      fields: { tokenId: node.id, expiresAt: node.expiresAt, nextRotationAt: this.state.nextRotationAt },
    });
  }

  /** Step 3: rotate the UID token when its rotation time has come. */
  async rotateIfDue(): Promise<boolean> {
    const token = this.#token;
    if (!token || this.#deps.now() < token.rotateAtMs) return false;
    await this.rotate();
    return true;
  }

  /** Rotates now: save the new token, then acknowledge, then use it (see the file comment). */
  async rotate(): Promise<void> {
    const sentAt = this.#deps.now();
    let result: Awaited<ReturnType<TesseraSession['rotateUidToken']>>;
    try {
      result = await this.#session.rotateUidToken({ manualAck: true });
    } catch (err) {
      if (isUidTokenRefused(err)) throw this.#fatal(err);
      // Saved but not acknowledged (or the answer was lost): learn the state again from the tree.
      if (!(err instanceof TesseraPersistError)) this.#token = undefined;
      throw err;
    }
    this.state.lastRotationAt = iso(sentAt);
    // TTL counted from the local send time: clock skew with the server cannot make us late.
    this.#schedule(result.tokenId, sentAt + result.ttlSeconds * 1000, result.ttlSeconds);
    this.#deps.log({
      level: 'info',
      event: 'uid.rotated',
      message: `UID token rotated and saved to ${this.#options.uidTokenFile}; next rotation at ${this.state.nextRotationAt}`,
      fields: { tokenId: result.tokenId, expiresAt: this.state.uidTokenExpiresAt },
    });
    // Use the new token at once: proves it works and gives a session derived from it.
    await this.#session.invalidate();
    await this.ensureSession();
  }

  /**
   * Step 4: renew the leases that are due; a lease that cannot be renewed any more is replaced, and
   * the files are rendered again at once (the old lease is revoked after the grace).
   */
  async maintainLeases(): Promise<void> {
    const replaced = await this.leases.maintain();
    if (replaced.length > 0) this.#nextRenderAtMs = 0;
  }

  /** Takes over the leases of the core this one replaces (configuration reload). */
  adoptLeases(previous: AgentCore): void {
    this.leases.adopt(previous.leases);
  }

  /** Step 5: read the secrets, get leases, and rewrite the files whose content changed. */
  async renderIfDue(): Promise<string[]> {
    const templates = this.#options.templates;
    const now = this.#deps.now();
    const dynamicNames = [...new Set(templates.flatMap((t) => t.parsed.dynamicNames))];
    // A lease held for a name no template reads any more (reload) is retired at once.
    if (templates.length === 0 || now < this.#nextRenderAtMs) {
      if (dynamicNames.length === 0 && this.leases.held.size > 0) {
        await this.leases.ensure([]);
        this.leases.switched();
      }
      return [];
    }
    await this.leases.ensure(dynamicNames);
    const dynamic = this.leases.values();
    const names = [...new Set(templates.flatMap((t) => t.parsed.secretNames))];
    const values = new Map<string, string>();
    if (names.length > 0) {
      const items = await this.#withUidRecovery(() =>
        this.#session.withToken((t) => this.#deps.client.getSecretValues(t, names)),
      );
      for (const item of items) values.set(item.name, item.value);
    }
    const written: string[] = [];
    for (const t of templates) {
      const content = renderTemplate(t.parsed, values, this.#deps.env, dynamic);
      if ((await this.#deps.files.read(t.destination)) === content) continue;
      await this.#deps.files.writeAtomic(t.destination, content);
      written.push(t.destination);
      this.#deps.log({
        level: 'info',
        event: 'template.rendered',
        message: `rendered ${t.destination}`,
        fields: { destination: t.destination, bytes: Buffer.byteLength(content) },
      });
    }
    this.#nextRenderAtMs = now + this.#options.renderIntervalSeconds * 1000;
    this.state.lastRenderAt = iso(now);
    this.state.renderedFiles = templates.length;
    // Every file now holds the current credentials: the grace of replaced leases starts.
    this.leases.switched();
    return written;
  }

  /** Revokes every lease held (exit with `revoke_leases_on_exit`). */
  async revokeLeases(): Promise<void> {
    await this.leases.revokeAll();
    this.#recordLeases();
  }

  // ------------------------------------------------------------------ internals

  #recordLeases(): void {
    this.state.leases = [...this.leases.held.values()].map((l) => ({
      name: l.name,
      leaseId: l.leaseId,
      username: l.username,
      expiresAt: iso(l.expiresAtMs) as string,
      maxExpiresAt: iso(l.maxExpiresAtMs) as string,
    }));
  }

  #schedule(tokenId: string, expiresAtMs: number, ttlSeconds: number): void {
    const ttlMs = ttlSeconds * 1000;
    const jitter = 1 + (this.#deps.random() * 2 - 1) * ROTATION_JITTER;
    const fraction = Math.min(0.95, this.#options.rotateAtFraction * jitter);
    const rotateAtMs = expiresAtMs - ttlMs + ttlMs * fraction;
    this.#token = { tokenId, expiresAtMs, rotateAtMs };
    this.state.uidTokenId = tokenId;
    this.state.uidTokenExpiresAt = iso(expiresAtMs);
    this.state.nextRotationAt = iso(rotateAtMs);
  }

  /**
   * Runs a use of the UID token; if the server refuses the token, retries the rotation once with it
   * (the one use a token with a pending automatic-mode successor still has), then the use again.
   * A second refusal is fatal.
   */
  async #withUidRecovery<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isUidTokenRefused(err)) throw err;
      if (this.#recoveryTried) throw this.#fatal(err);
      this.#recoveryTried = true;
      this.#deps.log({
        level: 'warn',
        event: 'uid.refused',
        message: 'the server refused the UID token; retrying a possibly interrupted rotation once',
      });
      try {
        await this.rotate();
      } catch (rotateErr) {
        if (isTransientError(rotateErr)) this.#recoveryTried = false;
        throw rotateErr;
      }
      try {
        return await fn();
      } catch (again) {
        throw isUidTokenRefused(again) ? this.#fatal(again) : again;
      }
    }
  }

  #fatal(cause: unknown): AgentFatalError {
    if (cause instanceof AgentFatalError) return cause;
    const file = this.#options.uidTokenFile;
    return new AgentFatalError(
      'TESSERA_AGENT_UID_TOKEN_REFUSED',
      `the server refused the UID token in ${file}: it was revoked, has expired, or was rotated away. ` +
        `The agent cannot recover by itself: issue a new token (tessera uid-generate-token …) into ${file}, ` +
        'then start the agent again',
      { cause },
    );
  }

  /** Records each new session (timing for the schedule; the file is written by ensureSession). */
  #sessionRecorder(): SessionCache {
    return {
      load: async () => undefined,
      save: async (session) => {
        const first = this.#sessionTiming === undefined;
        this.#sessionTiming = session;
        this.#sessionFileDirty = true;
        this.state.sessionExpiresAt = iso(session.expiresAtMs);
        this.#deps.log({
          level: 'info',
          event: first ? 'session.acquired' : 'session.renewed',
          message: `session token ${first ? 'acquired' : 'renewed'}; expires at ${this.state.sessionExpiresAt}`,
          fields: { expiresAt: this.state.sessionExpiresAt },
        });
      },
      clear: async () => undefined,
    };
  }
}
