import type { UidNode, UidTree } from '@tessera/sdk';
import { describe, expect, it } from 'vitest';
import { renderUidTree } from './uid-tree.render.js';

const NOW = Date.parse('2025-06-01T10:00:00Z');

function node(id: string, over: Partial<UidNode> = {}, children: UidNode[] = []): UidNode {
  return {
    id,
    parentId: null,
    depth: 1,
    ttlSeconds: 3600,
    expiresAt: '2025-06-01T10:59:00Z',
    createdAt: '2025-06-01T09:59:00Z',
    lastRotatedAt: null,
    denyRotate: false,
    denyInheritance: false,
    revoked: false,
    revokedAt: null,
    flagged: false,
    comment: null,
    children,
    ...over,
  };
}

describe('renderUidTree', () => {
  it('draws nested children with ├── └── and │', () => {
    const tree: UidTree = {
      authMethodId: 'p-abc',
      maxDepth: 3,
      numberOfTokens: 6,
      truncated: false,
      roots: [
        node('app', { lastRotatedAt: '2025-06-01T09:59:00Z' }, [
          node('db', { ttlSeconds: 1800, expiresAt: '2025-06-01T10:30:00Z', comment: 'database' }),
          node('cache', { revoked: true, revokedAt: '2025-06-01T09:58:00Z' }),
          node('notify', { denyRotate: true, denyInheritance: true }, [
            node('email', { expiresAt: '2025-06-01T09:00:00Z' }),
            node('sms', { flagged: true }),
          ]),
        ]),
      ],
    };
    expect(renderUidTree(tree, NOW)).toBe(
      [
        'Auth method p-abc: 6 tokens, max depth 3',
        'app  ttl 60m  expires 2025-06-01T10:59:00Z (in 59m)  rotated 2025-06-01T09:59:00Z (1m ago)',
        '├── db  ttl 30m  expires 2025-06-01T10:30:00Z (in 30m)  never rotated  "database"',
        '├── cache  REVOKED 2025-06-01T09:58:00Z (2m ago)  ttl 60m  expires 2025-06-01T10:59:00Z (in 59m)  never rotated',
        '└── notify  ttl 60m  expires 2025-06-01T10:59:00Z (in 59m)  never rotated  [deny-rotate, deny-inheritance]',
        '    ├── email  ttl 60m  EXPIRED 2025-06-01T09:00:00Z (1h ago)  never rotated',
        '    └── sms  FLAGGED (reuse detected)  ttl 60m  expires 2025-06-01T10:59:00Z (in 59m)  never rotated',
        '',
      ].join('\n'),
    );
  });

  it('keeps │ under a non-last branch', () => {
    const tree: UidTree = {
      authMethodId: 'p-1',
      maxDepth: 3,
      numberOfTokens: 3,
      truncated: false,
      roots: [node('r', {}, [node('a', {}, [node('a1')]), node('b')])],
    };
    const lines = renderUidTree(tree, NOW).split('\n');
    expect(lines[3]?.startsWith('│   └── a1')).toBe(true);
    expect(lines[4]?.startsWith('└── b')).toBe(true);
  });

  it('says so when there are no tokens, and when the tree was truncated', () => {
    const empty = renderUidTree(
      { authMethodId: 'p-1', maxDepth: 0, numberOfTokens: 0, truncated: false, roots: [] },
      NOW,
    );
    expect(empty).toBe('Auth method p-1: 0 tokens, max depth 0\n(no tokens)\n');
    const cut = renderUidTree(
      { authMethodId: 'p-1', maxDepth: 1, numberOfTokens: 1, truncated: true, roots: [node('r')] },
      NOW,
    );
    expect(cut).toContain('truncated');
  });
});
