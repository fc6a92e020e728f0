/**
 * What every command gets: I/O, global options resolved (flag > environment > profile > default),
 * the SDK client, and admin authentication (`--token`, else the profile's access key exchanged for a
 * cached session token).
 */

import { type FetchLike, TesseraClient, TesseraSession } from '@tessera/sdk';
import type { ArgReader, OptionSpecs } from './argv.parser.js';
import { CliError, UsageError } from './cli.errors.js';
import { ConfigStore, checkProfileName, configDir, DEFAULT_PROFILE, type Profile } from './config.store.js';
import { jsonText } from './output.format.js';

/** The CLI's version. */
export const CLI_VERSION = '0.1.0';

/** Where the server listens by default. */
export const DEFAULT_URL = 'http://127.0.0.1:8377';

/** The process around the CLI; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  now(): number;
  /** The whole of standard input (for `--access-key -`). */
  readStdin(): Promise<string>;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
  /** A `fetch` for the SDK; the global one when absent. */
  fetch?: FetchLike;
  /** True when stderr is a terminal (progress bars); false when absent. */
  isTty?: () => boolean;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  url: {
    type: 'string',
    placeholder: 'URL',
    description: `server URL (env TESSERA_URL; default ${DEFAULT_URL})`,
    // The agent and `run` used to call it --server-url: one name per concept, the old one still read.
    hiddenAliases: ['server-url'],
  },
  token: { type: 'string', placeholder: 'TOKEN', description: 'session token t-… (env TESSERA_TOKEN)' },
  profile: {
    type: 'string',
    placeholder: 'NAME',
    description: 'config profile (env TESSERA_PROFILE; default "default")',
  },
  json: { type: 'boolean', description: 'machine-readable JSON on stdout' },
  help: { type: 'boolean', description: 'show help for the command' },
};

/** One command. */
export interface CommandSpec {
  /** Command words, e.g. `['auth-method', 'create', 'universal-identity']`. */
  path: readonly string[];
  summary: string;
  /** Longer text shown in `--help`. */
  details?: string;
  /** Positional arguments in the usage line, e.g. `[ID]`. */
  positionals?: string;
  options: OptionSpecs;
  examples: readonly string[];
  /**
   * Exit status of a usage mistake, when 2 means something else for this command (`plan`: 2 is
   * "changes"); default 2.
   */
  usageExitCode?: number;
  run(ctx: CommandContext, args: ArgReader): Promise<void>;
}

/**
 * The server URL: flag, else `TESSERA_URL`, else the profile's, else {@link DEFAULT_URL}; refused
 * with a usage message (naming where it came from) unless it is an absolute http(s) URL.
 */
export function checkUrl(
  flag: string | undefined,
  env: string | undefined,
  profileUrl: string | undefined,
  profileName: string,
): string {
  const [value, source] = flag
    ? [flag, '--url']
    : env
      ? [env, 'TESSERA_URL']
      : profileUrl
        ? [profileUrl, `the URL of profile "${profileName}"`]
        : [DEFAULT_URL, 'the default URL'];
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !parsed.host) {
    const guess = /^[\w.-]+(:\d+)?(\/.*)?$/.test(value) ? ` (did you mean http://${value}?)` : '';
    throw new UsageError(
      `${source} must be an http:// or https:// URL such as ${DEFAULT_URL}, got "${value}"${guess}`,
    );
  }
  return value.replace(/\/+$/, '');
}

/** Context of one command invocation. */
export class CommandContext {
  readonly io: CliIo;
  readonly json: boolean;
  readonly url: string;
  readonly profileName: string;
  readonly profile: Profile;
  readonly config: ConfigStore;
  readonly client: TesseraClient;
  /** Global flags exactly as given on the command line (not from env or profile). */
  readonly flags: { url?: string; token?: string; profile?: string };
  readonly #token: string | undefined;
  #session: TesseraSession | undefined;

  private constructor(
    io: CliIo,
    args: ArgReader,
    config: ConfigStore,
    profileName: string,
    profile: Profile,
  ) {
    this.io = io;
    this.json = args.bool('json');
    this.config = config;
    this.profileName = profileName;
    this.profile = profile;
    const url = args.str('url');
    const token = args.str('token');
    const profileFlag = args.str('profile');
    this.flags = {
      ...(url !== undefined ? { url } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(profileFlag !== undefined ? { profile: profileFlag } : {}),
    };
    this.url = checkUrl(url, io.env.TESSERA_URL, profile.url, profileName);
    this.#token = token || io.env.TESSERA_TOKEN || undefined;
    this.client = this.clientWith(io.fetch);
  }

  /** A client of the same server over another `fetch` (e.g. one presenting a client certificate). */
  clientWith(fetch: FetchLike | undefined): TesseraClient {
    return new TesseraClient({
      url: this.url,
      userAgent: `tessera-cli/${CLI_VERSION}`,
      ...(fetch ? { fetch } : {}),
    });
  }

  /** Resolves the profile and builds the context. */
  static async create(io: CliIo, args: ArgReader): Promise<CommandContext> {
    const config = new ConfigStore(configDir(io.env));
    const profileName = checkProfileName(args.str('profile') || io.env.TESSERA_PROFILE || DEFAULT_PROFILE);
    const profile = await config.profile(profileName);
    return new CommandContext(io, args, config, profileName, profile);
  }

  /** Milliseconds since the epoch. */
  now(): number {
    return this.io.now();
  }

  /** Writes to stdout. */
  out(text: string): void {
    this.io.stdout(text);
  }

  /** Writes to stderr (details, progress, warnings). */
  note(text: string): void {
    this.io.stderr(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Prints `value` as JSON on stdout. */
  printJson(value: unknown): void {
    this.out(jsonText(value));
  }

  /** With `--json` prints `value` as JSON; otherwise prints `readable()`. */
  emit(value: unknown, readable: () => string): void {
    this.out(this.json ? jsonText(value) : readable());
  }

  /** True when an admin credential is available without a round trip. */
  get hasAdminCredential(): boolean {
    return this.#token !== undefined || Boolean(this.profile.accessId && this.profile.accessKey);
  }

  /**
   * Runs `fn` with an admin session token: `--token`/`TESSERA_TOKEN` as given, else the profile's
   * access key exchanged (and cached in the profile's session file; re-authenticates once if the
   * server rejects the cached token).
   */
  async withAdmin<T>(fn: (token: string) => Promise<T>): Promise<T> {
    if (this.#token !== undefined) return fn(this.#token);
    // A person signed in with `tessera login` acts as themselves until the session ends.
    const person = await this.config.personSession(this.profileName, this.url).load();
    if (person && person.expiresAtMs > this.io.now() + 5_000) return fn(person.token);
    const { accessId, accessKey } = this.profile;
    if (!accessId || !accessKey) {
      throw new CliError(
        'TESSERA_UNAUTHENTICATED',
        'this command needs an admin credential, and none was given',
        `pass --token (from \`tessera auth …\`) or store an access key with ` +
          `\`tessera configure${this.profileName === DEFAULT_PROFILE ? '' : ` --profile ${this.profileName}`} ` +
          '--access-id … --access-key …`',
      );
    }
    this.#session ??= new TesseraSession({
      client: this.client,
      credentials: { accessType: 'access_key', accessId, accessKey },
      cache: this.config.sessionCache(this.profileName, this.url, accessId),
      now: () => this.io.now(),
    });
    return this.#session.withToken(fn);
  }
}
