import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

/** Issue 11: production mode refuses the development defaults; development warns about them. */
describe('production mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ROOT_KEY = Buffer.alloc(32, 7).toString('base64');
  /** Everything production needs; each test removes or spoils one thing. */
  const ready = {
    TESSERA_ENV: 'production',
    TESSERA_ROOT_KEY: ROOT_KEY,
    TESSERA_ISSUER: 'https://tessera.example.com',
  };
  const load = (env: Record<string, string>, overrides: Parameters<typeof loadConfig>[0] = {}) =>
    loadConfig({ dataDir: join(dir, 'data'), ...overrides }, env);

  it('starts when the root key, an https issuer and an audit sink are given, with no warning', () => {
    const config = load(ready);
    expect(config.production).toBe(true);
    expect(config.warnings).toEqual([]);
  });

  it('is on with TESSERA_ENV=production or --production only', () => {
    expect(load({ ...ready, TESSERA_ENV: 'development' }).production).toBe(false);
    expect(load({ TESSERA_ROOT_KEY: ROOT_KEY, TESSERA_ISSUER: 'https://t.example' }).production).toBe(false);
    expect(
      load({ TESSERA_ROOT_KEY: ROOT_KEY, TESSERA_ISSUER: 'https://t.example' }, { production: true })
        .production,
    ).toBe(true);
    // NODE_ENV is the application platform's setting, not Tessera's.
    expect(load({ NODE_ENV: 'production', TESSERA_ROOT_KEY: ROOT_KEY }).production).toBe(false);
    expect(() => load({ ...ready, TESSERA_ENV: 'prod' })).toThrow(
      'TESSERA_ENV must be production or development',
    );
  });

  it('refuses a root key that would be created at start, and says what to do', () => {
    const { TESSERA_ROOT_KEY: _, ...env } = ready;
    expect(() => load(env)).toThrow(
      /root key would be created at start in .*root\.key.*set TESSERA_ROOT_KEY/s,
    );
    expect(() => load(env, { production: true })).toThrow(/refuses to start/);
    // A root key file provisioned beforehand is not auto-created: accepted.
    const provisioned = join(dir, 'provisioned');
    rmSync(provisioned, { recursive: true, force: true });
    mkdirSync(provisioned);
    writeFileSync(join(provisioned, 'root.key'), ROOT_KEY, { mode: 0o600 });
    expect(load(env, { dataDir: provisioned }).production).toBe(true);
  });

  it('refuses a default or http:// issuer', () => {
    const { TESSERA_ISSUER: _, ...env } = ready;
    expect(() => load(env)).toThrow(
      /token issuer is the default http:\/\/127\.0\.0\.1:8377: set TESSERA_ISSUER/,
    );
    expect(() => load({ ...ready, TESSERA_ISSUER: 'http://tessera.example.com' })).toThrow(
      /issuer http:\/\/tessera\.example\.com is not an https:\/\/ URL/,
    );
  });

  it('refuses a missing audit sink, and accepts syslog or a webhook instead of the file', () => {
    expect(() => load({ ...ready, TESSERA_AUDIT_FILE: 'off' })).toThrow(
      /no audit sink.*TESSERA_AUDIT_FILE=off/,
    );
    expect(
      load({ ...ready, TESSERA_AUDIT_FILE: 'off', TESSERA_AUDIT_SYSLOG: 'udp://127.0.0.1:514' }).production,
    ).toBe(true);
    expect(
      load({ ...ready, TESSERA_AUDIT_FILE: 'off', TESSERA_AUDIT_WEBHOOK_URL: 'https://siem.example/in' })
        .production,
    ).toBe(true);
  });

  it('names every problem at once', () => {
    let message = '';
    try {
      load({ TESSERA_ENV: 'production', TESSERA_AUDIT_FILE: 'off' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n- ')).toHaveLength(4);
  });

  it('in development, lists the same defaults as warnings (logged once at start) instead', () => {
    const config = load({ TESSERA_AUDIT_FILE: 'off' });
    expect(config.production).toBe(false);
    expect(config.warnings).toHaveLength(3);
    expect(config.warnings.every((w) => w.startsWith('development default (refused in production): '))).toBe(
      true,
    );
    expect(load({ TESSERA_ROOT_KEY: ROOT_KEY, TESSERA_ISSUER: 'https://t.example' }).warnings).toEqual([]);
  });
});
