import type { RequestContext } from '../../core/shared/context.js';
import { conflict, ErrorCodes, notFound, TesseraError, validationError } from '../../core/shared/errors.js';
import type { Clock, CredentialFactory } from '../../core/shared/platform.port.js';
import type { ReadRepos, UnitOfWork } from '../../core/shared/unit-of-work.js';
import {
  EXT_KEY_USAGES,
  KEY_TYPES,
  KEY_USAGES,
  type KeyType,
  newSerial,
  readCertificate,
} from '../../crypto/certificates.js';
import { type RootKey, seal, unseal } from '../../crypto/envelope.js';
import type { LoadedCa, ParsedCsr } from '../../crypto/x509.js';
import type { CaRecord, IssuedCertificate, PendingCa, Profile, ProfileSettings } from './pki.model.js';
import { caKeyAad, caKeyName } from './pki.repo.js';

/**
 * Certificates are backdated this much for clock skew between Tessera and relying parties. The
 * backdating is not counted in the TTL: a 60 s profile issues certificates valid until now + 60 s.
 */
export const BACKDATE_SECONDS = 60;
export const MIN_TTL_SECONDS = 10;
const MAX_PROFILE_TTL_SECONDS = 30 * 86_400;
const DEFAULT_CA_TTL_SECONDS = 10 * 365 * 86_400;
/** A CRL is valid this long; relying parties fetch the next one before. */
const CRL_VALIDITY_SECONDS = 3600;
/** A CRL is re-signed after this long even when nothing changed here (another server may have revoked). */
const CRL_CACHE_MS = 5_000;
/**
 * An OCSP answer is valid this long (its nextUpdate). Short: every answer is signed afresh from the
 * store, so a relying party that asks again learns of a revocation at once.
 */
const OCSP_VALIDITY_SECONDS = 300;
const TRUST_DOMAIN = /^[a-z0-9]([a-z0-9._-]{0,250}[a-z0-9])?$/;
const SPIFFE_PATH = /^(\/[A-Za-z0-9._-]+)+$/;
const DNS_PATTERN = /^(\*|[A-Za-z0-9{}-]+)(\.(\*|[A-Za-z0-9{}-]+))*$/;

/** The CA's X.509 operations, loaded on first use (the library is large; most servers never sign). */
let operations: Promise<typeof import('../../crypto/x509.js')> | null = null;
const x509 = () => {
  operations ??= import('../../crypto/x509.js');
  return operations;
};
let ocspOperations: Promise<typeof import('../../crypto/ocsp.js')> | null = null;
const ocspCodec = () => {
  ocspOperations ??= x509().then(() => import('../../crypto/ocsp.js'));
  return ocspOperations;
};

export const csrRefused = (reason: string, message: string) =>
  new TesseraError(ErrorCodes.CSR_REFUSED, message, { internalReason: reason, details: { reason } });

/** `{identity}` is the identity name without its leading slash (names may be path-like). */
const render = (template: string, identityName: string) =>
  template.replaceAll('{identity}', identityName.replace(/^\/+/, ''));

/** `*` matches one DNS label (or part of one), never a dot. */
function dnsMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[A-Za-z0-9-]*')}$`,
    'i',
  );
  return re.test(name);
}

function subsetOf<T extends string>(input: unknown, all: readonly T[], field: string, fallback: T[]): T[] {
  if (input === undefined) return fallback;
  if (!Array.isArray(input) || input.length === 0 || input.some((v) => !all.includes(v as T)))
    throw validationError(`${field} must be a non-empty list of ${all.join(', ')}.`, { field });
  return [...new Set(input as T[])];
}

