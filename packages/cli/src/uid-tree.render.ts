/**
 * Draws a UID token tree for people:
 *
 * ```
 * Auth method p-abc: 3 tokens, max depth 2
 * ywzsub3u4tbu  ttl 60m  expires 2025-06-01T11:00:00Z (in 59m)  rotated 2025-06-01T10:00:00Z (1m ago)
 * ├── ywzsub3u4tbunVCo  ttl 30m  expires …  never rotated  [deny-rotate]
 * └── ywzsub3u4tbuQx2a  REVOKED 2025-06-01T10:05:00Z (55s ago)  ttl 60m  expires …
 * ```
 */

import type { UidNode, UidTree } from '@tessera/sdk';
import { formatDuration, formatTime } from './output.format.js';

/** One line describing a node (no tree drawing). */
export function describeUidNode(node: UidNode, nowMs: number): string {
  const parts: string[] = [node.id];
  if (node.revoked) parts.push(`REVOKED${node.revokedAt ? ` ${formatTime(node.revokedAt, nowMs)}` : ''}`);
  if (node.flagged) parts.push('FLAGGED (reuse detected)');
  parts.push(`ttl ${formatDuration(node.ttlSeconds)}`);
  const expiresMs = Date.parse(node.expiresAt);
  const expired = !node.revoked && !Number.isNaN(expiresMs) && expiresMs <= nowMs;
  parts.push(`${expired ? 'EXPIRED' : 'expires'} ${formatTime(node.expiresAt, nowMs)}`);
  parts.push(node.lastRotatedAt ? `rotated ${formatTime(node.lastRotatedAt, nowMs)}` : 'never rotated');
  const flags = [node.denyRotate ? 'deny-rotate' : '', node.denyInheritance ? 'deny-inheritance' : ''].filter(
    Boolean,
  );
  if (flags.length > 0) parts.push(`[${flags.join(', ')}]`);
  if (node.comment) parts.push(JSON.stringify(node.comment));
  const by = node.createdBy;
  if (by)
    parts.push(
      by.kind === 'holder'
        ? `created by ${by.nodeId}'s token (generation ${by.generation})`
        : by.kind === 'session'
          ? `created by a session of ${by.nodeId}`
          : `created by administrator ${by.identityId ?? '?'}`,
    );
  return parts.join('  ');
}

function drawChildren(children: readonly UidNode[], prefix: string, nowMs: number, out: string[]): void {
  children.forEach((child, i) => {
    const last = i === children.length - 1;
    out.push(`${prefix}${last ? '└── ' : '├── '}${describeUidNode(child, nowMs)}`);
    drawChildren(child.children ?? [], `${prefix}${last ? '    ' : '│   '}`, nowMs, out);
  });
}

/** Draws the whole tree with `├──`, `└──` and `│`; each root starts at the left margin. */
export function renderUidTree(tree: UidTree, nowMs: number): string {
  const count = tree.numberOfTokens;
  const out = [
    `Auth method ${tree.authMethodId}: ${count} token${count === 1 ? '' : 's'}, max depth ${tree.maxDepth}`,
  ];
  if (tree.roots.length === 0) out.push('(no tokens)');
  for (const root of tree.roots) {
    out.push(describeUidNode(root, nowMs));
    drawChildren(root.children ?? [], '', nowMs, out);
  }
  if (tree.truncated) out.push('… (tree truncated by the server; use --json or narrow with --uid-token-id)');
  return `${out.join('\n')}\n`;
}
