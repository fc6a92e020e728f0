/**
 * Presets (issue 13): the issuer, audience conventions and claim names of common workload issuers.
 * A preset only fills what the operator did not give; bound claims are always the operator's.
 */
export interface FederationPreset {
  /** The fixed issuer, when the provider has one (cluster and SPIFFE issuers are per site). */
  issuer: string | null;
  /** Default audience, when the provider has a convention. */
  audience: string | null;
  /** Default identity template. */
  identityTemplate: string | null;
  /** The claims operators usually bind, documented for the CLI and the docs. */
  claims: string[];
  /**
   * Whether the issuer's tokens are meant to be used once (so a method accepts each `jti` once by
   * default). Only GitHub Actions: a job asks the runner for a fresh token (new `jti`) every time.
   * GitLab puts one token per job in a variable that the job may use more than once; Kubernetes,
   * cloud and SPIFFE tokens are cached and reused for their lifetime by design.
   */
  oneTimeTokens?: boolean;
}

export const FEDERATION_PRESETS: Record<string, FederationPreset> = {
  // https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com',
    audience: null,
    identityTemplate: 'ci/github/{repository}',
    claims: ['repository', 'repository_owner', 'ref', 'environment', 'job_workflow_ref', 'event_name'],
    oneTimeTokens: true,
  },
  // https://docs.gitlab.com/ee/ci/secrets/id_token_authentication.html
  gitlab: {
    issuer: 'https://gitlab.com',
    audience: null,
    identityTemplate: 'ci/gitlab/{project_path}',
    claims: ['project_path', 'namespace_path', 'ref', 'ref_type', 'ref_protected', 'environment'],
  },
  // Projected service-account tokens (TokenRequest API): the issuer is the cluster's.
  kubernetes: {
    issuer: null,
    audience: null,
    identityTemplate: 'k8s/{kubernetes.io.namespace}/{kubernetes.io.serviceaccount.name}',
    claims: ['kubernetes.io.namespace', 'kubernetes.io.serviceaccount.name', 'sub'],
  },
  // SPIFFE JWT-SVIDs: `sub` is the SPIFFE ID; the trust domain's bundle is usually pinned (jwks).
  spiffe: {
    issuer: null,
    audience: null,
    identityTemplate: null,
    claims: ['sub'],
  },
  // EKS IAM roles for service accounts: a projected service-account token from the cluster's own
  // issuer (https://oidc.eks.REGION.amazonaws.com/id/ID). Give the pod a token for Tessera's audience
  // (a projected volume with `audience:`) rather than reusing the STS one.
  'aws-eks': {
    issuer: null,
    audience: null,
    identityTemplate: 'aws/eks/{kubernetes.io.namespace}/{kubernetes.io.serviceaccount.name}',
    claims: ['kubernetes.io.namespace', 'kubernetes.io.serviceaccount.name', 'sub'],
  },
  // Azure workload identity: the AKS cluster's issuer; the webhook projects tokens for the
  // audience `api://AzureADTokenExchange` unless the pod asks for another.
  'azure-workload-identity': {
    issuer: null,
    audience: 'api://AzureADTokenExchange',
    identityTemplate: 'azure/aks/{kubernetes.io.namespace}/{kubernetes.io.serviceaccount.name}',
    claims: ['kubernetes.io.namespace', 'kubernetes.io.serviceaccount.name', 'sub'],
  },
  // Google identity tokens from the metadata server (`identity?audience=…&format=full`) or for a
  // service account: the audience is whatever the caller asked for, so it is always the operator's.
  gcp: {
    issuer: 'https://accounts.google.com',
    audience: null,
    // Named by `sub`, the service account's numeric id: an email can be reused after deletion.
    identityTemplate: 'gcp/{sub}',
    claims: [
      'email',
      'email_verified',
      'sub',
      'google.compute_engine.project_id',
      'google.compute_engine.instance_name',
    ],
  },
};
