import type { AuthMethod, AuthMethodTypeName } from './auth-methods.model.js';

/** Persistence of auth methods; implemented in storage/. */
export interface AuthMethodRepo {
  insert(method: AuthMethod): Promise<void>;
  get(id: string): Promise<AuthMethod | null>;
  getByName(name: string): Promise<AuthMethod | null>;
  list(type: AuthMethodTypeName | null, limit: number, afterId: string | null): Promise<AuthMethod[]>;
  update(method: AuthMethod): Promise<void>;
  delete(id: string): Promise<void>;
  /** The access-key method whose key has this hash (leak reports, ADR 0020). */
  findBySecretHash(secretHash: string): Promise<AuthMethod | null>;
}
