import { describe, expect, it } from 'vitest';
import { ArgReader, editDistance, normaliseFlagName, type OptionSpecs, parseArgv } from './argv.parser.js';
import { UsageError } from './cli.errors.js';

const SPECS: OptionSpecs = {
  'uid-token': { type: 'string', description: 'token' },
  'child-ttl': { type: 'number', description: 'ttl' },
  'deny-rotate': { type: 'boolean', description: 'flag', aliases: ['child-deny-rotate'] },
  json: { type: 'boolean', description: 'json' },
  help: { type: 'boolean', description: 'help' },
  'bound-cidrs': { type: 'list', description: 'cidrs', aliases: ['bound-ips'] },
};

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgv', () => {
  it('reads --flag value and --flag=value', () => {
    expect(parseArgv(['--uid-token', 'u-a', '--child-ttl=30'], SPECS).options).toEqual({
      'uid-token': 'u-a',
      'child-ttl': 30,
    });
  });

  it('maps --uid_token and --uid-token to the same option', () => {
    expect(parseArgv(['--uid_token', 'u-x'], SPECS).options['uid-token']).toBe('u-x');
    expect(parseArgv(['--uid_token=u-y'], SPECS).options['uid-token']).toBe('u-y');
    expect(parseArgv(['--UID-TOKEN', 'u-z'], SPECS).options['uid-token']).toBe('u-z');
    expect(normaliseFlagName('Uid_Token')).toBe('uid-token');
  });

  it('reads booleans in every spelling', () => {
    expect(parseArgv(['--deny-rotate'], SPECS).options['deny-rotate']).toBe(true);
    expect(parseArgv(['--deny-rotate=false'], SPECS).options['deny-rotate']).toBe(false);
    expect(parseArgv(['--deny-rotate', 'true'], SPECS).options['deny-rotate']).toBe(true);
    expect(parseArgv(['--deny-rotate', 'false'], SPECS).options['deny-rotate']).toBe(false);
    expect(parseArgv(['--no-deny-rotate'], SPECS).options['deny-rotate']).toBe(false);
    expect(parseArgv(['--child-deny-rotate'], SPECS).options['deny-rotate']).toBe(true);
    expect(parseArgv(['--deny_rotate'], SPECS).options['deny-rotate']).toBe(true);
    // A non-boolean word after a boolean is a positional, not its value.
    expect(parseArgv(['--json', 'extra'], SPECS)).toEqual({
      positionals: ['extra'],
      options: { json: true },
    });
    expect(usage(() => parseArgv(['--json=maybe'], SPECS))).toContain('true or false');
  });

  it('collects lists from commas and repetition, with aliases', () => {
    const parsed = parseArgv(
      ['--bound-cidrs', '10.0.0.0/8, 192.168.0.0/16', '--bound-ips=127.0.0.1/32'],
      SPECS,
    );
    expect(parsed.options['bound-cidrs']).toEqual(['10.0.0.0/8', '192.168.0.0/16', '127.0.0.1/32']);
  });

  it('keeps positionals, -h and everything after --', () => {
    expect(parseArgv(['id-1', '-h', '--', '--json'], SPECS)).toEqual({
      positionals: ['id-1', '--json'],
      options: { help: true },
    });
  });

  it('accepts values that start with a single dash', () => {
    expect(parseArgv(['--uid-token', '-'], SPECS).options['uid-token']).toBe('-');
    expect(parseArgv(['--child-ttl', '-5'], SPECS).options['child-ttl']).toBe(-5);
  });

  it('refuses unknown options with a suggestion', () => {
    expect(usage(() => parseArgv(['--uid-tokn', 'x'], SPECS))).toBe(
      'unknown option --uid-tokn (did you mean --uid-token?)',
    );
    expect(usage(() => parseArgv(['--zzzzzz'], SPECS))).toBe('unknown option --zzzzzz');
  });

  it('refuses a missing value and a bad number', () => {
    expect(usage(() => parseArgv(['--uid-token'], SPECS))).toContain('needs a value');
    expect(usage(() => parseArgv(['--uid-token', '--json'], SPECS))).toContain('needs a value');
    expect(usage(() => parseArgv(['--child-ttl', 'soon'], SPECS))).toContain('must be a number');
    expect(usage(() => parseArgv(['--child-ttl='], SPECS))).toContain('must be a number');
    expect(usage(() => parseArgv(['--no-deny-rotate=1'], SPECS))).toContain('takes no value');
  });

  it('lets the last value of a repeated string option win', () => {
    expect(parseArgv(['--uid-token', 'a', '--uid-token', 'b'], SPECS).options['uid-token']).toBe('b');
  });
});

describe('ArgReader', () => {
  it('gives typed access and validates', () => {
    const r = new ArgReader(parseArgv(['--uid-token', 'u-1', '--child-ttl', '2.5', '--json'], SPECS));
    expect(r.str('uid-token')).toBe('u-1');
    expect(r.num('child-ttl')).toBe(2.5);
    expect(r.bool('json')).toBe(true);
    expect(r.bool('deny-rotate')).toBe(false);
    expect(r.maybeBool('deny-rotate')).toBeUndefined();
    expect(usage(() => r.positiveInt('child-ttl'))).toContain('whole number');
    expect(usage(() => r.requireStr('missing'))).toBe('--missing is required');
    expect(r.choice('uid-token', ['u-1', 'u-2'] as const)).toBe('u-1');
    expect(usage(() => r.choice('uid-token', ['x'] as const))).toContain('must be one of x');
  });
});

describe('editDistance', () => {
  it('counts edits', () => {
    expect(editDistance('list', 'lst')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});
