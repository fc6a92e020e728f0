import type { Kysely, Migration } from 'kysely';
import type { QueryTarget } from '../../storage/prepared.js';
import { rootSealedAad } from '../../storage/root-sealed-keys.js';
import type { CaRecord, IssuedCertificate, PendingCa, Profile, ProfileSettings } from './pki.model.js';

export interface PkiRepo {
  getActiveCa(): Promise<CaRecord | null>;
  /** The sealed private key of a CA (`root_sealed_keys`), or null. */
  getSealedKey(keyName: string): Promise<string | null>;
  insertCa(ca: CaRecord, sealedKey: string): Promise<void>;
  getPendingCa(): Promise<PendingCa | null>;
  /** Stores a pending intermediate and its sealed key. */
  insertPendingCa(pending: PendingCa, sealedKey: string): Promise<void>;
  /** Makes a pending intermediate the active CA (its key row stays); false when it was no longer pending. */
  activatePendingCa(ca: CaRecord): Promise<boolean>;
  getProfile(name: string): Promise<Profile | null>;
  listProfiles(): Promise<Profile[]>;
  putProfile(profile: Profile): Promise<void>;
  deleteProfile(name: string): Promise<boolean>;
  insertCertificate(cert: IssuedCertificate): Promise<void>;
  getCertificate(serial: string): Promise<IssuedCertificate | null>;
  listCertificates(filter: { identityId?: string; limit: number }): Promise<IssuedCertificate[]>;
  /** Marks a certificate revoked; false when it was already. */
  revokeCertificate(serial: string, nowMs: number): Promise<boolean>;
  /** Revokes an identity's unexpired certificates; returns their serials. */
  revokeOfIdentity(identityId: string, nowMs: number): Promise<string[]>;
  /** Revoked certificates not yet expired at `nowMs` (what a CRL lists). */
  listRevoked(caId: string, nowMs: number): Promise<Array<{ serial: string; revokedAtMs: number }>>;
}

declare module '../../core/shared/unit-of-work.js' {
  interface Repos {
    pki: PkiRepo;
  }
}

