import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../shared/errors.js';
import { childFolder, folderOf, folderRange, normaliseFolder, normaliseSecretName } from './secrets.names.js';

describe('item names', () => {
  it.each([
    ['/demo/database-config', '/demo/database-config'],
    ['demo/database-config', '/demo/database-config'],
    ['a', '/a'],
    ['/team.a/svc_1/key-2@prod+blue=x:y', '/team.a/svc_1/key-2@prod+blue=x:y'],
    ['/.hidden/..x/x..', '/.hidden/..x/x..'],
    ['/+/x', '/+/x'],
  ])('%s → %s', (raw, canonical) => {
    expect(normaliseSecretName(raw)).toBe(canonical);
  });

  it.each([
    [''],
    ['/'],
    ['//'],
    ['/a//b'],
    ['/a/'],
    ['a/'],
    ['/a/./b'],
    ['/a/../b'],
    ['..'],
    ['/a/..'],
    ['/a b'],
    ['/a\u0000b'],
    ['/a\nb'],
    ['/é'],
    ['/a?b'],
    ['/a%2fb'],
    ['/a#b'],
    ['/a*'],
    [`/${'a'.repeat(512)}`],
    [`${'a'.repeat(512)}`],
    [`/${Array.from({ length: 33 }, () => 'a').join('/')}`],
  ])('refuses %j with TESSERA_SECRET_NAME_INVALID', (raw) => {
    expect(() => normaliseSecretName(raw)).toThrow(
      expect.objectContaining({ code: ErrorCodes.SECRET_NAME_INVALID }),
    );
  });

  it('accepts the longest and deepest names allowed', () => {
    expect(normaliseSecretName(`/${'a'.repeat(511)}`)).toHaveLength(512);
    const deep = `/${Array.from({ length: 32 }, () => 'a').join('/')}`;
    expect(normaliseSecretName(deep)).toBe(deep);
  });
});

describe('folders', () => {
  it('normalises the folder to list', () => {
    expect(normaliseFolder('')).toBe('/');
    expect(normaliseFolder('/')).toBe('/');
    expect(normaliseFolder('demo')).toBe('/demo');
    expect(normaliseFolder('/demo/')).toBe('/demo');
    expect(() => normaliseFolder('/demo//')).toThrow();
    expect(() => normaliseFolder('/a/../b')).toThrow();
  });

  it('finds the folder of an item and the sub-folder on the way to it', () => {
    expect(folderOf('/a/b/c')).toBe('/a/b');
    expect(folderOf('/a')).toBe('/');
    expect(childFolder('/', '/a/b')).toBe('/a');
    expect(childFolder('/a', '/a/b/c')).toBe('/a/b');
    expect(childFolder('/a', '/a')).toBeNull();
    expect(childFolder('/a', '/ab/c')).toBeNull();
  });

  it('bounds exactly the names below a folder', () => {
    const { low, high } = folderRange('/a');
    const inside = (n: string) => n >= low && n < high;
    expect(['/a/b', '/a/b/c', '/a/-', '/a/~'].every(inside)).toBe(true);
    expect(['/a', '/ab', '/a-b', '/a.b', '/a0', '/b'].some(inside)).toBe(false);
    const root = folderRange('/');
    expect(['/a', '/~', '/0'].every((n) => n >= root.low && n < root.high)).toBe(true);
  });
});
