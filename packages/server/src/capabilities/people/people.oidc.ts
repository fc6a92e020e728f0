import * as oidc from 'openid-client';
import type { OidcLoginConfig } from '../../config/humans.config.js';

/** What a completed sign-in proves about the person (from the verified ID token). */
export interface SignedInClaims {
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
}

/**
 * The relying party (OIDC Core §3.1, authorization code + PKCE S256, `state` and `nonce`) over
 * `openid-client`: it discovers the IdP, builds the authorization URL and redeems the code. The
 * ID token's signature, issuer, audience, expiry and nonce, and the state, are checked by
 * `openid-client`; a tampered or replayed response fails there or at the IdP (codes are single use).
 */
export function createOidcRelyingParty(config: OidcLoginConfig) {
  let discovered: Promise<oidc.Configuration> | null = null;
  const configuration = () => {
    discovered ??= oidc
      .discovery(
        new URL(config.issuer),
        config.clientId,
        undefined,
        config.clientSecret ? oidc.ClientSecretPost(config.clientSecret) : oidc.None(),
        config.allowHttp ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        discovered = null; // try again next time: the IdP may come up later
        throw error;
      });
    return discovered;
  };
  return {
    /** The IdP URL to send the person to. `verifier` and `nonce` are derived per state by the caller. */
    async authorizationUrl(input: { state: string; nonce: string; verifier: string }): Promise<string> {
      const c = await configuration();
      return oidc
        .buildAuthorizationUrl(c, {
          redirect_uri: config.redirectUri,
          scope: config.scopes,
          response_type: 'code',
          state: input.state,
          nonce: input.nonce,
          code_challenge: await oidc.calculatePKCECodeChallenge(input.verifier),
          code_challenge_method: 'S256',
        })
        .toString();
    },
    /** Redeems the callback (its full URL) and verifies the ID token; throws on anything wrong. */
    async complete(
      callbackUrl: string,
      checks: { state: string; nonce: string; verifier: string },
    ): Promise<SignedInClaims> {
      const c = await configuration();
      const tokens = await oidc.authorizationCodeGrant(c, new URL(callbackUrl), {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('no ID token');
      const raw = claims[config.groupsClaim];
      const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
      return {
        issuer: String(claims.iss),
        subject: String(claims.sub),
        email: typeof claims.email === 'string' ? claims.email : null,
        name: typeof claims.name === 'string' ? claims.name : null,
        groups: groups.slice(0, 100).map((g) => g.slice(0, 200)),
      };
    },
  };
}

export type OidcRelyingParty = ReturnType<typeof createOidcRelyingParty>;
