import { describe, expect, it } from 'vitest';
import { ArgReader, parseArgv } from './argv.parser.js';
import { universalIdentityBody } from './auth-method.command.js';
import { UsageError } from './cli.errors.js';
import { minutesToSeconds, optionalMinutesToSeconds } from './duration.units.js';

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

describe('auth-method create universal-identity flags', () => {
  const specs = {
    name: { type: 'string', description: '' },
    ttl: { type: 'number', description: '' },
    'jwt-ttl': { type: 'number', description: '' },
    'child-ttl-limit': { type: 'number', description: '' },
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
