import { type Kysely, type Migration, sql } from 'kysely';
import type { QueryTarget } from '../../storage/prepared.js';

/** A person known by their identity provider's subject (issue 14): an owner and approver. */
export interface Person {
  id: string;
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
  /** The auth method a person's sessions are issued under (its roles: those their groups map to). */
  authMethodId: string;
  createdAtMs: number;
  lastLoginAtMs: number | null;
}

/** One sign-in in progress: started by a CLI or console, completed by the IdP's redirect. */
export interface LoginRequest {
  id: string;
  state: string;
  /** Hash of the poll token the starter holds: only it may collect the session. */
  pollHash: string;
  status: 'pending' | 'done' | 'collected' | 'failed';
  personId: string | null;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface PeopleRepo {
  getBySubject(issuer: string, subject: string): Promise<Person | null>;
  getByAuthMethod(authMethodId: string): Promise<Person | null>;
  get(id: string): Promise<Person | null>;
  list(limit: number): Promise<Person[]>;
  insert(p: Person): Promise<void>;
  updateProfile(
    id: string,
    p: { email: string | null; name: string | null; groups: string[]; lastLoginAtMs: number },
  ): Promise<void>;
  insertLogin(l: LoginRequest): Promise<void>;
  getLoginByState(state: string): Promise<LoginRequest | null>;
  getLogin(id: string): Promise<LoginRequest | null>;
  /** `from` → `to` only if still `from` (single use, across servers). */
  transitionLogin(
    id: string,
    from: LoginRequest['status'],
    to: LoginRequest['status'],
    personId?: string,
  ): Promise<boolean>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    people: PeopleRepo;
  }
}

export const peopleMigrations = (): Record<string, Migration> => ({
  '0001-people': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('people')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('name', 'text')
        .addColumn('groups_json', 'text', (c) => c.notNull())
        .addColumn('auth_method_id', 'text', (c) => c.notNull().unique())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_login_at_ms', 'bigint')
        .addUniqueConstraint('people_subject_uq', ['issuer', 'subject'])
        .execute();
      await db.schema
        .createTable('login_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull().unique())
        .addColumn('poll_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('person_id', 'text')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
});

interface PersonRow {
  id: string;
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups_json: string;
  auth_method_id: string;
  created_at_ms: number | string;
  last_login_at_ms: number | string | null;
}
interface LoginRow {
  id: string;
  state: string;
  poll_hash: string;
  status: string;
  person_id: string | null;
  created_at_ms: number | string;
  expires_at_ms: number | string;
}

const toPerson = (r: PersonRow): Person => ({
  id: r.id,
  issuer: r.issuer,
  subject: r.subject,
  email: r.email,
  name: r.name,
  groups: JSON.parse(r.groups_json) as string[],
  authMethodId: r.auth_method_id,
  createdAtMs: Number(r.created_at_ms),
  lastLoginAtMs: r.last_login_at_ms === null ? null : Number(r.last_login_at_ms),
});
const toLogin = (r: LoginRow): LoginRequest => ({
  id: r.id,
  state: r.state,
  pollHash: r.poll_hash,
  status: r.status as LoginRequest['status'],
  personId: r.person_id,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
});

export function createPeopleRepo({ db }: QueryTarget): PeopleRepo {
  const t = db as unknown as Kysely<{ people: PersonRow; login_requests: LoginRow }>;
  const one = async (q: Promise<PersonRow | undefined>) => {
    const row = await q;
    return row ? toPerson(row) : null;
  };
  return {
    getBySubject: (issuer, subject) =>
      one(
        t
          .selectFrom('people')
          .selectAll()
          .where('issuer', '=', issuer)
          .where('subject', '=', subject)
          .executeTakeFirst(),
      ),
    getByAuthMethod: (id) =>
      one(t.selectFrom('people').selectAll().where('auth_method_id', '=', id).executeTakeFirst()),
    get: (id) => one(t.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst()),
    async list(limit) {
      return (await t.selectFrom('people').selectAll().orderBy('created_at_ms').limit(limit).execute()).map(
        toPerson,
      );
    },
    async insert(p) {
      await t
        .insertInto('people')
        .values({
          id: p.id,
          issuer: p.issuer,
          subject: p.subject,
          email: p.email,
          name: p.name,
          groups_json: JSON.stringify(p.groups),
          auth_method_id: p.authMethodId,
          created_at_ms: p.createdAtMs,
          last_login_at_ms: p.lastLoginAtMs,
        })
        .execute();
    },
    async updateProfile(id, p) {
      await t
        .updateTable('people')
        .set({
          email: p.email,
          name: p.name,
          groups_json: JSON.stringify(p.groups),
          last_login_at_ms: p.lastLoginAtMs,
        })
        .where('id', '=', id)
        .execute();
    },
    async insertLogin(l) {
      await t
        .insertInto('login_requests')
        .values({
          id: l.id,
          state: l.state,
          poll_hash: l.pollHash,
          status: l.status,
          person_id: l.personId,
          created_at_ms: l.createdAtMs,
          expires_at_ms: l.expiresAtMs,
        })
        .execute();
    },
    async getLoginByState(state) {
      const row = await t
        .selectFrom('login_requests')
        .selectAll()
        .where('state', '=', state)
        .executeTakeFirst();
      return row ? toLogin(row) : null;
    },
    async getLogin(id) {
      const row = await t.selectFrom('login_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toLogin(row) : null;
    },
    async transitionLogin(id, from, to, personId) {
      const result =
        await sql`update login_requests set status = ${to}, person_id = coalesce(${personId ?? null}, person_id)
        where id = ${id} and status = ${from}`.execute(t);
      return Number(result.numAffectedRows ?? 0) === 1;
    },
  };
}
