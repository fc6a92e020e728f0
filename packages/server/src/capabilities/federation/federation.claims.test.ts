import { describe, expect, it } from 'vitest';
import {
  checkBoundClaims,
  claimValue,
  globMatches,
  isSpiffeIdIn,
  renderTemplate,
} from './federation.claims.js';

describe('bound claims', () => {
  it('glob: * matches any run, including slashes; everything else is literal', () => {
    expect(globMatches('acme/*', 'acme/app')).toBe(true);
    expect(globMatches('acme/*', 'acme/app/sub')).toBe(true);
    expect(globMatches('acme/*', 'acmex/app')).toBe(false);
    expect(globMatches('acme/*', 'evil/acme/app')).toBe(false);
    expect(
      globMatches(
        '*/.github/workflows/deploy.yml@refs/heads/main',
        'acme/app/.github/workflows/deploy.yml@refs/heads/main',
      ),
    ).toBe(true);
    expect(globMatches('a*b*c', 'abc')).toBe(true);
    expect(globMatches('a*b*c', 'acb')).toBe(false);
    expect(globMatches('ab*ba', 'aba')).toBe(false);
    expect(globMatches('refs/heads/main', 'refs/heads/main2')).toBe(false);
    expect(globMatches('a.c', 'abc')).toBe(false);
  });

  it('claim names are keys first, then dotted paths into nested objects', () => {
    const k8s = {
      'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' } },
      n: 3,
      b: true,
    };
    expect(claimValue(k8s, 'kubernetes.io.namespace')).toBe('payments');
    expect(claimValue(k8s, 'kubernetes.io.serviceaccount.name')).toBe('api');
    expect(claimValue(k8s, 'kubernetes.io')).toBeNull();
    expect(claimValue(k8s, 'n')).toBe('3');
    expect(claimValue(k8s, 'b')).toBe('true');
    expect(claimValue({ groups: ['a'] }, 'groups')).toBeNull();
  });

  it('every bound claim must match; a list is any one of its patterns', () => {
    const payload = { repository: 'acme/app', ref: 'refs/heads/main', environment: 'staging' };
    expect(
      checkBoundClaims({ repository: 'acme/*', environment: ['production', 'staging'] }, payload),
    ).toEqual({ ok: true, matched: { repository: 'acme/app', environment: 'staging' } });
    expect(checkBoundClaims({ repository: 'acme/*', ref: 'refs/heads/release' }, payload)).toEqual({
      ok: false,
      claim: 'ref',
      missing: false,
    });
    expect(checkBoundClaims({ job_workflow_ref: '*' }, payload)).toEqual({
      ok: false,
      claim: 'job_workflow_ref',
      missing: true,
    });
  });

  it('templates name identities from claims; an absent claim gives no name', () => {
    expect(renderTemplate('ci/github/{repository}', { repository: 'acme/app' })).toBe('ci/github/acme/app');
    expect(
      renderTemplate('k8s/{kubernetes.io.namespace}/{kubernetes.io.serviceaccount.name}', {
        'kubernetes.io': { namespace: 'p', serviceaccount: { name: 'api' } },
      }),
    ).toBe('k8s/p/api');
    expect(renderTemplate('ci/{missing}', {})).toBeNull();
  });
});

describe('SPIFFE IDs (JWT-SVID sub)', () => {
  it('accepts a workload ID of exactly the trust domain, nothing else', () => {
    expect(isSpiffeIdIn('spiffe://example.org/ns/payments/sa/api', 'example.org')).toBe(true);
    expect(isSpiffeIdIn('spiffe://example.org/a', 'example.org')).toBe(true);
    for (const bad of [
      'spiffe://evil.org/a',
      'spiffe://example.org.evil.org/a',
      'spiffe://example.org',
      'spiffe://example.org/',
      'spiffe://example.org/a/',
      'spiffe://example.org//a',
      'spiffe://example.org/a/../b',
      'spiffe://example.org/./a',
      'spiffe://example.org/a?x=1',
      'spiffe://example.org/a#f',
      'spiffe://example.org:443/a',
      'spiffe://user@example.org/a',
      'SPIFFE://example.org/a',
      'https://example.org/a',
      `spiffe://example.org/${'a'.repeat(2100)}`,
      42,
      null,
    ])
      expect(isSpiffeIdIn(bad, 'example.org'), String(bad)).toBe(false);
  });
});
