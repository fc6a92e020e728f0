#!/usr/bin/env node
// A stand-in for a workload issuer, to try oidc_federation methods without a CI system, a cluster
// or a cloud account (docs/workload-identity.md; the documentation test runs it). It makes a signing
// key, writes its public JWK set to --jwks FILE (pin it with `tessera auth-method create
// oidc-federation --jwks-file FILE`) and prints one JWT carrying the claim set the platform documents
// for PRESET, signed with that key. Real workloads get these tokens from their platform instead.
//
//   node examples/federation/local-issuer.mjs PRESET --issuer URL --audience AUD --jwks FILE [--claim K=V ...]
//
// PRESET: gitlab | kubernetes | aws-eks | azure-workload-identity | gcp
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    issuer: { type: 'string' },
    audience: { type: 'string' },
    jwks: { type: 'string' },
    claim: { type: 'string', multiple: true, default: [] },
  },
});
const [preset] = positionals;
if (!preset || !values.issuer || !values.audience || !values.jwks) {
  console.error('usage: local-issuer.mjs PRESET --issuer URL --audience AUD --jwks FILE [--claim K=V ...]');
  process.exit(2);
}
const { issuer: iss, audience: aud } = values;
const now = Math.floor(Date.now() / 1000);

/** A projected service-account token (TokenRequest API): pods, EKS/IRSA, AKS workload identity. */
const serviceAccount = (namespace, name) => ({
  iss,
  aud: [aud],
  sub: `system:serviceaccount:${namespace}:${name}`,
  iat: now,
  nbf: now,
  exp: now + 3600,
  jti: randomUUID(),
  'kubernetes.io': {
    namespace,
    pod: { name: `${name}-7c9d8b5f4-x2x4z`, uid: randomUUID() },
    serviceaccount: { name, uid: randomUUID() },
    node: { name: 'node-1', uid: randomUUID() },
    warnafter: now + 3000,
  },
});

const claimSets = {
  // https://docs.gitlab.com/ee/ci/secrets/id_token_authentication.html
  gitlab: () => ({
    iss,
    aud,
    sub: 'project_path:acme/api:ref_type:branch:ref:main',
    iat: now,
    nbf: now,
    exp: now + 300,
    jti: randomUUID(),
    namespace_id: '72',
    namespace_path: 'acme',
    project_id: '20',
    project_path: 'acme/api',
    user_id: '1',
    user_login: 'deployer',
    pipeline_id: '574',
    pipeline_source: 'push',
    job_id: '302',
    ref: 'main',
    ref_type: 'branch',
    ref_path: 'refs/heads/main',
    ref_protected: 'true',
    environment: 'production',
    environment_protected: 'true',
    deployment_tier: 'production',
    runner_environment: 'gitlab-hosted',
    sha: '714a629c0b401fdce83e847fc9589983fc6f46bc',
    ci_config_ref_uri: 'gitlab.com/acme/api//.gitlab-ci.yml@refs/heads/main',
  }),
  kubernetes: () => serviceAccount('payments', 'api'),
  'aws-eks': () => serviceAccount('payments', 'api'),
  'azure-workload-identity': () => serviceAccount('payments', 'api'),
  // A Google identity token from the metadata server, `identity?audience=AUD&format=full`.
  gcp: () => ({
    iss,
    aud,
    azp: '104176026543815738641',
    sub: '104176026543815738641',
    email: 'billing@acme-prod.iam.gserviceaccount.com',
    email_verified: true,
    iat: now,
    exp: now + 3600,
    google: {
      compute_engine: {
        project_id: 'acme-prod',
        project_number: 739419398126,
        zone: 'europe-west1-b',
        instance_id: '2876549102398412398',
        instance_name: 'billing-1',
        instance_creation_timestamp: now - 86_400,
      },
    },
  }),
};
if (!claimSets[preset]) {
  console.error(`unknown preset ${preset}: ${Object.keys(claimSets).join(', ')}`);
  process.exit(2);
}
const claims = claimSets[preset]();
for (const pair of values.claim) {
  const eq = pair.indexOf('=');
  claims[pair.slice(0, eq)] = pair.slice(eq + 1);
}

const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
const kid = randomUUID();
writeFileSync(
  values.jwks,
  `${JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] }, null, 2)}\n`,
);
process.stdout.write(
  `${await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey)}\n`,
);
