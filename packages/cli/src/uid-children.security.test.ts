/**
 * Issue 10 (child creation as persistence): `auth-method get` shows the limits that bound what a
 * token holder can mint — the child TTL limit and the per-token child count limit — and the tree
 * shows which credential created each token.
 */
import type { AuthMethod, UidTree } from '@tessera/sdk';
import { describe, expect, it } from 'vitest';
import { renderAuthMethod } from './auth-method.command.js';
import { renderUidTree } from './uid-tree.render.js';

const NOW = Date.parse('2025-06-01T10:00:00Z');

describe('what bounds child creation is visible', () => {
  it('auth-method get prints the child TTL limit and the child count limit', () => {
    const method = {
      id: 'p-uid',
      name: '/demo/uid',
      type: 'universal_identity',
      identityId: 'i-1',
      boundCidrs: [],
      expiresAt: null,
      createdAt: '2025-06-01T09:00:00.000Z',
      updatedAt: '2025-06-01T09:00:00.000Z',
      universalIdentity: {
        ttlSeconds: 3600,
        jwtTtlSeconds: 3600,
        childTtlLimitSeconds: 8 * 3600,
        childCountLimit: 25,
        treeLength: 5,
        denyRotate: false,
        denyInheritance: false,
        reusePolicy: 'revoke',
        rotationGraceSeconds: 120,
      },
    } as AuthMethod;
    const text = renderAuthMethod(method, NOW);
    expect(text).toMatch(/Child TTL limit:\s+8h/);
    expect(text).toMatch(/Child count limit:\s+25 live children per token/);
  });

  it('the tree names the credential that created each token', () => {
    const node = (id: string, createdBy: unknown, children: unknown[] = []) => ({
      id,
      parentId: null,
      depth: 1,
      ttlSeconds: 3600,
      expiresAt: '2025-06-01T11:00:00.000Z',
      createdAt: '2025-06-01T09:00:00.000Z',
      lastRotatedAt: null,
      denyRotate: false,
      denyInheritance: false,
      revoked: false,
      revokedAt: null,
      flagged: false,
      comment: null,
      createdBy,
      children,
    });
    const tree = {
      authMethodId: 'p-uid',
      maxDepth: 2,
      numberOfTokens: 3,
      truncated: false,
      roots: [
        node('root1', { kind: 'admin', identityId: 'i-admin', authMethodId: 'p-adm', sessionId: 'j1' }, [
          node('kid1', { kind: 'holder', nodeId: 'root1', generation: 4, credentialRef: 'hmac-sha256:ab' }),
          node('kid2', { kind: 'session', nodeId: 'root1', sessionId: 'j2' }),
        ]),
      ],
    } as unknown as UidTree;
    const text = renderUidTree(tree, NOW);
    expect(text).toContain('root1');
    expect(text).toMatch(/root1 .*created by administrator i-admin/);
    expect(text).toMatch(/kid1 .*created by root1's token \(generation 4\)/);
    expect(text).toMatch(/kid2 .*created by a session of root1/);
  });
});
