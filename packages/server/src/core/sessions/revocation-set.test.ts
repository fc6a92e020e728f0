import { describe, expect, it } from 'vitest';
import { type RevocableClaims, RevocationSet } from './revocation-set.js';
import type { Revocation } from './revocations.repo.js';

const T = 1_800_000_000_000; // revocation time, ms (a whole second)
const T_S = T / 1000;
let seq = 0;

function revocation(kind: Revocation['kind'], subject: string, extra: Partial<Revocation> = {}): Revocation {
  return {
    seq: ++seq,
    kind,
    subject,
    revokedAtMs: T,
    expiresAtMs: T + 3600_000,
    reason: `${kind} ${subject} revoked`,
    ...extra,
  };
}

const claims = (extra: Partial<RevocableClaims> = {}): RevocableClaims => ({
  sub: 'i-alice',
  am: 'p-method',
  iat: T_S - 10,
  ...extra,
});

/** A token of a UID node at `path` (`/root/…/node/`). */
const uidClaims = (path: string, extra: Partial<RevocableClaims> = {}) =>
  claims({ uid: path.split('/').filter(Boolean).at(-1)!, uidp: path, ...extra });

describe('RevocationSet', () => {
  it('is empty at first and revokes nothing', () => {
    const set = new RevocationSet();
    expect(set.size).toBe(0);
    expect(set.highestSeq).toBe(0);
    expect(set.check(uidClaims('/a/b/c/'))).toBeNull();
  });

  describe('node revocations', () => {
    const set = new RevocationSet();
    set.add(revocation('node', 'b'));

    it("revokes that node's tokens", () => {
      expect(set.check(uidClaims('/a/b/'))).toBe('node b revoked');
    });
    it('leaves its children, its parent and its siblings alone', () => {
      expect(set.check(uidClaims('/a/b/c/'))).toBeNull();
      expect(set.check(uidClaims('/a/'))).toBeNull();
      expect(set.check(uidClaims('/a/x/'))).toBeNull();
    });
    it('does not touch tokens that did not come from a UID node', () => {
      expect(set.check(claims())).toBeNull();
    });
  });

  describe('subtree revocations', () => {
    const set = new RevocationSet();
    set.add(revocation('subtree', 'b'));

    it('revoke the node and every node below it, however deep', () => {
      expect(set.check(uidClaims('/a/b/'))).toBe('subtree b revoked');
      expect(set.check(uidClaims('/a/b/c/'))).toBe('subtree b revoked');
      expect(set.check(uidClaims('/a/b/c/d/e/f/'))).toBe('subtree b revoked');
      expect(set.check(uidClaims('/b/'))).toBe('subtree b revoked');
    });
    it('leave ancestors and siblings alone', () => {
      expect(set.check(uidClaims('/a/'))).toBeNull();
      expect(set.check(uidClaims('/a/c/'))).toBeNull();
    });
    it('match whole path segments only', () => {
      expect(set.check(uidClaims('/a/bb/'))).toBeNull();
      expect(set.check(uidClaims('/a/xb/c/'))).toBeNull();
      expect(set.check(uidClaims('/ab/c/'))).toBeNull();
    });
    it('need the path claim: a token without uidp is not in any subtree', () => {
      expect(set.check(claims({ uid: 'z' }))).toBeNull();
    });
    it('are one entry whatever the subtree size', () => {
      expect(set.size).toBe(1);
    });
  });

  describe('method and identity revocations', () => {
    const set = new RevocationSet();
    set.add(revocation('method', 'p-method'));
    set.add(revocation('identity', 'i-bob'));

    it('revoke every token of the method', () => {
      expect(set.check(claims())).toBe('method p-method revoked');
      expect(set.check(uidClaims('/a/b/'))).toBe('method p-method revoked');
      expect(set.check(claims({ am: 'p-other' }))).toBeNull();
    });
    it('revoke every token of the identity, whatever its method', () => {
      expect(set.check(claims({ sub: 'i-bob', am: 'p-other' }))).toBe('identity i-bob revoked');
      expect(set.check(claims({ sub: 'i-carol', am: 'p-other' }))).toBeNull();
    });
    it('do not confuse subjects across kinds', () => {
      // An identity id that happens to equal a revoked method id is not revoked, and vice versa.
      expect(set.check(claims({ sub: 'p-method', am: 'p-other' }))).toBeNull();
      expect(set.check(claims({ sub: 'i-carol', am: 'i-bob' }))).toBeNull();
      expect(set.check(uidClaims('/p-method/', { am: 'p-other' }))).toBeNull();
    });
  });

  describe('issue time', () => {
    const set = new RevocationSet();
    for (const kind of ['node', 'subtree', 'method', 'identity'] as const) {
      set.add(revocation(kind, kind === 'method' ? 'p-method' : kind === 'identity' ? 'i-alice' : 'b'));
    }
    const subjects = (iat: number) => [
      uidClaims('/a/b/', { iat, sub: 'i-x', am: 'p-x' }), // node and subtree
      uidClaims('/a/b/c/', { iat, sub: 'i-x', am: 'p-x' }), // subtree
      claims({ iat, sub: 'i-x' }), // method
      claims({ iat, am: 'p-x' }), // identity
    ];

    it('tokens issued before or at the revocation are revoked', () => {
      for (const c of [...subjects(T_S - 3600), ...subjects(T_S)]) expect(set.check(c)).not.toBeNull();
    });
    it('tokens issued after the revocation are not affected', () => {
      for (const c of subjects(T_S + 1)) expect(set.check(c)).toBeNull();
    });
    it('keeps the latest revocation of a subject', () => {
      const s = new RevocationSet();
      s.add(revocation('identity', 'i-alice', { revokedAtMs: T }));
      s.add(revocation('identity', 'i-alice', { revokedAtMs: T - 60_000 }));
      expect(s.size).toBe(1);
      expect(s.check(claims({ iat: T_S - 30 }))).not.toBeNull();
      s.add(revocation('identity', 'i-alice', { revokedAtMs: T + 60_000, reason: 'again' }));
      expect(s.check(claims({ iat: T_S + 30 }))).toBe('again');
    });
  });

  it('tracks the highest sequence number, whatever the order of arrival', () => {
    const set = new RevocationSet();
    set.add(revocation('node', 'a', { seq: 7 }));
    set.add(revocation('node', 'b', { seq: 3 }));
    expect(set.highestSeq).toBe(7);
    set.add(revocation('node', 'c', { seq: 12 }));
    expect(set.highestSeq).toBe(12);
  });

  describe('prune', () => {
    it('forgets entries whose affected tokens have all expired, and keeps the rest', () => {
      const set = new RevocationSet();
      set.add(revocation('node', 'old', { expiresAtMs: T + 1000 }));
      set.add(revocation('subtree', 'old', { expiresAtMs: T + 1000 }));
      set.add(revocation('method', 'p-old', { expiresAtMs: T + 1000 }));
      set.add(revocation('identity', 'i-old', { expiresAtMs: T + 1000 }));
      set.add(revocation('node', 'young', { expiresAtMs: T + 5000 }));
      set.add(revocation('identity', 'i-young', { expiresAtMs: T + 5000 }));
      expect(set.size).toBe(6);

      set.prune(T + 1000); // not yet: expiry is inclusive
      expect(set.size).toBe(6);
      set.prune(T + 1001);
      expect(set.size).toBe(2);
      expect(set.check(uidClaims('/old/'))).toBeNull();
      expect(set.check(claims({ sub: 'i-old' }))).toBeNull();
      expect(set.check(uidClaims('/young/'))).not.toBeNull();
      expect(set.check(claims({ sub: 'i-young' }))).not.toBeNull();

      set.prune(T + 10_000);
      expect(set.size).toBe(0);
    });

    it('does not lower the highest sequence number', () => {
      const set = new RevocationSet();
      set.add(revocation('node', 'a', { seq: 42, expiresAtMs: T }));
      set.prune(T + 1);
      expect(set.size).toBe(0);
      expect(set.highestSeq).toBe(42);
    });
  });
});
