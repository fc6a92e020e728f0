import { describe, expect, it } from 'vitest';
import { ArgReader, parseArgv } from './argv.parser.js';
import { universalIdentityBody } from './auth-method.command.js';
import { UsageError } from './cli.errors.js';
import { minutesToSeconds, optionalMinutesToSeconds, parseDuration } from './duration.units.js';
import { formatDuration } from './output.format.js';

describe('minutesToSeconds', () => {
  it('converts minutes to whole seconds', () => {
    expect(minutesToSeconds(60, 'ttl')).toBe(3600);
    expect(minutesToSeconds(720, 'jwt-ttl')).toBe(43_200);
    expect(minutesToSeconds(0.5, 'ttl')).toBe(30);
    expect(minutesToSeconds(1.01, 'ttl')).toBe(61);
    expect(optionalMinutesToSeconds(undefined, 'ttl')).toBeUndefined();
    expect(optionalMinutesToSeconds(480, 'child-ttl')).toBe(28_800);
  });

  it('refuses zero, negatives, non-finite, sub-second and absurd values', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 0.001, 1e12]) {
      expect(() => minutesToSeconds(bad, 'ttl')).toThrow(UsageError);
    }
  });
});

describe('parseDuration: one parser for every duration flag', () => {
  it('reads units the same way whatever the flag', () => {
    for (const bare of ['minutes', 'seconds'] as const) {
      expect(parseDuration('90s', 'ttl', bare)).toBe(90);
      expect(parseDuration('30m', 'ttl', bare)).toBe(1800);
      expect(parseDuration('12h', 'ttl', bare)).toBe(43_200);
      expect(parseDuration('7d', 'ttl', bare)).toBe(604_800);
      expect(parseDuration('1h30m', 'ttl', bare)).toBe(5400);
      expect(parseDuration('1h 30m', 'ttl', bare)).toBe(5400);
      expect(parseDuration('1.5h', 'ttl', bare)).toBe(5400);
      expect(parseDuration(' 2D ', 'ttl', bare)).toBe(172_800);
    }
  });

  it('keeps the documented unit of a bare number', () => {
    expect(parseDuration('60', 'ttl', 'minutes')).toBe(3600);
    expect(parseDuration('0.5', 'ttl', 'minutes')).toBe(30);
    expect(parseDuration('60', 'ttl', 'seconds')).toBe(60);
  });

  it('reads back every duration the CLI prints', () => {
    for (const seconds of [1, 45, 60, 90, 3600, 5400, 7200, 43_200, 86_400, 90_000, 604_800, 694_800]) {
      expect(parseDuration(formatDuration(seconds), 'ttl', 'minutes')).toBe(seconds);
    }
  });

  it('accepts zero only where allowed', () => {
    expect(parseDuration('0', 'grace', 'minutes', { allowZero: true })).toBe(0);
    expect(parseDuration('0s', 'grace', 'minutes', { allowZero: true })).toBe(0);
    expect(() => parseDuration('0', 'ttl', 'minutes')).toThrow(UsageError);
  });

  it('refuses malformed, negative, sub-second and absurd values with a usage message', () => {
    for (const bad of [
      '',
      'm',
      '10x',
      '-5',
      '5 minutes',
      '1h-30m',
      '0.001',
      '0.1s',
      '100000d',
      'Infinity',
      '1e9',
    ]) {
      expect(() => parseDuration(bad, 'ttl', 'minutes'), bad).toThrow(UsageError);
    }
    expect(() => parseDuration('10x', 'ttl', 'seconds')).toThrow(/--ttl must be a duration such as 90s, 30m/);
  });
});

describe('auth-method create universal-identity flags', () => {
  const specs = {
    name: { type: 'string', description: '' },
    ttl: { type: 'string', description: '' },
    'jwt-ttl': { type: 'string', description: '' },
    'child-ttl-limit': { type: 'string', description: '' },
    'tree-length': { type: 'number', description: '' },
    'deny-rotate': { type: 'boolean', description: '' },
    'deny-inheritance': { type: 'boolean', description: '' },
    'bound-cidrs': { type: 'list', description: '' },
    'reuse-policy': { type: 'string', description: '' },
    owner: { type: 'string', description: '' },
  } as const;

  it('sends seconds for minute flags', () => {
    const args = new ArgReader(
      parseArgv(
        [
          '--name',
          '/demo/uid',
          '--ttl',
          '60',
          '--jwt-ttl',
          '720',
          '--child-ttl-limit',
          '480',
          '--tree-length',
          '3',
          '--deny-inheritance',
          '--bound-cidrs',
          '10.0.0.0/8,127.0.0.1/32',
          '--reuse-policy',
          'flag',
          '--owner',
          'ops@example.com',
        ],
        specs,
      ),
    );
    expect(universalIdentityBody(args)).toEqual({
      type: 'universal_identity',
      name: '/demo/uid',
      ttlSeconds: 3600,
      jwtTtlSeconds: 43_200,
      childTtlLimitSeconds: 28_800,
      treeLength: 3,
      denyInheritance: true,
      boundCidrs: ['10.0.0.0/8', '127.0.0.1/32'],
      reusePolicy: 'flag',
      owner: 'ops@example.com',
    });
  });

  it('accepts units on the minute flags', () => {
    const args = new ArgReader(
      parseArgv(['--name', 'n', '--ttl', '12h', '--jwt-ttl', '15m', '--child-ttl-limit', '7d'], specs),
    );
    expect(universalIdentityBody(args)).toMatchObject({
      ttlSeconds: 43_200,
      jwtTtlSeconds: 900,
      childTtlLimitSeconds: 604_800,
    });
  });

  it('leaves unset settings to the server', () => {
    expect(universalIdentityBody(new ArgReader(parseArgv(['--name', 'n'], specs)))).toEqual({
      type: 'universal_identity',
      name: 'n',
    });
  });

  it('refuses a bad reuse policy', () => {
    const args = new ArgReader(parseArgv(['--name', 'n', '--reuse-policy', 'ignore'], specs));
    expect(() => universalIdentityBody(args)).toThrow(UsageError);
  });
});
