/** Tool catalogue pinning (issue 15): pure functions over definitions and their hashes. */
import type { PinnedTool, ToolDefinition } from './mcp.model.js';

/** JSON with object keys sorted (what is hashed: the same definition always hashes the same). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** What is pinned of a tool: name, title, description, input schema, annotations. */
export const definitionText = (d: ToolDefinition) =>
  canonicalJson({
    name: d.name,
    title: d.title,
    description: d.description,
    inputSchema: d.inputSchema,
    annotations: d.annotations,
  });

export type ToolStatus = 'approved' | 'changed' | 'new' | 'removed';

export interface CatalogueEntry {
  name: string;
  status: ToolStatus;
  hash: string | null;
  pinnedHash: string | null;
  definition: ToolDefinition | null;
}

/** The upstream's current catalogue against the pinned one. */
export function compareCatalogue(
  current: readonly { definition: ToolDefinition; hash: string }[],
  pinned: Readonly<Record<string, PinnedTool>>,
): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  const seen = new Set<string>();
  for (const { definition, hash } of current) {
    seen.add(definition.name);
    const pin = Object.hasOwn(pinned, definition.name) ? pinned[definition.name]! : null;
    out.push({
      name: definition.name,
      status: !pin ? 'new' : pin.hash === hash ? 'approved' : 'changed',
      hash,
      pinnedHash: pin?.hash ?? null,
      definition,
    });
  }
  for (const [name, pin] of Object.entries(pinned))
    if (!seen.has(name))
      out.push({ name, status: 'removed', hash: null, pinnedHash: pin.hash, definition: null });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
