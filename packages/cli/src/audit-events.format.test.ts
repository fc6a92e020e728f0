import type { AuditEvent } from '@tessera/sdk';
import { describe, expect, it } from 'vitest';
import {
  formatActor,
  formatAuditLine,
  formatFailureLine,
  jsonLine,
  parseAuditTime,
} from './audit-events.format.js';
import { UsageError } from './cli.errors.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function event(over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq: 7,
    id: 'ev-7',
    at: '2026-11-22T11:59:30.123Z',
    type: 'auth.failed',
    outcome: 'failure',
    actor: {
      identityId: null,
      authMethodId: 'p-admin',
      uidNodeId: null,
      tokenId: null,
      credentialRef: 'abcdef012345',
    },
    resource: null,
    reason: 'wrong_access_key',
    requestId: 'req-aaaa',
    sourceIp: '10.0.0.7',
    data: { v: 1, accessType: 'access_key', userAgent: 'curl/8' },
    ...over,
  };
}

describe('formatActor', () => {
  it('is identity/method/node with - for what is unknown', () => {
    expect(formatActor(event().actor)).toBe('-/p-admin/-');
    expect(
      formatActor({
        identityId: 'i-1',
        authMethodId: 'p-uid',
        uidNodeId: 'node1',
        tokenId: 'j',
        credentialRef: null,
      }),
    ).toBe('i-1/p-uid/node1');
  });
});

describe('formatAuditLine', () => {
  it('is time  outcome  type  resource  actor  reason on one line', () => {
    expect(formatAuditLine(event())).toBe(
      '2026-11-22T11:59:30Z  failure  auth.failed               -  -/p-admin/-  wrong_access_key\n',
    );
  });

  it('keeps the columns aligned across outcomes and types of different lengths', () => {
    const a = formatAuditLine(event({ outcome: 'denied', type: 'auth.rate_limited' }));
    const b = formatAuditLine(
      event({
        outcome: 'success',
        type: 'uid.token.rotated',
        resource: '/auth-methods/ci/uid/node1',
        reason: null,
        actor: {
          identityId: 'i-1',
          authMethodId: 'p-uid',
          uidNodeId: 'node1',
          tokenId: null,
          credentialRef: null,
        },
      }),
    );
    expect(a.indexOf('auth.rate_limited')).toBe(b.indexOf('uid.token.rotated'));
    expect(b).toBe(
      '2026-11-22T11:59:30Z  success  uid.token.rotated         /auth-methods/ci/uid/node1  i-1/p-uid/node1  -\n',
    );
  });

  it('neutralises control characters a stored value could carry', () => {
    const line = formatAuditLine(event({ reason: 'x\u001b[31mred\nnext', resource: '/a\rb' }));
    expect(line).toBe(
      '2026-11-22T11:59:30Z  failure  auth.failed               /a?b  -/p-admin/-  x?[31mred?next\n',
    );
    expect(line.split('\n')).toHaveLength(2);
  });
});

describe('formatFailureLine', () => {
  it('says "authentication failed" with the internal reason, actor, source and request', () => {
    expect(formatFailureLine(event())).toBe(
      '2026-11-22T11:59:30Z  authentication failed  reason=wrong_access_key  event=auth.failed  ' +
        'access-type=access_key  actor=-/p-admin/-  credential=abcdef012345  source=10.0.0.7  request=req-aaaa\n',
    );
  });

  it('describes a refused UID token on a holder route', () => {
    const line = formatFailureLine(
      event({
        type: 'uid.token.rotated',
        reason: 'unknown_uid_token',
        data: { v: 1 },
        actor: {
          identityId: null,
          authMethodId: null,
          uidNodeId: null,
          tokenId: null,
          credentialRef: '0123456789ab',
        },
      }),
    );
    expect(line).toMatch(/^2026-11-22T11:59:30Z {2}authentication failed {2}reason=unknown_uid_token {2}/);
    expect(line).toContain('event=uid.token.rotated');
    expect(line).not.toContain('access-type=');
    expect(line).toContain('actor=-/-/-');
  });
});

describe('jsonLine', () => {
  it('is one compact JSON document per line', () => {
    const line = jsonLine(event());
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(event());
  });
});

describe('parseAuditTime', () => {
  it('takes ISO-8601 times and dates', () => {
    expect(parseAuditTime('2026-11-01T08:00:00Z', NOW, 'since')).toBe('2026-11-01T08:00:00.000Z');
    expect(parseAuditTime('2026-11-01T08:00:00+02:00', NOW, 'since')).toBe('2026-11-01T06:00:00.000Z');
    expect(parseAuditTime('2026-11-01', NOW, 'since')).toBe('2026-11-01T00:00:00.000Z');
  });

  it('takes a duration ago', () => {
    expect(parseAuditTime('30s', NOW, 'since')).toBe('2026-11-22T11:59:30.000Z');
    expect(parseAuditTime('15m', NOW, 'since')).toBe('2026-11-22T11:45:00.000Z');
    expect(parseAuditTime('2h', NOW, 'since')).toBe('2026-11-22T10:00:00.000Z');
    expect(parseAuditTime('7d', NOW, 'until')).toBe('2026-11-15T12:00:00.000Z');
    // The CLI's one duration syntax: combined units, as the CLI prints durations.
    expect(parseAuditTime('1h30m', NOW, 'since')).toBe('2026-11-22T10:30:00.000Z');
    expect(parseAuditTime('1h 30m', NOW, 'since')).toBe('2026-11-22T10:30:00.000Z');
  });

  it.each(['yesterday', '15', '1w', '-2h', '2026-13-45', 'Nov 1 2026', ''])('refuses "%s"', (value) => {
    expect(() => parseAuditTime(value, NOW, 'since')).toThrow(UsageError);
  });
});