/** Validates profile settings over the current ones (or the defaults). */
export function normaliseProfile(
  input: Record<string, unknown>,
  current: ProfileSettings | null,
): ProfileSettings {
  const max = (input.maxTtlSeconds ?? current?.maxTtlSeconds ?? 3600) as number;
  if (!Number.isInteger(max) || max < 60 || max > MAX_PROFILE_TTL_SECONDS)
    throw validationError(`maxTtlSeconds must be between 60 and ${MAX_PROFILE_TTL_SECONDS}.`, {
      field: 'maxTtlSeconds',
    });
  const def = (input.defaultTtlSeconds ?? Math.min(current?.defaultTtlSeconds ?? max, max)) as number;
  if (!Number.isInteger(def) || def < MIN_TTL_SECONDS || def > max)
    throw validationError(`defaultTtlSeconds must be between ${MIN_TTL_SECONDS} and maxTtlSeconds.`, {
      field: 'defaultTtlSeconds',
    });
  const spiffeIdPath = (input.spiffeIdPath ?? current?.spiffeIdPath ?? '/identity/{identity}') as string;
  if (typeof spiffeIdPath !== 'string' || !SPIFFE_PATH.test(render(spiffeIdPath, 'x')))
    throw validationError('spiffeIdPath must be a path such as /workload/{identity}.', {
      field: 'spiffeIdPath',
    });
  const dnsNames = (input.dnsNames ?? current?.dnsNames ?? []) as string[];
  if (
    !Array.isArray(dnsNames) ||
    dnsNames.length > 50 ||
    dnsNames.some((d) => typeof d !== 'string' || !DNS_PATTERN.test(d) || d.length > 253)
  )
    throw validationError('dnsNames must be DNS name patterns (* within a label, {identity}).', {
      field: 'dnsNames',
    });
  return {
    maxTtlSeconds: max,
    defaultTtlSeconds: def,
    keyTypes: subsetOf(
      input.keyTypes,
      KEY_TYPES,
      'keyTypes',
      current?.keyTypes ?? ['ec-p256', 'ec-p384', 'ed25519', 'rsa-2048', 'rsa-3072', 'rsa-4096'],
    ),
    keyUsages: subsetOf(input.keyUsages, KEY_USAGES, 'keyUsages', current?.keyUsages ?? ['digitalSignature']),
    extKeyUsages: subsetOf(
      input.extKeyUsages,
      EXT_KEY_USAGES,
      'extKeyUsages',
      current?.extKeyUsages ?? ['clientAuth', 'serverAuth'],
    ),
    spiffeIdPath,
    dnsNames: [...new Set(dnsNames)],
  };
}

/**
 * What bounded a certificate's `notAfter` (the earliest wins): the requested or default TTL, the
 * CA's own expiry, or the expiry of the credential the request came through — its auth method's
 * `expiresAt`, or the UID token (node) it was obtained from. ADR 0035.
 */
export const NOT_AFTER_CAPS = ['ttl', 'ca_expiry', 'auth_method_expiry', 'uid_token_expiry'] as const;
export type NotAfterCap = (typeof NOT_AFTER_CAPS)[number];

export interface IssueRequest {
  profile: string;
  /** A PEM CSR; or null with `generateKey`, when Tessera makes the key pair (returned once). */
  csr: string | null;
  /** Tessera makes the key (never stored): its type (default: the profile's first) and DNS SANs. */
  generateKey?: { keyType?: KeyType | undefined; dnsNames?: string[] | undefined } | undefined;
  ttlSeconds?: number | undefined;
  /** The identity the certificate is for (the caller's own, or one it may update). */
  identityId: string;
  /**
   * The credential the request came through (the caller's principal): the certificate never
   * outlives it. Null only for internal callers with no credential.
   */
  credential: { authMethodId: string; uidNodeId: string | null } | null;
}

export interface Issued {
  certificatePem: string;
  caBundlePem: string;
  /** Only when Tessera generated the key: PKCS #8 PEM, handed out this once, never stored. */
  privateKeyPem: string | null;
  notAfterCappedBy: NotAfterCap;
  record: IssuedCertificate;
}

/** The earliest of the bounds, in whole seconds (X.509 times have no milliseconds), and why. */
export function capNotAfter(bounds: Array<[NotAfterCap, number | null]>): { ms: number; by: NotAfterCap } {
  let best: { ms: number; by: NotAfterCap } | null = null;
  for (const [by, ms] of bounds) {
    if (ms === null) continue;
    const floored = Math.floor(ms / 1000) * 1000;
    if (!best || floored < best.ms) best = { ms: floored, by };
  }
  if (!best) throw new Error('capNotAfter needs at least one bound');
  return best;
}

