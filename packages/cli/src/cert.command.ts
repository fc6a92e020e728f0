/**
 * `tessera cert ca-create|ca-intermediate|ca-import|profile|issue|revoke|bundle` (issue 13): the internal certificate
 * authority. Certificates are issued from a CSR: the private key never leaves the requester.
 */

import { readFile } from 'node:fs/promises';
import type { CertificateProfile, IssuedCertificate, PutCertificateProfileRequest } from '@tessera/sdk';
import type { CommandSpec } from './cli.context.js';
import { UsageError } from './cli.errors.js';
import { durationFlag } from './duration.units.js';
import { writeFileAtomic } from './file.atomic.js';
import { formatTime, listText, renderKeyValues } from './output.format.js';

const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'] as const;
const EXT_KEY_USAGES = ['clientAuth', 'serverAuth'] as const;

function renderProfile(p: CertificateProfile, nowMs: number): string {
  return renderKeyValues([
    ['Profile', p.name],
    ['Max TTL', `${p.maxTtlSeconds}s`],
    ['Default TTL', `${p.defaultTtlSeconds}s`],
    ['SPIFFE ID path', p.spiffeIdPath],
    ['DNS names', listText(p.dnsNames)],
    ['Key types', listText(p.keyTypes)],
    ['Extended key usages', listText(p.extKeyUsages)],
    ['Updated', formatTime(p.updatedAt, nowMs)],
  ]);
}

const caCreate: CommandSpec = {
  path: ['cert', 'ca-create'],
  summary:
    'Create the internal certificate authority (a self-signed root; its key stays sealed on the server)',
  options: {
    'trust-domain': {
      type: 'string',
      placeholder: 'DOMAIN',
      required: true,
      description: 'SPIFFE trust domain, e.g. example.org (certificates carry spiffe://DOMAIN/… IDs)',
    },
    'common-name': { type: 'string', placeholder: 'CN', description: 'the CA certificate subject CN' },
  },
  examples: [
    'tessera cert ca-create --trust-domain example.org',
    'tessera cert ca-create --trust-domain example.org --json',
  ],
  async run(ctx, args) {
    const commonName = args.str('common-name');
    const ca = await ctx.withAdmin((t) =>
      ctx.client.createCertificateAuthority(t, {
        trustDomain: args.requireStr('trust-domain'),
        ...(commonName ? { commonName } : {}),
      }),
    );
    ctx.emit(ca, () =>
      renderKeyValues([
        ['CA', ca.id],
        ['Trust domain', ca.trustDomain],
        ['Subject', ca.commonName],
        ['Expires', formatTime(ca.notAfter, ctx.now())],
      ]),
    );
  },
};

