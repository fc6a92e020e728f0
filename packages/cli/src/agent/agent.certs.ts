/**
 * The agent's certificate (issue 13): a key made here, a certificate from the internal CA for its
 * CSR, and the CA bundle, kept in `DIR/current/{key.pem,cert.pem,bundle.pem}` and renewed at about
 * half of the certificate's life (from its issuance, not from its backdated start).
 *
 * Crash safety: each renewal writes a complete new generation directory (every file fsynced),
 * then swaps the `current` symlink to it with one rename. A SIGKILL at any point leaves `current`
 * on a complete, matching pair: the old one before the rename, the new one after.
 */

import { mkdir, open, readdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TesseraClient } from '@tessera/sdk';
import type { AgentLog } from './agent.log.js';

/** The certificate settings of the agent. */
export interface CertificateSettings {
  profile: string;
  /** The directory holding `current` and its generations. */
  dir: string;
  /** Requested lifetime; default: the profile's. */
  ttlSeconds?: number;
  /** Renew at this fraction of the life (±10% jitter), default 0.5. */
  renewAtFraction: number;
  /** A file holding the pid to send SIGHUP after each renewal (the process reloads its files). */
  reloadPidFile?: string;
}

/** Dependencies of {@link CertKeeper}. */
export interface CertKeeperDeps {
  client: TesseraClient;
  withToken<T>(fn: (token: string) => Promise<T>): Promise<T>;
  /** `newKeyAndCsr` of `@tessera/server/x509`: the key never leaves this process but to the file. */
  newKeyAndCsr(commonName?: string): Promise<{ keyPem: string; csrPem: string }>;
  now(): number;
  random(): number;
  log: AgentLog;
  /** Sends SIGHUP to a pid (process.kill). */
  signal(pid: number): void;
}

interface Meta {
  serial: string;
  issuedAtMs: number;
  notAfterMs: number;
}

async function writeDurable(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class CertKeeper {
  readonly #deps: CertKeeperDeps;
  readonly #settings: CertificateSettings;
  #renewAtMs: number | undefined;
  /** What `/healthz` shows. */
  readonly state = {
    serial: null as string | null,
    notAfter: null as string | null,
    renewAt: null as string | null,
  };

  constructor(deps: CertKeeperDeps, settings: CertificateSettings) {
    this.#deps = deps;
    this.#settings = settings;
  }

  nextWakeAt(): number | undefined {
    return this.#renewAtMs;
  }

  /** The current generation's record, or undefined when there is none (first start). */
  async #current(): Promise<Meta | undefined> {
    try {
      const text = await readFile(join(this.#settings.dir, 'current', 'meta.json'), 'utf8');
      return JSON.parse(text) as Meta;
    } catch {
      return undefined;
    }
  }

  #schedule(meta: Meta) {
    const life = meta.notAfterMs - meta.issuedAtMs;
    const fraction = this.#settings.renewAtFraction * (0.9 + 0.2 * this.#deps.random());
    this.#renewAtMs = meta.issuedAtMs + Math.max(0, Math.min(1, fraction)) * life;
    this.state.serial = meta.serial;
    this.state.notAfter = new Date(meta.notAfterMs).toISOString();
    this.state.renewAt = new Date(this.#renewAtMs).toISOString();
  }

  /** Renews when due (or when there is no certificate yet); returns whether it did. */
  async renewIfDue(): Promise<boolean> {
    const meta = await this.#current();
    if (meta && this.#renewAtMs === undefined) this.#schedule(meta);
    if (meta && this.#renewAtMs !== undefined && this.#deps.now() < this.#renewAtMs) return false;
    await this.renew();
    return true;
  }

  /** A new key, a certificate for it, and the swap of `current` to them. */
  async renew(): Promise<void> {
    const { dir, profile, ttlSeconds } = this.#settings;
    const { keyPem, csrPem } = await this.#deps.newKeyAndCsr();
    const issuedAtMs = this.#deps.now();
    const issued = await this.#deps.withToken((t) =>
      this.#deps.client.issueCertificate(t, profile, {
        csr: csrPem,
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      }),
    );
    const meta: Meta = {
      serial: issued.certificate.serial,
      issuedAtMs,
      notAfterMs: Date.parse(issued.certificate.notAfter),
    };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const generation = `.gen-${issuedAtMs}-${Math.random().toString(36).slice(2, 10)}`;
    const genDir = join(dir, generation);
    await mkdir(genDir, { mode: 0o700 });
    await writeDurable(join(genDir, 'key.pem'), keyPem, 0o600);
    await writeDurable(join(genDir, 'cert.pem'), issued.certificatePem, 0o644);
    await writeDurable(join(genDir, 'bundle.pem'), issued.caBundlePem, 0o644);
    await writeDurable(join(genDir, 'meta.json'), `${JSON.stringify(meta)}\n`, 0o644);
    await syncDir(genDir);
    // The swap: a new symlink renamed over `current` (rename is atomic), then the directory synced.
    const link = join(dir, `.current-${Math.random().toString(36).slice(2, 10)}`);
    await symlink(generation, link);
    await rename(link, join(dir, 'current'));
    await syncDir(dir);
    this.#schedule(meta);
    this.#deps.log({
      level: 'info',
      event: 'certificate.renewed',
      message: `certificate ${meta.serial} written to ${join(dir, 'current')}`,
      fields: { serial: meta.serial, notAfter: this.state.notAfter, renewAt: this.state.renewAt },
    });
    await this.#prune(generation);
    await this.#reload();
  }

  /** Removes older generations and leftovers of interrupted renewals (keeps the previous one). */
  async #prune(keep: string): Promise<void> {
    const { dir } = this.#settings;
    const entries = (await readdir(dir)).filter((e) => e.startsWith('.gen-') || e.startsWith('.current-'));
    // A process may still read the previous pair while it reloads.
    const previous = entries
      .filter((e) => e.startsWith('.gen-') && e !== keep)
      .sort()
      .at(-1);
    for (const entry of entries)
      if (entry !== keep && entry !== previous) await rm(join(dir, entry), { recursive: true, force: true });
  }

  async #reload(): Promise<void> {
    const file = this.#settings.reloadPidFile;
    if (!file) return;
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 1) {
      this.#deps.log({ level: 'warn', event: 'certificate.reload_skipped', message: `no pid in ${file}` });
      return;
    }
    try {
      this.#deps.signal(pid);
    } catch (err) {
      this.#deps.log({
        level: 'warn',
        event: 'certificate.reload_failed',
        message: `could not signal ${pid}: ${(err as Error).message}`,
      });
    }
  }
}
