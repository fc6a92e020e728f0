/**
 * A revocation that session-token verification must honour. `node`: tokens of that UID node;
 * `subtree`: tokens of that node and every node below it; `method`: every token of an auth method;
 * `identity`: every token of an identity; `token`: the one token whose `jti` is the subject (RFC 7009). Only tokens issued at or before `revokedAtMs` are
 * affected (a resumed identity gets new tokens).
 */
export interface Revocation {
  seq: number;
  kind: 'node' | 'subtree' | 'method' | 'identity' | 'token';
  subject: string;
  revokedAtMs: number;
  /** After this time no token it could affect is still valid, so it can be forgotten. */
  expiresAtMs: number;
  reason: string;
}

export interface RevocationRepo {
  /** Inserts and returns the assigned sequence number. */
  insert(revocation: Omit<Revocation, 'seq'>): Promise<number>;
  listAfter(seq: number, limit: number): Promise<Revocation[]>;
  deleteExpired(nowMs: number): Promise<number>;
}
