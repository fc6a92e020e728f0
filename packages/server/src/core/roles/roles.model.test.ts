import { describe, expect, it } from 'vitest';
import { CLAIM_KEYS, claimsMatch, normaliseClaimFilter, principalClaims } from '../access/access.claims.js';
import { normaliseConditions } from '../access/access.conditions.js';
import {
  normaliseCapabilities,
  normaliseRulePath,
  ruleTypeFromWire,
  ruleTypeToAkeyless,
} from './roles.model.js';
import { ClaimsSchema } from './roles.schemas.js';

describe('rule types: native and Akeyless spellings', () => {
  it.each([
    ['item', 'item'],
    ['item-rule', 'item'],
    ['auth-method-rule', 'auth-method'],
    ['role-rule', 'role'],
    ['identity', 'identity'],
    ['audit-rule', 'audit'],
    ['*', '*'],
    ['target-rule', null],
    ['sra-rule', null],
    ['*-rule', null],
    ['uid', null],
    ['', null],
  ])('%s → %s', (wire, type) => {
    expect(ruleTypeFromWire(wire)).toBe(type);
  });

  it('maps back to Akeyless', () => {
    expect(ruleTypeToAkeyless('auth-method')).toBe('auth-method-rule');
    expect(ruleTypeToAkeyless('*')).toBe('*');
  });
});

describe('rule paths', () => {
  it.each([
    ['*', '*'],
    ['/prod/*', '/prod/*'],
    ['prod/*', '/prod/*'],
    ['/+/config', '/+/config'],
    ['/foo/devops-*', '/foo/devops-*'],
    ['/prod/', '/prod/'],
    ['/a//b', null],
    ['/../x', null],
    ['/a/..', null],
    ['/a b', null],
    ['', null],
    ['/a!', null],
    [`/${'a'.repeat(600)}`, null],
  ])('%s → %s', (path, normalised) => {
    expect(normaliseRulePath(path)).toBe(normalised);
  });
});

describe('capabilities', () => {
  it('deduplicates into catalogue order and refuses unknown words', () => {
    expect(normaliseCapabilities(['list', 'read', 'read', 'deny'])).toEqual(['read', 'list', 'deny']);
    expect(normaliseCapabilities([])).toBeNull();
    expect(normaliseCapabilities(['read', 'admin'])).toBeNull();
  });
});

describe('claims', () => {
  it('the wire schema takes exactly the vocabulary', () => {
    expect(Object.keys(ClaimsSchema.properties).sort()).toEqual([...CLAIM_KEYS].sort());
  });

  it('derives the principal claims from the session and the identity', () => {
    expect(
      principalClaims(
        { identityId: 'i-1', uidNodeId: 'c', uidNodePath: '/a/b/c/' },
        { name: 'billing', kind: 'service', environment: 'prod', tags: ['x', 'y'] },
      ),
    ).toEqual({
      'identity-id': ['i-1'],
      'uid-subtree': ['a', 'b', 'c'],
      'identity-name': ['billing'],
      kind: ['service'],
      environment: ['prod'],
      tag: ['x', 'y'],
    });
    expect(principalClaims({ identityId: 'i-1', uidNodeId: null, uidNodePath: null }, null)).toEqual({
      'identity-id': ['i-1'],
    });
  });

  it('normalises filters and refuses unknown keys and bad values', () => {
    expect(normaliseClaimFilter({ environment: 'prod', tag: ['b', 'a', 'b'] })).toEqual({
      filter: { environment: ['prod'], tag: ['a', 'b'] },
    });
    expect(normaliseClaimFilter({ team: 'x' })).toHaveProperty('error');
    expect(normaliseClaimFilter({ environment: [] })).toHaveProperty('error');
    expect(normaliseClaimFilter({ environment: [''] })).toHaveProperty('error');
    expect(normaliseClaimFilter(null)).toEqual({ filter: {} });
  });

  it('the empty filter matches everyone; a key the principal lacks never matches', () => {
    expect(claimsMatch({}, {})).toBe(true);
    expect(claimsMatch({ environment: ['prod'] }, { 'identity-id': ['i-1'] })).toBe(false);
  });
});

describe('conditions', () => {
  it('drops empty parts and checks the rest', () => {
    expect(normaliseConditions({ cidrs: [], claims: {} })).toEqual({ conditions: null });
    expect(normaliseConditions({ cidrs: ['10.0.0.0/8', '10.0.0.0/8'] })).toEqual({
      conditions: { cidrs: ['10.0.0.0/8'] },
    });
    expect(normaliseConditions({ cidrs: ['10.0.0.0/33'] })).toHaveProperty('error');
    expect(normaliseConditions({ timeWindow: { fromHour: 9, toHour: 9 } })).toHaveProperty('error');
    expect(normaliseConditions({ timeWindow: { fromHour: 9, toHour: 25 } })).toHaveProperty('error');
    expect(
      normaliseConditions({ timeWindow: { days: ['fri', 'mon', 'xyz'], fromHour: 9, toHour: 17 } }),
    ).toHaveProperty('error');
    expect(normaliseConditions({ timeWindow: { days: ['fri', 'mon'], fromHour: 9, toHour: 17 } })).toEqual({
      conditions: { timeWindow: { days: ['mon', 'fri'], fromHour: 9, toHour: 17 } },
    });
  });
});