const caIntermediate: CommandSpec = {
  path: ['cert', 'ca-intermediate'],
  summary:
    'Start an intermediate CA: its key is made and sealed on the server; get its CSR signed by your root',
  details:
    'Prints (or writes to --csr-out) the CSR of the pending intermediate; run again with --show to get it ' +
    'back. Hand it to the operator of your root CA, then `tessera cert ca-import` the certificate they sign.',
  options: {
    'trust-domain': {
      type: 'string',
      placeholder: 'DOMAIN',
      description: 'SPIFFE trust domain, e.g. example.org (not with --show)',
    },
    'common-name': { type: 'string', placeholder: 'CN', description: 'the intermediate’s subject CN' },
    show: {
      type: 'boolean',
      description: 'the CSR of the intermediate already waiting, instead of a new one',
    },
    'csr-out': { type: 'string', placeholder: 'FILE', description: 'write the CSR here' },
  },
  examples: [
    'tessera cert ca-intermediate --trust-domain example.org --csr-out intermediate.csr',
    'tessera cert ca-intermediate --show --json',
  ],
  async run(ctx, args) {
    const show = args.bool('show');
    const trustDomain = args.str('trust-domain');
    const commonName = args.str('common-name');
    if (show === (trustDomain !== undefined))
      throw new UsageError('give exactly one of --trust-domain DOMAIN and --show');
    if (show && commonName) throw new UsageError('--common-name goes with --trust-domain');
    const pending = await ctx.withAdmin((t) =>
      trustDomain
        ? ctx.client.createIntermediateCa(t, { trustDomain, ...(commonName ? { commonName } : {}) })
        : ctx.client.getPendingIntermediateCa(t),
    );
    const out = args.str('csr-out');
    if (out) await writeFileAtomic(out, pending.csrPem);
    ctx.emit(pending, () =>
      out
        ? renderKeyValues([
            ['Pending CA', pending.id],
            ['Trust domain', pending.trustDomain],
            ['Subject', pending.commonName],
            ['CSR', out],
            ['Next', 'tessera cert ca-import --cert FILE --chain ROOT.pem'],
          ])
        : pending.csrPem,
    );
  },
};

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${path} (${(error as Error).message})`);
  }
}

const caImport: CommandSpec = {
  path: ['cert', 'ca-import'],
  summary: 'Activate the pending intermediate CA with the certificate your root CA signed for its CSR',
  details:
    'Refused, and nothing changes, unless the certificate is for the pending key, is a current CA certificate ' +
    'allowing keyCertSign and cRLSign, and chains through --chain to a self-signed root.',
  options: {
    cert: {
      type: 'string',
      placeholder: 'FILE',
      required: true,
      description: 'the signed intermediate (PEM)',
    },
    chain: {
      type: 'string',
      placeholder: 'FILE',
      required: true,
      description: 'its issuers up to and including the root, issuer first (PEM)',
    },
  },
  examples: [
    'tessera cert ca-import --cert intermediate.pem --chain root.pem',
    'tessera cert ca-import --cert intermediate.pem --chain chain.pem --json',
  ],
  async run(ctx, args) {
    const certificatePem = await readPem(args.requireStr('cert'), 'cert');
    const chainPem = await readPem(args.requireStr('chain'), 'chain');
    const ca = await ctx.withAdmin((t) => ctx.client.importIntermediateCa(t, { certificatePem, chainPem }));
    ctx.emit(ca, () =>
      renderKeyValues([
        ['CA', ca.id],
        ['Kind', ca.kind],
        ['Trust domain', ca.trustDomain],
        ['Subject', ca.commonName],
        ['Expires', formatTime(ca.notAfter, ctx.now())],
      ]),
    );
  },
};

const profile: CommandSpec = {
  path: ['cert', 'profile'],
  summary: 'Create or change a certificate profile (TTL bound, SPIFFE ID path, allowed DNS names)',
  details:
    '{identity} in --spiffe-path and --dns-names is the requesting identity’s name. Issuing under a ' +
    'profile needs `create` on `pki:/<profile>` (a role rule of type pki).',
  options: {
    name: { type: 'string', placeholder: 'PROFILE', required: true, description: 'profile name, e.g. web' },
    'max-ttl': {
      type: 'string',
      placeholder: 'DURATION',
      description: 'longest certificate TTL (e.g. 1h, 60s)',
    },
    'default-ttl': { type: 'string', placeholder: 'DURATION', description: 'TTL when a request names none' },
    'spiffe-path': {
      type: 'string',
      placeholder: 'PATH',
      description: 'SPIFFE ID path under the trust domain (default /identity/{identity})',
    },
    'dns-names': {
      type: 'list',
      placeholder: 'PATTERNS',
      description: 'allowed DNS SANs (* within a label)',
    },
    'key-types': {
      type: 'list',
      placeholder: 'TYPES',
      description: `allowed CSR keys: ${KEY_TYPES.join(', ')}`,
    },
    'ext-key-usages': {
      type: 'list',
      placeholder: 'USAGES',
      description: 'clientAuth, serverAuth (default both)',
    },
  },
  examples: [
    'tessera cert profile --name web --max-ttl 1h --dns-names "{identity}.svc.cluster.local"',
    'tessera cert profile --name mtls --max-ttl 15m --ext-key-usages clientAuth --json',
  ],
  async run(ctx, args) {
    const body: PutCertificateProfileRequest = {};
    const max = durationFlag(args, 'max-ttl', 'seconds');
    const def = durationFlag(args, 'default-ttl', 'seconds');
    const path = args.str('spiffe-path');
    const dns = args.list('dns-names');
    const keyTypes = args.list('key-types');
    const eku = args.list('ext-key-usages');
    if (max !== undefined) body.maxTtlSeconds = max;
    if (def !== undefined) body.defaultTtlSeconds = def;
    if (path) body.spiffeIdPath = path;
    if (dns) body.dnsNames = dns;
    if (keyTypes) {
      const bad = keyTypes.find((k) => !(KEY_TYPES as readonly string[]).includes(k));
      if (bad) throw new UsageError(`--key-types: ${bad} is not one of ${KEY_TYPES.join(', ')}`);
      body.keyTypes = keyTypes as PutCertificateProfileRequest['keyTypes'];
    }
    if (eku) {
      const bad = eku.find((k) => !(EXT_KEY_USAGES as readonly string[]).includes(k));
      if (bad) throw new UsageError(`--ext-key-usages: ${bad} is not one of ${EXT_KEY_USAGES.join(', ')}`);
      body.extKeyUsages = eku as PutCertificateProfileRequest['extKeyUsages'];
    }
    const saved = await ctx.withAdmin((t) =>
      ctx.client.putCertificateProfile(t, args.requireStr('name'), body),
    );
    ctx.emit(saved, () => renderProfile(saved, ctx.now()));
  },
};

const issue: CommandSpec = {
  path: ['cert', 'issue'],
  summary: 'Get a certificate for a CSR under a profile (for the caller’s identity, or --identity)',
  details:
    'The CSR (PEM, e.g. from `openssl req -new`) carries the public key; the private key never leaves you. ' +
    'Only when asked (--generate-key, instead of --csr) does the server make the key pair: it returns ' +
    'the private key this once (never stored), written to --key-out with mode 0600. ' +
    'With --cert-out the certificate is written atomically (and --bundle-out the CA bundle); otherwise printed.',
  options: {
    // Not --profile: that is the global option naming the CLI's config profile.
    'cert-profile': {
      type: 'string',
      placeholder: 'PROFILE',
      required: true,
      description: 'the certificate profile (pki:/<profile>)',
    },
    csr: {
      type: 'string',
      placeholder: 'FILE',
      description: 'PEM CSR file; - reads standard input (or --generate-key)',
    },
    'generate-key': {
      type: 'boolean',
      description: 'the server makes the key pair (needs --key-out; the key is returned once, never stored)',
    },
    'key-type': {
      type: 'string',
      placeholder: 'TYPE',
      description: `with --generate-key: ${KEY_TYPES.join(', ')} (default: the profile’s first)`,
    },
    'dns-names': {
      type: 'list',
      placeholder: 'NAMES',
      description: 'with --generate-key: DNS SANs to ask for (the profile must allow them)',
    },
    'key-out': {
      type: 'string',
      placeholder: 'FILE',
      description: 'with --generate-key: write the private key here (mode 0600)',
    },
    ttl: {
      type: 'string',
      placeholder: 'DURATION',
      description: 'certificate lifetime (default: the profile’s)',
    },
    identity: {
      type: 'string',
      placeholder: 'NAME',
      description: 'issue for this identity (needs update on it)',
    },
    'cert-out': { type: 'string', placeholder: 'FILE', description: 'write the certificate PEM here' },
    'bundle-out': { type: 'string', placeholder: 'FILE', description: 'write the CA bundle PEM here' },
  },
  examples: [
    'tessera cert issue --cert-profile web --csr app.csr --cert-out app.pem --bundle-out ca.pem',
    'tessera cert issue --cert-profile web --csr - --ttl 10m --json < app.csr',
    'tessera cert issue --cert-profile web --generate-key --key-out app.key --cert-out app.pem',
  ],
  async run(ctx, args) {
    const file = args.str('csr');
    const generate = args.bool('generate-key');
    const keyOut = args.str('key-out');
    const keyType = args.str('key-type');
    const dnsNames = args.list('dns-names');
    if (generate === (file !== undefined))
      throw new UsageError('give exactly one of --csr FILE and --generate-key');
    if (!generate && (keyOut || keyType || dnsNames))
      throw new UsageError('--key-out, --key-type and --dns-names go with --generate-key');
    // The key exists only in the response: without a file to write it to it would be lost (or printed).
    if (generate && !keyOut) throw new UsageError('--generate-key needs --key-out FILE');
    if (keyType && !(KEY_TYPES as readonly string[]).includes(keyType))
      throw new UsageError(`--key-type: ${keyType} is not one of ${KEY_TYPES.join(', ')}`);
    let csr: string | undefined;
    if (file !== undefined) {
      try {
        csr = file === '-' ? await ctx.io.readStdin() : await readFile(file, 'utf8');
      } catch (error) {
        throw new UsageError(`--csr: cannot read ${file} (${(error as Error).message})`);
      }
    }
    const ttlSeconds = durationFlag(args, 'ttl', 'seconds');
    const identity = args.str('identity');
    const issued: IssuedCertificate = await ctx.withAdmin((t) =>
      ctx.client.issueCertificate(t, args.requireStr('cert-profile'), {
        ...(csr !== undefined ? { csr } : { generateKey: true }),
        ...(keyType ? { keyType: keyType as (typeof KEY_TYPES)[number] } : {}),
        ...(dnsNames ? { dnsNames } : {}),
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
        ...(identity ? { identity } : {}),
      }),
    );
    const { privateKeyPem, ...shown } = issued;
    // The key first (0600, atomic): a certificate on disk without its key would be useless.
    if (keyOut && privateKeyPem) await writeFileAtomic(keyOut, privateKeyPem);
    const certOut = args.str('cert-out');
    const bundleOut = args.str('bundle-out');
    if (certOut) await writeFileAtomic(certOut, issued.certificatePem);
    if (bundleOut) await writeFileAtomic(bundleOut, issued.caBundlePem);
    const c = issued.certificate;
    // The private key is never printed, not even with --json: it is in --key-out only.
    ctx.emit(keyOut ? { ...shown, privateKeyFile: keyOut } : shown, () =>
      certOut
        ? renderKeyValues([
            ['Serial', c.serial],
            ['SPIFFE ID', c.spiffeId],
            ['Expires', formatTime(c.notAfter, ctx.now())],
            ['Bounded by', issued.notAfterCappedBy],
            ['Certificate', certOut],
            ['Private key', keyOut],
            ['CA bundle', bundleOut],
          ])
        : issued.certificatePem,
    );
  },
};

const revoke: CommandSpec = {
  path: ['cert', 'revoke'],
  summary: 'Revoke a certificate (refused at once by Tessera; listed in the CRL at /pki/crl)',
  options: {
    serial: {
      type: 'string',
      placeholder: 'HEX',
      required: true,
      description: 'the certificate serial number',
    },
  },
  examples: ['tessera cert revoke --serial 5f3a…', 'tessera cert revoke --serial 5f3a… --json'],
  async run(ctx, args) {
    const record = await ctx.withAdmin((t) => ctx.client.revokeCertificate(t, args.requireStr('serial')));
    ctx.emit(record, () =>
      renderKeyValues([
        ['Serial', record.serial],
        ['SPIFFE ID', record.spiffeId],
        ['Revoked', record.revokedAt ? formatTime(record.revokedAt, ctx.now()) : '-'],
      ]),
    );
  },
};

const bundle: CommandSpec = {
  path: ['cert', 'bundle'],
  summary: 'Print (or write) the CA trust bundle (no credential needed)',
  options: { out: { type: 'string', placeholder: 'FILE', description: 'write the PEM bundle here' } },
  examples: ['tessera cert bundle > ca.pem', 'tessera cert bundle --out ca.pem --json'],
  async run(ctx, args) {
    const ca = await ctx.client.getCertificateAuthority();
    // An intermediate's bundle is its chain: the intermediate, then its issuers up to the root.
    const pem = ca.chainPem
      ? `${ca.certificatePem.trimEnd()}\n${ca.chainPem.trimEnd()}\n`
      : ca.certificatePem;
    const out = args.str('out');
    if (out) await writeFileAtomic(out, pem);
    ctx.emit({ trustDomain: ca.trustDomain, certificatePem: pem, notAfter: ca.notAfter }, () =>
      out ? `Wrote the CA bundle of ${ca.trustDomain} to ${out}\n` : pem,
    );
  },
};

export const certCommands: readonly CommandSpec[] = [
  caCreate,
  caIntermediate,
  caImport,
  profile,
  issue,
  revoke,
  bundle,
];
