/**
 * A client blocked by the authentication failure limiter must not grow the audit ledger: while it
 * is blocked, its refusals are one event at once and one summary with the count per window (issue
 * 10), and every 429 says when to come back (`Retry-After`, seconds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, TesseraError } from '../src/core/shared/errors.js';
import { errorHandler } from '../src/http/error-mapper.js';
import { startTestServer, type TestServer } from './harness.js';

describe('refusals of a blocked source', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      TESSERA_AUTH_FAILURE_LIMIT: '5',
      TESSERA_AUTH_FAILURE_WINDOW_SECONDS: '60',
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const inject = (ip: string, url: string, payload: object, headers: Record<string, string> = {}) =>
    s.tessera.app.inject({ method: 'POST', url, remoteAddress: ip, payload, headers });
  const rowsFrom = async (ip: string) =>
    s.tessera.store.db
      .selectFrom('audit_events')
      .selectAll()
      .where('source_ip', '=', ip)
      .orderBy('seq')
      .execute();
  const guess = { accessType: 'access_key', accessId: 'p-nobody', accessKey: 'tak-wrong-guess' };

  it('500 refused /v1/auth requests write one event and, at the window’s end, one summary with the count', async () => {
    const ip = '203.0.113.20';
    for (let i = 0; i < 5; i++) expect((await inject(ip, '/v1/auth', guess)).statusCode).toBe(401);
    const before = (await rowsFrom(ip)).length;
    for (let i = 0; i < 500; i++) expect((await inject(ip, '/v1/auth', guess)).statusCode).toBe(429);
    const during = await rowsFrom(ip);
    expect(during.length - before).toBe(1);
    expect(during.at(-1)).toMatchObject({
      type: 'auth.rate_limited',
      outcome: 'denied',
      reason: 'too_many_failures',
    });

    s.clock.advance(61);
    await s.tessera.denials.flush();
    const after = await rowsFrom(ip);
    expect(after.length - before).toBe(2);
    const summary = JSON.parse(after.at(-1)!.data);
    expect(summary).toMatchObject({ repeated: 499 });
  });

  it('the UID holder endpoints and the Akeyless auth command collapse the same way', async () => {
    const ip = '203.0.113.21';
    const uid = `u-${'A'.repeat(49)}`;
    for (let i = 0; i < 5; i++) await inject(ip, '/v1/uid/rotate', {}, { authorization: `Bearer ${uid}` });
    const before = (await rowsFrom(ip)).length;
    for (let i = 0; i < 200; i++) {
      expect((await inject(ip, '/v1/uid/rotate', {}, { authorization: `Bearer ${uid}` })).statusCode).toBe(
        429,
      );
      const ak = await inject(ip, '/akeyless/auth', {
        'access-type': 'access_key',
        'access-id': 'p-x',
        'access-key': 'k',
      });
      expect(ak.statusCode).toBe(429);
    }
    // One event for the UID refusals and one for the Akeyless ones (another operation), not 400.
    expect((await rowsFrom(ip)).length - before).toBeLessThanOrEqual(2);
    s.clock.advance(61);
  });

  it('every 429 carries Retry-After: the seconds left in the source’s window', async () => {
    const ip = '203.0.113.22';
    for (let i = 0; i < 5; i++) await inject(ip, '/v1/auth', guess);
    const native = await inject(ip, '/v1/auth', guess);
    expect(native.statusCode).toBe(429);
    expect(native.headers['retry-after']).toBe('60');
    expect(native.json().error.details).toEqual({ retryAfterSeconds: 60 });
    s.clock.advance(45);
    expect((await inject(ip, '/v1/auth', guess)).headers['retry-after']).toBe('15');
    const holder = await inject(ip, '/v1/uid/rotate', {}, { authorization: `Bearer u-${'B'.repeat(49)}` });
    expect(holder.statusCode).toBe(429);
    expect(holder.headers['retry-after']).toBe('15');
    const ak = await inject(ip, '/akeyless/auth', {
      'access-type': 'access_key',
      'access-id': 'p-x',
      'access-key': 'k',
    });
    expect(ak.statusCode).toBe(429);
    expect(ak.headers['retry-after']).toBe('15');
    s.clock.advance(16);
  });

  it('a 429 without a window of its own (a lease quota) still carries Retry-After', () => {
    const headers: Record<string, string> = {};
    const reply = {
      header(name: string, value: string) {
        headers[name] = value;
        return reply;
      },
      status: () => reply,
      send: () => reply,
    };
    const request = { id: 'req-1', log: { info() {}, error() {} } };
    errorHandler(new TesseraError(ErrorCodes.LEASE_QUOTA, 'quota'), request as never, reply as never);
    expect(Number(headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
