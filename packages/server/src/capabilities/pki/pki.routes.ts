import { type Static, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { allOf, identityResource, named } from '../../core/access/access.resources.js';
import { forbidden, notFound, validationError } from '../../core/shared/errors.js';
import { IsoTime, Name, Nullable, StringEnum, toIso, toIsoOrNull } from '../../core/shared/schemas.js';
import type { UnitOfWork } from '../../core/shared/unit-of-work.js';
import { EXT_KEY_USAGES, KEY_TYPES, KEY_USAGES } from '../../crypto/certificates.js';
import type { TypedApp } from '../../http/app.js';
import { errorResponses } from '../../http/error-schemas.js';
import type { CaRecord, IssuedCertificate, PendingCa, Profile } from './pki.model.js';
import { NOT_AFTER_CAPS, type PkiService } from './pki.service.js';
import { registerOcspRoutes } from './pki-ocsp.routes.js';

const tags = ['pki'];
/** Where the trust bundle and the CRL are published (system door, no credential). */
export const BUNDLE_PATH = '/pki/ca.pem';
export const CRL_PATH = '/pki/crl';

const Serial = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Fa-f:]+$' });
const Pem = Type.String({ minLength: 1, maxLength: 16_384 });
const CaSchema = Type.Object({
  id: Type.String(),
  trustDomain: Type.String(),
  commonName: Type.String(),
  certificatePem: Type.String(),
  kind: StringEnum(
    ['root', 'intermediate'] as const,
    'A self-signed root, or an intermediate an outside root signed.',
  ),
  chainPem: Nullable(
    Type.String({ description: 'For an intermediate: its issuers up to the outside root (PEM), else null.' }),
  ),
  notAfter: IsoTime,
  createdAt: IsoTime,
});
const PendingCaSchema = Type.Object({
  id: Type.String(),
  trustDomain: Type.String(),
  commonName: Type.String(),
  csrPem: Type.String({ description: 'The PKCS #10 request to get signed by the outside root CA.' }),
  createdAt: IsoTime,
});
const CaBody = {
  trustDomain: Type.String({ minLength: 1, maxLength: 252 }),
  commonName: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
};
export const ProfileFields = {
  maxTtlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400 })),
  defaultTtlSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 30 * 86_400 })),
  keyTypes: Type.Optional(Type.Array(StringEnum(KEY_TYPES), { minItems: 1, maxItems: 6 })),
  keyUsages: Type.Optional(Type.Array(StringEnum(KEY_USAGES), { minItems: 1, maxItems: 3 })),
  extKeyUsages: Type.Optional(Type.Array(StringEnum(EXT_KEY_USAGES), { minItems: 1, maxItems: 2 })),
  spiffeIdPath: Type.Optional(
    Type.String({
      minLength: 2,
      maxLength: 200,
      description: 'Path of the SPIFFE ID under the trust domain; {identity} is the identity name.',
    }),
  ),
  dnsNames: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 50 })),
};
const ProfileSchema = Type.Object({
  name: Type.String(),
  maxTtlSeconds: Type.Integer(),
  defaultTtlSeconds: Type.Integer(),
  keyTypes: Type.Array(Type.String()),
  keyUsages: Type.Array(Type.String()),
  extKeyUsages: Type.Array(Type.String()),
  spiffeIdPath: Type.String(),
  dnsNames: Type.Array(Type.String()),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
const CertificateSchema = Type.Object({
  serial: Type.String(),
  profile: Type.String(),
  identityId: Type.String(),
  spiffeId: Type.String(),
  thumbprint: Type.String({ description: 'x5t#S256: base64url SHA-256 of the DER certificate.' }),
  notBefore: IsoTime,
  notAfter: IsoTime,
  revokedAt: Nullable(IsoTime),
});
const IssuedSchema = Type.Object({
  certificatePem: Type.String(),
  caBundlePem: Type.String(),
  privateKeyPem: Type.Optional(
    Type.String({
      description:
        'Only with `generateKey: true`: the PKCS #8 private key Tessera made, returned this once and never stored.',
    }),
  ),
  notAfterCappedBy: StringEnum(
    NOT_AFTER_CAPS,
    'What bounded notAfter: the TTL, the CA’s expiry, or the expiry of the credential the request came through (its auth method or UID token).',
  ),
  certificate: CertificateSchema,
});
/** A profile's name: one path segment of `pki:/<name>` in roles. */
const ProfileName = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]*$' });
const ProfileParams = Type.Object({ name: ProfileName });
const SerialParams = Type.Object({ serial: Serial });

const caToWire = (ca: CaRecord) => ({
  id: ca.id,
  trustDomain: ca.trustDomain,
  commonName: ca.commonName,
  certificatePem: ca.certificatePem,
  kind: ca.chainPem === null ? ('root' as const) : ('intermediate' as const),
  chainPem: ca.chainPem,
  notAfter: toIso(ca.notAfterMs),
  createdAt: toIso(ca.createdAtMs),
});
const pendingToWire = (p: PendingCa) => ({
  id: p.id,
  trustDomain: p.trustDomain,
  commonName: p.commonName,
  csrPem: p.csrPem,
  createdAt: toIso(p.createdAtMs),
});
const profileToWire = (p: Profile): Static<typeof ProfileSchema> => ({
  name: p.name,
  maxTtlSeconds: p.maxTtlSeconds,
  defaultTtlSeconds: p.defaultTtlSeconds,
  keyTypes: p.keyTypes,
  keyUsages: p.keyUsages,
  extKeyUsages: p.extKeyUsages,
  spiffeIdPath: p.spiffeIdPath,
  dnsNames: p.dnsNames,
  createdAt: toIso(p.createdAtMs),
  updatedAt: toIso(p.updatedAtMs),
});
export const certificateToWire = (c: IssuedCertificate): Static<typeof CertificateSchema> => ({
  serial: c.serial,
  profile: c.profile,
  identityId: c.identityId,
  spiffeId: c.spiffeId,
  thumbprint: c.thumbprint,
  notBefore: toIso(c.notBeforeMs),
  notAfter: toIso(c.notAfterMs),
  revokedAt: toIsoOrNull(c.revokedAtMs),
});
const normalSerial = (s: string) =>
  s
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');

/** The native routes of the internal CA (`/v1/pki/…`); rules on `pki:/<profile>` govern issuance. */
export function registerPkiRoutes(app: TypedApp, deps: { pki: PkiService; uow: UnitOfWork }) {
  const { pki } = deps;
  const profileResource = (request: FastifyRequest) =>
    named('pki', (request.params as { name: string }).name);

  app.post(
    '/v1/pki/ca',
    {
      config: { access: { permission: { action: 'create', resource: () => named('pki', 'ca') } } },
      schema: {
        tags,
        summary: 'Create the internal certificate authority (a self-signed root)',
        description:
          'Its private key is generated here and sealed under the root key at once; it never leaves the server.',
        body: Type.Object(
          {
            ...CaBody,
            ttlSeconds: Type.Optional(Type.Integer({ minimum: 86_400, maximum: 30 * 365 * 86_400 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: CaSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(caToWire(await pki.createCa(request.body, request.ctx))),
  );
  app.get(
    '/v1/pki/ca',
    {
      config: { access: { public: true } },
      schema: {
        tags,
        summary: 'The internal CA (public: its certificate is the trust bundle)',
        security: [],
        response: { 200: CaSchema, ...errorResponses(404) },
      },
    },
    async () => {
      const ca = await pki.activeCa();
      if (!ca) throw notFound('The certificate authority');
      return caToWire(ca);
    },
  );
  const caResource = () => named('pki', 'ca');
  app.post(
    '/v1/pki/ca/intermediate',
    {
      config: { access: { permission: { action: 'create', resource: caResource } } },
      schema: {
        tags,
        summary:
          'Start an intermediate CA: make its key (sealed here) and return the CSR for an outside root',
        description:
          'The CA is not active until the certificate the outside root signs for this CSR is imported (POST /v1/pki/ca/intermediate/certificate).',
        body: Type.Object(CaBody, { additionalProperties: false }),
        response: { 201: PendingCaSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(pendingToWire(await pki.createIntermediate(request.body, request.ctx))),
  );
  app.get(
    '/v1/pki/ca/intermediate',
    {
      config: { access: { permission: { action: 'read', resource: caResource } } },
      schema: {
        tags,
        summary: 'The intermediate CA waiting for its certificate, with its CSR',
        response: { 200: PendingCaSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async () => pendingToWire(await pki.pendingIntermediate()),
  );
  app.post(
    '/v1/pki/ca/intermediate/certificate',
    {
      config: { access: { permission: { action: 'create', resource: caResource } } },
      schema: {
        tags,
        summary: 'Import the certificate an outside root signed for the intermediate CA, and activate it',
        description:
          'Refused (400, nothing stored) unless the certificate is for the pending key, a current CA certificate allowing keyCertSign and cRLSign, and chains through chainPem to a self-signed root.',
        body: Type.Object(
          {
            certificatePem: Pem,
            chainPem: Type.String({
              minLength: 1,
              maxLength: 32_768,
              description: 'The issuing certificates up to and including the root, issuer first (PEM).',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: CaSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(caToWire(await pki.importIntermediate(request.body, request.ctx))),
  );
  app.put(
    '/v1/pki/profiles/:name',
    {
      config: { access: { permission: { action: 'update', resource: profileResource } } },
      schema: {
        tags,
        summary: 'Create or change a certificate profile',
        params: ProfileParams,
        body: Type.Object(ProfileFields, { additionalProperties: false }),
        response: { 200: ProfileSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => profileToWire(await pki.putProfile(request.params.name, request.body, request.ctx)),
  );
  app.get(
    '/v1/pki/profiles',
    {
      config: { access: { permission: { action: 'list', resource: () => allOf('pki') } } },
      schema: {
        tags,
        summary: 'List certificate profiles',
        response: { 200: Type.Object({ items: Type.Array(ProfileSchema) }), ...errorResponses(401, 403) },
      },
    },
    async () => ({ items: (await pki.listProfiles()).map(profileToWire) }),
  );
  app.get(
    '/v1/pki/profiles/:name',
    {
      config: { access: { permission: { action: 'read', resource: profileResource } } },
      schema: {
        tags,
        summary: 'Read a certificate profile',
        params: ProfileParams,
        response: { 200: ProfileSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => profileToWire(await pki.getProfile(request.params.name)),
  );
  app.delete(
    '/v1/pki/profiles/:name',
    {
      config: { access: { permission: { action: 'delete', resource: profileResource } } },
      schema: {
        tags,
        summary: 'Delete a certificate profile (certificates issued under it stay valid until revoked)',
        params: ProfileParams,
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await pki.deleteProfile(request.params.name, request.ctx);
      return reply.status(204).send();
    },
  );
  app.post(
    '/v1/pki/issue/:name',
    {
      config: { access: { permission: { action: 'create', resource: profileResource } } },
      schema: {
        tags,
        summary: 'Issue a certificate from a CSR (or with a key Tessera makes, when asked) under a profile',
        description:
          'For the caller’s identity (or `identity`, which needs `update` on it). The CSR’s key is used; the names are the profile’s: the SPIFFE ID as URI SAN and only allowed DNS names (400 TESSERA_CSR_REFUSED otherwise). With `generateKey: true` and no CSR, Tessera makes the key pair and returns `privateKeyPem` this once (never stored, never audited). Certificates are backdated 60 s for clock skew; the TTL runs from now, and notAfter never passes the CA’s expiry nor that of the credential the request came through (`notAfterCappedBy`).',
        params: ProfileParams,
        body: Type.Object(
          {
            csr: Type.Optional(Pem),
            generateKey: Type.Optional(
              Type.Boolean({
                description:
                  'Instead of a CSR: Tessera makes the key pair and returns the private key once (never stored).',
              }),
            ),
            keyType: Type.Optional(
              StringEnum(KEY_TYPES, 'With generateKey: the key type (default: the profile’s first).'),
            ),
            dnsNames: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
                maxItems: 50,
                description: 'With generateKey: DNS SANs to ask for (the profile must allow them).',
              }),
            ),
            ttlSeconds: Type.Optional(Type.Integer({ minimum: 10, maximum: 30 * 86_400 })),
            identity: Type.Optional(Name),
          },
          { additionalProperties: false },
        ),
        response: { 200: IssuedSchema, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      let identityId = request.principal!.identityId;
      if (request.body.identity !== undefined) {
        const name = request.body.identity;
        const target = await deps.uow.read((r) => r.identities.getByName(name));
        if (target?.id !== identityId) {
          if (!(await request.permits('update', identityResource(name))))
            throw forbidden('pki_issue_for_other');
          if (!target) throw notFound(`Identity ${name}`);
          identityId = target.id;
        }
      }
      const body = request.body;
      // csr or generateKey (one of them) is issue()'s to check, after the profile: unknown is 404 first.
      // Key options without generateKey are a shape error, like the schema's.
      const generate = body.generateKey === true;
      if (!generate && (body.keyType !== undefined || body.dnsNames !== undefined))
        throw validationError('keyType and dnsNames go with generateKey: true (a CSR carries its own).', {
          field: body.keyType !== undefined ? 'keyType' : 'dnsNames',
        });
      const principal = request.principal!;
      const issued = await pki.issue(
        {
          profile: request.params.name,
          csr: body.csr ?? null,
          ...(generate ? { generateKey: { keyType: body.keyType, dnsNames: body.dnsNames } } : {}),
          ttlSeconds: body.ttlSeconds,
          identityId,
          credential: { authMethodId: principal.authMethodId, uidNodeId: principal.uidNodeId },
        },
        request.ctx,
      );
      // A response carrying a private key is never cached (RFC 9111 §5.2.2.5).
      if (issued.privateKeyPem !== null) reply.header('cache-control', 'no-store');
      return {
        certificatePem: issued.certificatePem,
        caBundlePem: issued.caBundlePem,
        ...(issued.privateKeyPem !== null ? { privateKeyPem: issued.privateKeyPem } : {}),
        notAfterCappedBy: issued.notAfterCappedBy,
        certificate: certificateToWire(issued.record),
      };
    },
  );
  const certificateResource = async (request: FastifyRequest) => {
    const cert = await pki.getCertificate(normalSerial((request.params as { serial: string }).serial));
    return named('pki', cert ? cert.profile : '*');
  };
  app.get(
    '/v1/pki/certificates/:serial',
    {
      config: { access: { permission: { action: 'read', resource: certificateResource } } },
      schema: {
        tags,
        summary: 'A certificate issued by the internal CA',
        params: SerialParams,
        response: { 200: CertificateSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const cert = await pki.getCertificate(normalSerial(request.params.serial));
      if (!cert) throw notFound('The certificate');
      return certificateToWire(cert);
    },
  );
  app.post(
    '/v1/pki/certificates/:serial/revoke',
    {
      config: { access: { permission: { action: 'delete', resource: certificateResource } } },
      schema: {
        tags,
        summary: 'Revoke a certificate: refused by the certificate auth method at once, listed in the CRL',
        params: SerialParams,
        response: { 200: CertificateSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => certificateToWire(await pki.revoke(normalSerial(request.params.serial), request.ctx)),
  );
}

export { OCSP_PATH } from './pki-ocsp.routes.js';

/** The trust bundle, CRL and OCSP responder on the system door (no credential: relying parties fetch them). */
export function registerPkiPublicRoutes(app: TypedApp, deps: { pki: PkiService }) {
  registerOcspRoutes(app, deps);
  app.get(
    BUNDLE_PATH,
    {
      config: { access: { public: true } },
      schema: { tags, summary: 'The CA trust bundle (PEM)', security: [], response: { 200: Type.String() } },
    },
    async (_request, reply) => {
      const pem = await deps.pki.bundle();
      return reply.type('application/x-pem-file').send(pem);
    },
  );
  app.get(
    CRL_PATH,
    {
      config: { access: { public: true } },
      schema: {
        tags,
        summary: 'The certificate revocation list (RFC 5280 §5; DER, or PEM with ?format=pem)',
        security: [],
        querystring: Type.Object(
          { format: Type.Optional(StringEnum(['der', 'pem'] as const)) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const crl = await deps.pki.crl();
      if (request.query.format === 'pem') return reply.type('application/x-pem-file').send(crl.pem);
      return reply.type('application/pkix-crl').send(crl.der);
    },
  );
}