/** The capability's own migration history (`tessera_migrations_pki`). */
export const pkiMigrations = (): Record<string, Migration> => ({
  '0001-pki': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pki_cas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('trust_domain', 'text', (c) => c.notNull())
        .addColumn('common_name', 'text', (c) => c.notNull())
        .addColumn('certificate_pem', 'text', (c) => c.notNull())
        .addColumn('key_name', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('not_after_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pki_profiles')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('pki_certificates')
        .addColumn('serial', 'text', (c) => c.primaryKey())
        .addColumn('ca_id', 'text', (c) => c.notNull())
        .addColumn('profile', 'text', (c) => c.notNull())
        .addColumn('identity_id', 'text', (c) => c.notNull())
        .addColumn('spiffe_id', 'text', (c) => c.notNull())
        .addColumn('thumbprint', 'text', (c) => c.notNull())
        .addColumn('not_before_ms', 'bigint', (c) => c.notNull())
        .addColumn('not_after_ms', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at_ms', 'bigint')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('pki_certificates_identity_idx')
        .on('pki_certificates')
        .column('identity_id')
        .execute();
      await db.schema
        .createIndex('pki_certificates_revoked_idx')
        .on('pki_certificates')
        .columns(['ca_id', 'revoked_at_ms'])
        .execute();
    },
  },
  '0002-pki-intermediate': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('pki_cas').addColumn('chain_pem', 'text').execute();
      await db.schema
        .createTable('pki_pending_cas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('trust_domain', 'text', (c) => c.notNull())
        .addColumn('common_name', 'text', (c) => c.notNull())
        .addColumn('csr_pem', 'text', (c) => c.notNull())
        .addColumn('key_name', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
});

type Num = number | string;
interface CaRow {
  id: string;
  trust_domain: string;
  common_name: string;
  certificate_pem: string;
  key_name: string;
  created_at_ms: Num;
  not_after_ms: Num;
  chain_pem: string | null;
}
interface PendingRow {
  id: string;
  trust_domain: string;
  common_name: string;
  csr_pem: string;
  key_name: string;
  created_at_ms: Num;
}
interface ProfileRow {
  name: string;
  settings: string;
  created_at_ms: Num;
  updated_at_ms: Num;
}
interface CertRow {
  serial: string;
  ca_id: string;
  profile: string;
  identity_id: string;
  spiffe_id: string;
  thumbprint: string;
  not_before_ms: Num;
  not_after_ms: Num;
  revoked_at_ms: Num | null;
  created_at_ms: Num;
}
interface Tables {
  pki_cas: CaRow;
  pki_pending_cas: PendingRow;
  pki_profiles: ProfileRow;
  pki_certificates: CertRow;
  root_sealed_keys: { name: string; sealed: string; updated_at: number };
}

const toCa = (r: CaRow): CaRecord => ({
  id: r.id,
  trustDomain: r.trust_domain,
  commonName: r.common_name,
  certificatePem: r.certificate_pem,
  keyName: r.key_name,
  createdAtMs: Number(r.created_at_ms),
  notAfterMs: Number(r.not_after_ms),
  chainPem: r.chain_pem ?? null,
});
const toPending = (r: PendingRow): PendingCa => ({
  id: r.id,
  trustDomain: r.trust_domain,
  commonName: r.common_name,
  csrPem: r.csr_pem,
  keyName: r.key_name,
  createdAtMs: Number(r.created_at_ms),
});
const caRow = (ca: CaRecord): CaRow => ({
  id: ca.id,
  trust_domain: ca.trustDomain,
  common_name: ca.commonName,
  certificate_pem: ca.certificatePem,
  key_name: ca.keyName,
  created_at_ms: ca.createdAtMs,
  not_after_ms: ca.notAfterMs,
  chain_pem: ca.chainPem,
});
const toProfile = (r: ProfileRow): Profile => ({
  ...(JSON.parse(r.settings) as ProfileSettings),
  name: r.name,
  createdAtMs: Number(r.created_at_ms),
  updatedAtMs: Number(r.updated_at_ms),
});
const toCert = (r: CertRow): IssuedCertificate => ({
  serial: r.serial,
  caId: r.ca_id,
  profile: r.profile,
  identityId: r.identity_id,
  spiffeId: r.spiffe_id,
  thumbprint: r.thumbprint,
  notBeforeMs: Number(r.not_before_ms),
  notAfterMs: Number(r.not_after_ms),
  revokedAtMs: r.revoked_at_ms === null ? null : Number(r.revoked_at_ms),
  createdAtMs: Number(r.created_at_ms),
});

/** The sealed-key row name of a CA; `rootSealedAad(name)` is the associated data it is sealed with. */
export const caKeyName = (caId: string) => `pki-ca:${caId}`;
export const caKeyAad = (caId: string) => rootSealedAad(caKeyName(caId));

export function createPkiRepo({ db }: QueryTarget): PkiRepo {
  const t = db as unknown as Kysely<Tables>;
  return {
    async getActiveCa() {
      const row = await t
        .selectFrom('pki_cas')
        .selectAll()
        .orderBy('created_at_ms', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? toCa(row) : null;
    },
    async getSealedKey(keyName) {
      const row = await t
        .selectFrom('root_sealed_keys')
        .select('sealed')
        .where('name', '=', keyName)
        .executeTakeFirst();
      return row?.sealed ?? null;
    },
    async insertCa(ca, sealedKey) {
      // Sealed beside the other root-sealed keys: a root-key rotation re-seals it with them.
      await t
        .insertInto('root_sealed_keys')
        .values({ name: ca.keyName, sealed: sealedKey, updated_at: ca.createdAtMs })
        .execute();
      await t.insertInto('pki_cas').values(caRow(ca)).execute();
    },
    async getPendingCa() {
      const row = await t
        .selectFrom('pki_pending_cas')
        .selectAll()
        .orderBy('created_at_ms', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? toPending(row) : null;
    },
    async insertPendingCa(p, sealedKey) {
      await t
        .insertInto('root_sealed_keys')
        .values({ name: p.keyName, sealed: sealedKey, updated_at: p.createdAtMs })
        .execute();
      await t
        .insertInto('pki_pending_cas')
        .values({
          id: p.id,
          trust_domain: p.trustDomain,
          common_name: p.commonName,
          csr_pem: p.csrPem,
          key_name: p.keyName,
          created_at_ms: p.createdAtMs,
        })
        .execute();
    },
    async activatePendingCa(ca) {
      const removed = await t.deleteFrom('pki_pending_cas').where('id', '=', ca.id).executeTakeFirst();
      if (Number(removed.numDeletedRows) === 0) return false;
      await t.insertInto('pki_cas').values(caRow(ca)).execute();
      return true;
    },
    async getProfile(name) {
      const row = await t.selectFrom('pki_profiles').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toProfile(row) : null;
    },
    async listProfiles() {
      return (await t.selectFrom('pki_profiles').selectAll().orderBy('name').execute()).map(toProfile);
    },
    async putProfile(p) {
      const { name, createdAtMs, updatedAtMs, ...settings } = p;
      const exists = await t
        .selectFrom('pki_profiles')
        .select('name')
        .where('name', '=', name)
        .executeTakeFirst();
      if (exists)
        await t
          .updateTable('pki_profiles')
          .set({ settings: JSON.stringify(settings), updated_at_ms: updatedAtMs })
          .where('name', '=', name)
          .execute();
      else
        await t
          .insertInto('pki_profiles')
          .values({
            name,
            settings: JSON.stringify(settings),
            created_at_ms: createdAtMs,
            updated_at_ms: updatedAtMs,
          })
          .execute();
    },
    async deleteProfile(name) {
      const result = await t.deleteFrom('pki_profiles').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async insertCertificate(c) {
      await t
        .insertInto('pki_certificates')
        .values({
          serial: c.serial,
          ca_id: c.caId,
          profile: c.profile,
          identity_id: c.identityId,
          spiffe_id: c.spiffeId,
          thumbprint: c.thumbprint,
          not_before_ms: c.notBeforeMs,
          not_after_ms: c.notAfterMs,
          revoked_at_ms: c.revokedAtMs,
          created_at_ms: c.createdAtMs,
        })
        .execute();
    },
    async getCertificate(serial) {
      const row = await t
        .selectFrom('pki_certificates')
        .selectAll()
        .where('serial', '=', serial)
        .executeTakeFirst();
      return row ? toCert(row) : null;
    },
    async listCertificates({ identityId, limit }) {
      let q = t.selectFrom('pki_certificates').selectAll();
      if (identityId) q = q.where('identity_id', '=', identityId);
      return (await q.orderBy('created_at_ms', 'desc').limit(limit).execute()).map(toCert);
    },
    async revokeCertificate(serial, nowMs) {
      const result = await t
        .updateTable('pki_certificates')
        .set({ revoked_at_ms: nowMs })
        .where('serial', '=', serial)
        .where('revoked_at_ms', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async revokeOfIdentity(identityId, nowMs) {
      const rows = await t
        .selectFrom('pki_certificates')
        .select('serial')
        .where('identity_id', '=', identityId)
        .where('revoked_at_ms', 'is', null)
        .where('not_after_ms', '>', nowMs)
        .execute();
      if (rows.length === 0) return [];
      await t
        .updateTable('pki_certificates')
        .set({ revoked_at_ms: nowMs })
        .where('identity_id', '=', identityId)
        .where('revoked_at_ms', 'is', null)
        .where('not_after_ms', '>', nowMs)
        .execute();
      return rows.map((r) => r.serial);
    },
    async listRevoked(caId, nowMs) {
      const rows = await t
        .selectFrom('pki_certificates')
        .select(['serial', 'revoked_at_ms'])
        .where('ca_id', '=', caId)
        .where('revoked_at_ms', 'is not', null)
        .where('not_after_ms', '>', nowMs)
        .orderBy('serial')
        .execute();
      return rows.map((r) => ({ serial: r.serial, revokedAtMs: Number(r.revoked_at_ms) }));
    },
  };
}
