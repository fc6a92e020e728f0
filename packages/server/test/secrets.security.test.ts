import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestServer, type TestServer } from './harness.js';

/** Every form in which a leaked value could be found: as is, hex, and base64/base64url at each alignment. */
function forms(marker: string): string[] {
  const out = new Set([marker, Buffer.from(marker).toString('hex')]);
  for (const pad of ['', 'x', 'xx']) {
    const bytes = Buffer.from(pad + marker);
    for (const encoding of ['base64', 'base64url'] as const) out.add(bytes.toString(encoding).slice(4, -4));
  }
  return [...out];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** DESIGN §6: no secret value in the database, its files, logs, audit events or error bodies. */
describe.each(STORES)('secret values at rest on %s', (store) => {
  let s: TestServer;
  const logs: string[] = [];
  const marker = `MARK${randomBytes(12).toString('hex')}END`;
  const answers: string[] = [];
  const api = async (method: string, url: string, body?: unknown) => {
    const r = await s.call(method, url, { token: s.adminToken, ...(body !== undefined ? { body } : {}) });
    answers.push(JSON.stringify(r));
    return r;
  };

  beforeAll(async () => {
    s = await startTestServer(
      store,
      {},
      { logger: { level: 'debug', stream: { write: (line: string) => void logs.push(line) } } },
    );
    expect(
      (await api('POST', '/v1/secrets', { name: '/leak/text', value: `before-${marker}-after` })).status,
    ).toBe(201);
    const json = JSON.stringify({ user: 'app', password: marker, nested: { also: `${marker}!` } });
    expect(
      (await api('POST', '/v1/secrets', { name: '/leak/json', value: json, format: 'json' })).status,
    ).toBe(201);
    expect(
      (await api('POST', '/v1/secrets/versions', { name: '/leak/text', value: `v2:${marker}` })).status,
    ).toBe(200);
    expect((await api('GET', '/v1/secrets/value?name=/leak/text&version=1')).body.value).toContain(marker);
    expect((await api('POST', '/v1/secrets/values', { names: ['/leak/text', '/leak/json'] })).status).toBe(
      200,
    );
    await api('GET', '/v1/secrets/describe?name=/leak/json');
    await api('GET', '/v1/secrets?prefix=/leak');
    // Refusals that carry the value must not echo it either.
    const bad = await api('POST', '/v1/secrets', {
      name: '/leak/bad',
      value: `{"password":"${marker}"`,
      format: 'json',
    });
    expect(bad.status).toBe(400);
    const big = await api('POST', '/v1/secrets', {
      name: '/leak/big',
      value: `${marker}${'€'.repeat(30_000)}`,
    });
    expect(big.status).toBe(413);
    const conflict = await api('POST', '/v1/secrets', { name: '/leak/text', value: marker });
    expect(conflict.status).toBe(409);
    await api('DELETE', '/v1/secrets?name=/leak/json');
    await api('POST', '/v1/secrets/restore', { name: '/leak/json' });
    await api('POST', '/v1/sys/kek/rotate', {});
    await s.tessera.rewrapSecretKeys();
    await s.tessera.denials.flush(true);
    await s.tessera.uow.drain();
  });
  afterAll(async () => {
    await s?.close();
  });

  const expectAbsent = (haystack: string, where: string) => {
    for (const form of forms(marker))
      expect(haystack.includes(form), `${where} holds the value (${form})`).toBe(false);
  };

  it('looks for every encoding of the value', () => {
    for (const pad of ['', 'x', 'xx', 'xxx']) {
      const encoded = Buffer.from(`${pad}${marker}`);
      for (const haystack of [
        encoded.toString('base64'),
        encoded.toString('base64url'),
        encoded.toString('hex'),
      ])
        expect(forms(marker).some((form) => haystack.includes(form))).toBe(true);
    }
  });

  it('holds the value in no table, as is or encoded', async () => {
    const tables =
      store === 'postgres'
        ? (
            await sql<{
              name: string;
            }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(
              s.tessera.store.db,
            )
          ).rows
        : (
            await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
              s.tessera.store.db,
            )
          ).rows;
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['secrets', 'secret_versions', 'audit_events']),
    );
    for (const { name } of tables) {
      const rows = await sql.raw(`select * from ${name}`).execute(s.tessera.store.db);
      expectAbsent(JSON.stringify(rows.rows), `table ${name}`);
    }
  });

  it('holds the value in no file of the data dir (database, WAL, audit files), before and after a checkpoint', async () => {
    const scan = () => {
      const files = filesUnder(s.dataDir);
      if (store === 'sqlite') expect(files.some((f) => f.endsWith('-wal'))).toBe(true);
      for (const file of files) expectAbsent(readFileSync(file).toString('latin1'), file);
      return files.length;
    };
    expect(scan()).toBeGreaterThan(0);
    if (store === 'sqlite') {
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(s.tessera.store.db);
      scan();
    }
  });

  it('holds the value in no audit event, log line or error answer', async () => {
    const events = await s.tessera.store.db.selectFrom('audit_events').selectAll().execute();
    expect(events.some((e) => e.type === 'secret.read')).toBe(true);
    expectAbsent(JSON.stringify(events), 'the audit ledger');
    expect(logs.length).toBeGreaterThan(10);
    expectAbsent(logs.join(''), 'the logs');
    const refusals = answers.filter((a) => a.includes('"error"'));
    expect(refusals.length).toBe(3);
    expectAbsent(refusals.join(''), 'an error answer');
  });
});

