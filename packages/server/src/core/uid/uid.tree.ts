import type { UidNode, UidTreeNode } from './uid.model.js';

/**
 * Nests nodes (ordered by path) into trees. Nodes whose parent is not in the list become roots of
 * the answer, so a subtree listing starts at the node it was asked for.
 */
export function buildForest(nodes: readonly UidNode[]): UidTreeNode[] {
  const byId = new Map<string, UidTreeNode>();
  const roots: UidTreeNode[] = [];
  for (const node of nodes) byId.set(node.id, { ...node, children: [] });
  for (const node of nodes) {
    const entry = byId.get(node.id)!;
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    if (parent) parent.children.push(entry);
    else roots.push(entry);
  }
  return roots;
}

/** Depth of the deepest node below (and including) the given roots, counted from them. */
export function forestDepth(roots: readonly UidTreeNode[]): number {
  let max = 0;
  const walk = (n: UidTreeNode, d: number) => {
    if (d > max) max = d;
    for (const c of n.children) walk(c, d + 1);
  };
  for (const r of roots) walk(r, 1);
  return max;
}