/**
 * The internal certificate authority (issue 13, ADR 0024): one CA — a self-signed root, or an
 * intermediate an outside root signed (ADR 0040) — whose private key is sealed under the root key
 * like every other key, profiles, issuance from a CSR (the requester keeps its key), revocation
 * and a CRL.
 */
export function createPkiService(deps: {
  uow: UnitOfWork;
  clock: Clock;
  credentials: CredentialFactory;
  rootKey: RootKey;
  /** Where relying parties fetch the CRL (put into each certificate), or null. */
  crlUrl: string | null;
  /** The OCSP responder's URL (put into each certificate's authorityInfoAccess), or null. */
  ocspUrl?: string | null;
}) {
  const { uow, clock } = deps;
  let loaded: { record: CaRecord; ca: LoadedCa } | null = null;
  let crlCache: { atMs: number; der: Buffer; pem: string } | null = null;

  /** The active CA, loaded (unsealed) once per process; null when none is configured. */
  async function activeCa(): Promise<{ record: CaRecord; ca: LoadedCa } | null> {
    const record = await uow.read((r) => r.pki.getActiveCa());
    if (!record) return null;
    if (loaded?.record.id === record.id) return loaded;
    const sealed = await uow.read((r) => r.pki.getSealedKey(record.keyName));
    if (!sealed) throw new Error(`the key of CA ${record.id} is missing`);
    const pkcs8 = unseal(deps.rootKey, sealed, caKeyAad(record.id));
    try {
      loaded = { record, ca: await (await x509()).loadCa(record.certificatePem, pkcs8) };
    } finally {
      pkcs8.fill(0);
    }
    return loaded;
  }

  async function requireCa() {
    const ca = await activeCa();
    if (!ca) throw conflict('No certificate authority is configured: create one first (POST /v1/pki/ca).');
    return ca;
  }

  function checkTrustDomain(trustDomain: string) {
    if (!TRUST_DOMAIN.test(trustDomain))
      throw validationError('trustDomain must be a lower-case DNS-like name (e.g. example.org).', {
        field: 'trustDomain',
      });
  }

  /** The trust bundle: the CA's certificate, and for an intermediate the chain up to its root. */
  const bundleOf = (record: CaRecord) =>
    record.chainPem
      ? `${record.certificatePem.trimEnd()}\n${record.chainPem.trimEnd()}\n`
      : record.certificatePem;

  async function createCa(
    input: { trustDomain: string; commonName?: string | undefined; ttlSeconds?: number | undefined },
    ctx: RequestContext,
  ): Promise<CaRecord> {
    checkTrustDomain(input.trustDomain);
    const ttl = input.ttlSeconds ?? DEFAULT_CA_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 86_400 || ttl > 30 * 365 * 86_400)
      throw validationError('ttlSeconds of a CA must be between one day and 30 years.', {
        field: 'ttlSeconds',
      });
    if (await uow.read((r) => r.pki.getActiveCa())) throw conflict('A certificate authority already exists.');
    const now = clock.nowMs();
    const commonName = input.commonName ?? `Tessera CA ${input.trustDomain}`;
    const created = await (await x509()).createRootCa({
      commonName,
      trustDomain: input.trustDomain,
      nowMs: now,
      ttlSeconds: ttl,
    });
    const id = deps.credentials.newId('ca-');
    const sealed = seal(deps.rootKey, created.privateKeyPkcs8, caKeyAad(id));
    created.privateKeyPkcs8.fill(0);
    const record: CaRecord = {
      id,
      trustDomain: input.trustDomain,
      commonName,
      certificatePem: created.certificatePem,
      keyName: caKeyName(id),
      createdAtMs: now,
      notAfterMs: created.notAfterMs,
      chainPem: null,
    };
    await uow.write(async (r) => {
      if (await r.pki.getActiveCa()) throw conflict('A certificate authority already exists.');
      await r.pki.insertCa(record, sealed);
      await r.audit.append(
        {
          type: 'pki.ca_created',
          outcome: 'success',
          actor: {},
          resource: '/pki/ca',
          data: {
            caId: id,
            trustDomain: record.trustDomain,
            notAfter: new Date(record.notAfterMs).toISOString(),
            kind: 'root',
          },
        },
        ctx,
        now,
      );
    });
    return record;
  }

  /**
   * Starts an intermediate CA (ADR 0040): its key is made here and sealed at once; the CSR goes to
   * an outside root, and `importIntermediate` activates the CA with the certificate it signed.
   */
  async function createIntermediate(
    input: { trustDomain: string; commonName?: string | undefined },
    ctx: RequestContext,
  ): Promise<PendingCa> {
    checkTrustDomain(input.trustDomain);
    const refuseIfTaken = async (r: ReadRepos) => {
      if (await r.pki.getActiveCa()) throw conflict('A certificate authority already exists.');
      if (await r.pki.getPendingCa())
        throw conflict(
          'An intermediate CA is already waiting for its certificate: GET /v1/pki/ca/intermediate for its CSR.',
        );
    };
    await uow.read(refuseIfTaken);
    const now = clock.nowMs();
    const commonName = input.commonName ?? `Tessera intermediate CA ${input.trustDomain}`;
    const created = await (await x509()).createIntermediateCsr({
      commonName,
      trustDomain: input.trustDomain,
    });
    const id = deps.credentials.newId('ca-');
    const sealed = seal(deps.rootKey, created.privateKeyPkcs8, caKeyAad(id));
    created.privateKeyPkcs8.fill(0);
    const pending: PendingCa = {
      id,
      trustDomain: input.trustDomain,
      commonName,
      csrPem: created.csrPem,
      keyName: caKeyName(id),
      createdAtMs: now,
    };
    await uow.write(async (r) => {
      await refuseIfTaken(r);
      await r.pki.insertPendingCa(pending, sealed);
      await r.audit.append(
        {
          type: 'pki.intermediate_requested',
          outcome: 'success',
          actor: {},
          resource: '/pki/ca',
          data: { caId: id, trustDomain: pending.trustDomain },
        },
        ctx,
        now,
      );
    });
    return pending;
  }

  async function pendingIntermediate(): Promise<PendingCa> {
    const pending = await uow.read((r) => r.pki.getPendingCa());
    if (!pending) throw notFound('A pending intermediate CA');
    return pending;
  }

  /**
   * Activates the pending intermediate with the certificate an outside root signed for its CSR and
   * the chain up to that root; refused (400, nothing stored) unless all of it checks out.
   */
  async function importIntermediate(
    input: { certificatePem: string; chainPem: string },
    ctx: RequestContext,
  ): Promise<CaRecord> {
    const pending = await pendingIntermediate();
    const now = clock.nowMs();
    const checked = await (await x509()).intermediateProblem({
      csrPem: pending.csrPem,
      certificatePem: input.certificatePem,
      chainPem: input.chainPem,
      nowMs: now,
    });
    if ('problem' in checked)
      throw validationError(`The intermediate certificate is refused: ${checked.problem}.`, {
        field: 'certificatePem',
      });
    const record: CaRecord = {
      id: pending.id,
      trustDomain: pending.trustDomain,
      commonName: pending.commonName,
      certificatePem: checked.certificatePem,
      keyName: pending.keyName,
      createdAtMs: now,
      notAfterMs: checked.notAfterMs,
      chainPem: checked.chainPem,
    };
    await uow.write(async (r) => {
      if (await r.pki.getActiveCa()) throw conflict('A certificate authority already exists.');
      if (!(await r.pki.activatePendingCa(record))) throw notFound('A pending intermediate CA');
      await r.audit.append(
        {
          type: 'pki.ca_created',
          outcome: 'success',
          actor: {},
          resource: '/pki/ca',
          data: {
            caId: record.id,
            trustDomain: record.trustDomain,
            notAfter: new Date(record.notAfterMs).toISOString(),
            kind: 'intermediate',
            chainLength: checked.chainPem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0,
          },
        },
        ctx,
        now,
      );
      r.afterCommit(() => {
        crlCache = null;
      });
    });
    return record;
  }

  async function putProfile(
    name: string,
    input: Record<string, unknown>,
    ctx: RequestContext,
  ): Promise<Profile> {
    return uow.write(async (r) => {
      const current = await r.pki.getProfile(name);
      const now = clock.nowMs();
      const profile: Profile = {
        ...normaliseProfile(input, current),
        name,
        createdAtMs: current?.createdAtMs ?? now,
        updatedAtMs: now,
      };
      await r.pki.putProfile(profile);
      await r.audit.append(
        {
          type: current ? 'pki.profile_updated' : 'pki.profile_created',
          outcome: 'success',
          actor: {},
          resource: `/pki/${name}`,
          data: { profile: name, maxTtlSeconds: profile.maxTtlSeconds, spiffeIdPath: profile.spiffeIdPath },
        },
        ctx,
        now,
      );
      return profile;
    });
  }

  async function deleteProfile(name: string, ctx: RequestContext): Promise<void> {
    await uow.write(async (r) => {
      if (!(await r.pki.deleteProfile(name))) throw notFound(`Profile ${name}`);
      await r.audit.append(
        {
          type: 'pki.profile_deleted',
          outcome: 'success',
          actor: {},
          resource: `/pki/${name}`,
          data: { profile: name },
        },
        ctx,
        clock.nowMs(),
      );
    });
  }

  /** The names a request may carry, checked against the profile and the identity; throws CSR_REFUSED. */
  function checkNames(csr: ParsedCsr, profile: Profile, identityName: string, spiffeId: string) {
    if (csr.otherNames.length > 0)
      throw csrRefused('san_kind_not_allowed', 'Only URI (SPIFFE ID) and DNS names may be requested.');
    for (const uri of csr.uris)
      if (uri !== spiffeId)
        throw csrRefused('uri_not_allowed', `The only URI name this identity may have is ${spiffeId}.`);
    const patterns = profile.dnsNames.map((p) => render(p, identityName));
    for (const dns of csr.dnsNames)
      if (!patterns.some((p) => dnsMatches(p, dns)))
        throw csrRefused(
          'dns_name_not_allowed',
          `The profile does not allow the DNS name ${dns.slice(0, 253)}.`,
        );
    const cn = csr.commonName;
    if (cn !== null && cn !== identityName && cn !== spiffeId && !csr.dnsNames.includes(cn))
      throw csrRefused(
        'common_name_not_allowed',
        'The subject CN must be the identity name or one of the requested DNS names.',
      );
  }

  async function issue(request: IssueRequest, ctx: RequestContext): Promise<Issued> {
    const credential = request.credential;
    const [profile, identity, method, node] = await uow.read(async (r) =>
      Promise.all([
        r.pki.getProfile(request.profile),
        r.identities.get(request.identityId),
        credential ? r.authMethods.get(credential.authMethodId) : null,
        credential?.uidNodeId ? r.uid.getNode(credential.uidNodeId) : null,
      ]),
    );
    // An unknown profile is 404 whether or not a CA exists yet.
    if (!profile) throw notFound(`Profile ${request.profile}`);
    const { record, ca } = await requireCa();
    if (!identity || identity.state !== 'active')
      throw csrRefused('identity_not_active', 'Certificates are issued only to active identities.');
    const ttl = request.ttlSeconds ?? profile.defaultTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > profile.maxTtlSeconds)
      throw validationError(
        `ttlSeconds must be between ${MIN_TTL_SECONDS} and the profile's ${profile.maxTtlSeconds}.`,
        { field: 'ttlSeconds' },
      );
    let privateKeyPem: string | null = null;
    let csrPem = request.csr;
    if (request.generateKey) {
      if (csrPem !== null) throw validationError('Send a CSR or ask for a generated key, not both.');
      const keyType = request.generateKey.keyType ?? profile.keyTypes[0]!;
      if (!profile.keyTypes.includes(keyType))
        throw csrRefused(
          'key_type_not_allowed',
          `The profile allows keys of type ${profile.keyTypes.join(', ')}.`,
        );
      // The certificate's CN is the identity's name; the DNS names are checked below like any CSR's.
      const made = await (await x509()).newKeyAndCsrOfType(keyType, {
        dnsNames: request.generateKey.dnsNames ?? [],
      });
      privateKeyPem = made.keyPem;
      csrPem = made.csrPem;
    }
    if (csrPem === null) throw validationError('A CSR is required (or generateKey: true).', { field: 'csr' });
    const csr = await (await x509()).parseCsr(csrPem);
    if (!csr) throw csrRefused('csr_invalid', 'The CSR is malformed or its signature does not verify.');
    if (!csr.keyType || !profile.keyTypes.includes(csr.keyType))
      throw csrRefused(
        'key_type_not_allowed',
        `The profile allows keys of type ${profile.keyTypes.join(', ')}.`,
      );
    const path = render(profile.spiffeIdPath, identity.name);
    if (!SPIFFE_PATH.test(path))
      throw csrRefused('identity_name_not_spiffe', 'The identity name cannot form a SPIFFE ID path.');
    const spiffeId = `spiffe://${record.trustDomain}${path}`;
    checkNames(csr, profile, identity.name, spiffeId);

    const now = clock.nowMs();
    // Backdated for skew; the TTL runs from now, and never past the CA's own expiry.
    const notBeforeMs = Math.floor(now / 1000) * 1000 - BACKDATE_SECONDS * 1000;
    // ...nor past the credential the request came through (ADR 0035): a certificate is itself a
    // credential (the certificate auth method signs in with it), so it ends with the one it came from.
    if (credential && !method)
      throw csrRefused('credential_gone', 'The credential of this request no longer exists.');
    const cap = capNotAfter([
      ['ttl', Math.floor(now / 1000) * 1000 + ttl * 1000],
      ['ca_expiry', record.notAfterMs],
      ['auth_method_expiry', method?.expiresAtMs ?? null],
      ['uid_token_expiry', node?.expiresAtMs ?? null],
    ]);
    const notAfterMs = cap.ms;
    if (notAfterMs <= now) {
      if (cap.by === 'ca_expiry') throw conflict('The certificate authority has expired.');
      throw csrRefused('credential_expired', 'The credential of this request has expired.');
    }
    // The TTL was checked above (and runs from the whole second); only a credential's own expiry
    // can leave less than the shortest TTL.
    const credentialCapped = cap.by === 'auth_method_expiry' || cap.by === 'uid_token_expiry';
    if (credentialCapped && notAfterMs - Math.floor(now / 1000) * 1000 < MIN_TTL_SECONDS * 1000)
      throw csrRefused(
        'credential_expires_too_soon',
        `The credential of this request expires in less than ${MIN_TTL_SECONDS} s: renew it first.`,
      );
    const serial = newSerial();
    const issued = await (await x509()).issueCertificate(ca, csr, {
      serial,
      commonName: csr.commonName ?? identity.name,
      uris: [spiffeId],
      dnsNames: csr.dnsNames,
      notBeforeMs,
      notAfterMs,
      keyUsages: profile.keyUsages,
      extKeyUsages: profile.extKeyUsages,
      crlUrl: deps.crlUrl,
      ocspUrl: deps.ocspUrl ?? null,
    });
    const cert: IssuedCertificate = {
      serial,
      caId: record.id,
      profile: profile.name,
      identityId: identity.id,
      spiffeId,
      thumbprint: readCertificate(issued.der)?.thumbprint ?? '',
      notBeforeMs,
      notAfterMs,
      revokedAtMs: null,
      createdAtMs: now,
    };
    await uow.write(async (r) => {
      // The identity may have been retired while the certificate was signed.
      if ((await r.identities.getState(identity.id)) !== 'active')
        throw csrRefused('identity_not_active', 'Certificates are issued only to active identities.');
      await r.pki.insertCertificate(cert);
      await r.audit.append(
        {
          type: 'pki.certificate_issued',
          outcome: 'success',
          actor: {},
          resource: `/pki/${profile.name}`,
          data: {
            serial,
            identityId: identity.id,
            spiffeId,
            dnsNames: csr.dnsNames,
            notAfter: new Date(notAfterMs).toISOString(),
            notAfterCappedBy: cap.by,
            // Whether Tessera made the key (handed out once): never the key itself.
            keyGeneratedByServer: privateKeyPem !== null,
            keyType: csr.keyType,
          },
        },
        ctx,
        now,
      );
    });
    return {
      certificatePem: issued.pem,
      caBundlePem: bundleOf(record),
      privateKeyPem,
      notAfterCappedBy: cap.by,
      record: cert,
    };
  }

  async function revoke(serial: string, ctx: RequestContext): Promise<IssuedCertificate> {
    const key = serial.toLowerCase().replace(/^0+(?=.)/, '');
    return uow.write(async (r) => {
      const cert = await r.pki.getCertificate(key);
      if (!cert) throw notFound(`Certificate ${key.slice(0, 40)}`);
      const now = clock.nowMs();
      if (await r.pki.revokeCertificate(key, now)) {
        await r.audit.append(
          {
            type: 'pki.certificate_revoked',
            outcome: 'success',
            actor: {},
            resource: `/pki/${cert.profile}`,
            data: { serials: [key], identityId: cert.identityId, cause: 'request' },
          },
          ctx,
          now,
        );
        r.afterCommit(() => {
          crlCache = null;
        });
      }
      return { ...cert, revokedAtMs: cert.revokedAtMs ?? now };
    });
  }

  /** The current CRL (DER and PEM), re-signed at most every few seconds. */
  async function crl(): Promise<{ der: Buffer; pem: string }> {
    const now = clock.nowMs();
    if (crlCache && now - crlCache.atMs < CRL_CACHE_MS) return crlCache;
    const { record, ca } = await requireCa();
    const revoked = await uow.read((r) => r.pki.listRevoked(record.id, now));
    const signed = await (await x509()).createCrl(ca, {
      // Monotonic across servers and restarts: the signing time in ms (RFC 5280 §5.2.3).
      number: now,
      thisUpdateMs: now - BACKDATE_SECONDS * 1000,
      nextUpdateMs: now + CRL_VALIDITY_SECONDS * 1000,
      revoked,
    });
    crlCache = { atMs: now, ...signed };
    return signed;
  }

  /**
   * Answers a DER OCSP request (RFC 6960 §2.2): `good`, `revoked` (with its time) or `unknown`
   * (another issuer, or a serial this CA never issued), signed by the CA; errors are unsigned OCSP
   * error statuses, never HTTP errors, as OCSP clients expect.
   */
  async function ocsp(der: Uint8Array): Promise<Buffer> {
    const codec = await ocspCodec();
    const active = await activeCa();
    // §2.3: "unauthorized" when the responder cannot answer for this issuer (no CA yet).
    if (!active) return codec.ocspErrorResponse('unauthorized');
    const parsed = codec.parseOcspRequest(active.ca, der);
    if (!parsed) return codec.ocspErrorResponse('malformedRequest');
    const now = clock.nowMs();
    const records = await uow.read((r) =>
      Promise.all(parsed.queries.map((q) => (q.thisIssuer ? r.pki.getCertificate(q.serial) : null))),
    );
    const answers = parsed.queries.map((q, i) => {
      const cert = records[i];
      if (!cert || cert.caId !== active.record.id)
        return { certId: q.certId, status: { status: 'unknown' as const } };
      if (cert.revokedAtMs !== null)
        return { certId: q.certId, status: { status: 'revoked' as const, revokedAtMs: cert.revokedAtMs } };
      return { certId: q.certId, status: { status: 'good' as const } };
    });
    const second = Math.floor(now / 1000) * 1000;
    return codec.signOcspResponse(active.ca, {
      answers,
      producedAtMs: second,
      thisUpdateMs: second,
      nextUpdateMs: second + OCSP_VALIDITY_SECONDS * 1000,
      nonce: parsed.nonce,
    });
  }

  return {
    createCa,
    ocsp,
    activeCa: async () => (await activeCa())?.record ?? null,
    bundle: async () => bundleOf((await requireCa()).record),
    createIntermediate,
    pendingIntermediate,
    importIntermediate,
    putProfile,
    deleteProfile,
    getProfile: async (name: string) => {
      const profile = await uow.read((r) => r.pki.getProfile(name));
      if (!profile) throw notFound(`Profile ${name}`);
      return profile;
    },
    listProfiles: () => uow.read((r) => r.pki.listProfiles()),
    issue,
    revoke,
    getCertificate: (serial: string) =>
      uow.read((r) => r.pki.getCertificate(serial.toLowerCase().replace(/^0+(?=.)/, ''))),
    listCertificates: (filter: { identityId?: string; limit: number }) =>
      uow.read((r) => r.pki.listCertificates(filter)),
    crl,
    /** Forget the cached CRL (a revocation committed in this process by another path). */
    invalidateCrl: () => {
      crlCache = null;
    },
  };
}

export type PkiService = ReturnType<typeof createPkiService>;
