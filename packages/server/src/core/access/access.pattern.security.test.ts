/**
 * Rule patterns mean exactly what ADR 0008 says, whatever the characters of the path: `*` is any
 * characters (`/` and line breaks included), `+` one non-empty segment, everything else literal.
 * A regular-expression `.` does not match line breaks, so `/secret/*` once let `/secret/a\nb` past
 * its deny. Names with control characters are refused at validation anyway; the matcher is exact.
 */
import { describe, expect, it } from 'vitest';
import { decide, pathMatches, type Rule } from './access.policy.js';

const BREAKS = ['\n', '\r', '\r\n', '\u2028', '\u2029', '\u0085', '\t', '\0'];

describe('pattern semantics', () => {
  it('`*` matches any characters, line breaks and other control characters included', () => {
    for (const br of BREAKS) {
      const label = JSON.stringify(br);
      expect(pathMatches('/secret/*', `/secret/a${br}b`), label).toBe(true);
      expect(pathMatches('/secret/*', `/secret/${br}`), label).toBe(true);
      expect(pathMatches('/secret/*', `/secret/x/${br}/y`), label).toBe(true);
      expect(pathMatches('*', `${br}`), label).toBe(true);
      expect(pathMatches('/a*z', `/a${br}z`), label).toBe(true);
      expect(pathMatches('*/end', `/x${br}/end`), label).toBe(true);
    }
  });

  it('`+` is exactly one non-empty segment, whatever its characters', () => {
    for (const br of BREAKS) {
      const label = JSON.stringify(br);
      expect(pathMatches('/a/+', `/a/x${br}y`), label).toBe(true);
      expect(pathMatches('/a/+', `/a/${br}`), label).toBe(true);
      expect(pathMatches('/a/+/c', `/a/${br}/c`), label).toBe(true);
      expect(pathMatches('/a/+', `/a/x${br}/y`), label).toBe(false);
    }
    expect(pathMatches('/a/+', '/a/')).toBe(false);
    expect(pathMatches('/a/+', '/a/b/c')).toBe(false);
    expect(pathMatches('/a/+/c', '/a//c')).toBe(false);
  });

  it('`*` matches the empty string and across segments; everything else is literal and case-sensitive', () => {
    expect(pathMatches('/a/*', '/a/')).toBe(true);
    expect(pathMatches('/a/*', '/a/b/c/d')).toBe(true);
    expect(pathMatches('/a/*', '/a')).toBe(false);
    expect(pathMatches('/a/*', '/A/b')).toBe(false);
    expect(pathMatches('/a.b', '/aXb')).toBe(false);
    expect(pathMatches('/a.b', '/a.b')).toBe(true);
    for (const literal of ['/(x)', '/[x]', '/x?', '/x{1}', '/^x$', '/x|y', '/a\\b', '/x.']) {
      expect(pathMatches(literal, literal), literal).toBe(true);
      expect(pathMatches(`${literal}*`, `${literal}tail`), literal).toBe(true);
    }
    expect(pathMatches('/x|y', '/x')).toBe(false);
    expect(pathMatches('/x?', '/')).toBe(false);
    // A line break never stands in for the end of the path.
    expect(pathMatches('/a', '/a\n')).toBe(false);
    expect(pathMatches('/a/+', '/a/b\n/c')).toBe(false);
  });

  it('a deny on `/secret/*` beats a grant for a path with a line break in it', () => {
    const rules: Rule[] = [
      { id: 'grant', ruleType: 'item', path: '*', capabilities: ['read'] },
      { id: 'grant-one', ruleType: 'item', path: '/secret/+', capabilities: ['read'] },
      { id: 'deny', ruleType: 'item', path: '/secret/*', capabilities: ['deny'] },
    ];
    for (const br of BREAKS) {
      const d = decide(rules, 'read', { type: 'item', path: `/secret/db${br}password` });
      expect(d, JSON.stringify(br)).toMatchObject({ allowed: false, reason: 'denied-by-rule' });
    }
  });
});
