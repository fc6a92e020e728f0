import { describe, expect, it } from 'vitest';
import { subtreeEnd, type UidNode, type UidTreeNode } from './uid.model.js';
import { buildForest, forestDepth } from './uid.tree.js';

/** A node at `path` (`/root/…/id/`), with its parent and depth derived from the path. */
function node(path: string): UidNode {
  const segments = path.split('/').filter(Boolean);
  return {
    id: segments.at(-1)!,
    methodId: 'p-m',
    identityId: 'i-x',
    parentId: segments.at(-2) ?? null,
    path,
    depth: segments.length,
    ttlSeconds: 60,
    expiresAtMs: 0,
    denyRotate: false,
    denyInheritance: false,
    comment: null,
    createdAtMs: 0,
    lastRotatedAtMs: null,
    rotationSeq: 0,
    revokedAtMs: null,
    revokedReason: null,
    flaggedAtMs: null,
  };
}

/** `id(child id(grandchild), …)`: a compact picture of a forest. */
const shape = (roots: UidTreeNode[]): string =>
  roots.map((r) => (r.children.length ? `${r.id}(${shape(r.children)})` : r.id)).join(',');

const byPath = (paths: string[]) => paths.sort().map(node);

describe('buildForest', () => {
  it('returns nothing for no nodes', () => {
    expect(buildForest([])).toEqual([]);
    expect(forestDepth([])).toBe(0);
  });

  it('nests a tree under its root, children in path order', () => {
    const roots = buildForest(
      byPath(['/r/', '/r/a/', '/r/b/', '/r/a/c/', '/r/a/d/', '/r/b/e/', '/r/a/c/f/']),
    );
    expect(shape(roots)).toBe('r(a(c(f),d),b(e))');
    expect(forestDepth(roots)).toBe(4);
  });

  it('keeps several roots apart', () => {
    const roots = buildForest(byPath(['/r1/', '/r2/', '/r1/a/', '/r2/b/', '/r2/b/c/']));
    expect(shape(roots)).toBe('r1(a),r2(b(c))');
    expect(forestDepth(roots)).toBe(3);
  });

  it('starts a subtree listing at the node asked for (its parent is not in the list)', () => {
    const roots = buildForest(byPath(['/r/a/', '/r/a/b/', '/r/a/b/c/']));
    expect(shape(roots)).toBe('a(b(c))');
    expect(roots[0]!.depth).toBe(2); // the stored depth is kept
    expect(forestDepth(roots)).toBe(3); // depth counted from the listed roots
  });

  it('makes a node whose parent is missing from a truncated list a root, losing no node', () => {
    const roots = buildForest(byPath(['/r/', '/r/a/b/', '/r/c/']));
    expect(shape(roots)).toBe('r(c),b');
    const count = (ns: UidTreeNode[]): number => ns.reduce((n, x) => n + 1 + count(x.children), 0);
    expect(count(roots)).toBe(3);
  });

  it('copies nodes: the input is not mutated', () => {
    const input = byPath(['/r/', '/r/a/']);
    const before = JSON.stringify(input);
    const roots = buildForest(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(roots[0]).not.toBe(input[0]);
    expect(roots[0]!.children[0]).toMatchObject(input[1]!);
  });

  it('handles a deep chain and a wide fan-out', () => {
    const chain = ['/n0/'];
    for (let i = 1; i < 32; i++) chain.push(`${chain[i - 1]}n${i}/`);
    expect(forestDepth(buildForest(byPath(chain)))).toBe(32);

    const fan = ['/r/', ...Array.from({ length: 1000 }, (_, i) => `/r/k${String(i).padStart(4, '0')}/`)];
    const roots = buildForest(byPath(fan));
    expect(roots).toHaveLength(1);
    expect(roots[0]!.children).toHaveLength(1000);
    expect(forestDepth(roots)).toBe(2);
  });
});

describe('subtreeEnd', () => {
  it('bounds exactly the paths of the subtree', () => {
    const path = '/r/a/';
    const end = subtreeEnd(path);
    const inside = ['/r/a/', '/r/a/b/', '/r/a/zzzz/', '/r/a/b/c/d/'];
    const outside = ['/r/', '/r/a0/', '/r/ab/', '/r/b/', '/r/a', '/s/a/', '/r/A/'];
    for (const p of inside) expect(p >= path && p < end, p).toBe(true);
    for (const p of outside) expect(p >= path && p < end, p).toBe(false);
  });

  it('separates children from siblings whose ids extend the node id, for every base32 character', () => {
    const path = '/r/';
    const end = subtreeEnd(path);
    for (const c of 'abcdefghijklmnopqrstuvwxyz234567') {
      const child = `/r/${c}/`;
      const sibling = `/r${c}/`;
      expect(child >= path && child < end, child).toBe(true);
      expect(sibling >= path && sibling < end, sibling).toBe(false);
    }
  });
});