/** Ciphertexts and wrapped keys are bound to their row: moved or altered, they fail to decrypt. */
describe.each(STORES)('secret integrity on %s', (store) => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  const read = (name: string, version?: number) =>
    s.call('GET', `/v1/secrets/value?name=${name}${version ? `&version=${version}` : ''}`, {
      token: s.adminToken,
    });
  const row = async (id: string, version: number) =>
    s.tessera.store.db
      .selectFrom('secret_versions')
      .select('ciphertext')
      .where('secret_id', '=', id)
      .where('version', '=', version)
      .executeTakeFirstOrThrow();
  const setCiphertext = (id: string, version: number, ciphertext: string) =>
    s.tessera.store.db
      .updateTable('secret_versions')
      .set({ ciphertext })
      .where('secret_id', '=', id)
      .where('version', '=', version)
      .execute();
  const wrapped = async (id: string) =>
    (
      await s.tessera.store.db
        .selectFrom('secrets')
        .select('wrapped_key')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).wrapped_key;
  const setWrapped = (id: string, wrapped_key: string) =>
    s.tessera.store.db.updateTable('secrets').set({ wrapped_key }).where('id', '=', id).execute();

  const expectIntegrityError = async (name: string, version?: number) => {
    const r = await read(name, version);
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('TESSERA_SECRET_INTEGRITY');
    expect(JSON.stringify(r.body)).not.toMatch(/value-[ab]/);
  };

  beforeAll(async () => {
    s = await startTestServer(store);
    for (const name of ['a', 'b']) {
      const r = await s.call('POST', '/v1/secrets', {
        token: s.adminToken,
        body: { name: `/swap/${name}`, value: `value-${name}-1` },
      });
      ids[name] = r.body.id;
    }
    await s.call('POST', '/v1/secrets/versions', {
      token: s.adminToken,
      body: { name: '/swap/a', value: 'value-a-2' },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses a ciphertext swapped between two items', async () => {
    const a = await row(ids.a!, 1);
    const b = await row(ids.b!, 1);
    await setCiphertext(ids.a!, 1, b.ciphertext);
    await setCiphertext(ids.b!, 1, a.ciphertext);
    await expectIntegrityError('/swap/a', 1);
    await expectIntegrityError('/swap/b');
    await setCiphertext(ids.a!, 1, a.ciphertext);
    await setCiphertext(ids.b!, 1, b.ciphertext);
    expect((await read('/swap/b')).body.value).toBe('value-b-1');
  });

  it('refuses a ciphertext swapped between two versions of one item', async () => {
    const v1 = await row(ids.a!, 1);
    const v2 = await row(ids.a!, 2);
    await setCiphertext(ids.a!, 1, v2.ciphertext);
    await expectIntegrityError('/swap/a', 1);
    await setCiphertext(ids.a!, 1, v1.ciphertext);
    expect((await read('/swap/a', 1)).body.value).toBe('value-a-1');
  });

  it('refuses a data key moved to another item, and an altered ciphertext', async () => {
    const a = await wrapped(ids.a!);
    const b = await wrapped(ids.b!);
    await setWrapped(ids.b!, a);
    await expectIntegrityError('/swap/b');
    await setWrapped(ids.b!, b);
    const v2 = await row(ids.a!, 2);
    const flipped = `${v2.ciphertext.slice(0, -3)}${v2.ciphertext.at(-3) === 'A' ? 'B' : 'A'}${v2.ciphertext.slice(-2)}`;
    await setCiphertext(ids.a!, 2, flipped);
    await expectIntegrityError('/swap/a');
    await setCiphertext(ids.a!, 2, v2.ciphertext);
    expect((await read('/swap/a')).body.value).toBe('value-a-2');
  });

  it('records no read for a value it could not decrypt', async () => {
    const reads = await s.tessera.store.db
      .selectFrom('audit_events')
      .select(['resource', 'data'])
      .where('type', '=', 'secret.read')
      .execute();
    // Only the successful reads after each repair.
    expect(reads.map((r) => `${r.resource} v${JSON.parse(r.data).version}`)).toEqual([
      '/swap/b v1',
      '/swap/a v1',
      '/swap/a v2',
    ]);
  });
});
