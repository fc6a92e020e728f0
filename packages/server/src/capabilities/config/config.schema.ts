/**
 * The JSON Schema of identity-as-code files, generated from the registered kinds (ADR 0021): what
 * `npm run gen:config-schema` writes to `schemas/tessera-config.schema.json` for editors, and what
 * the server checks every file against.
 */
import type { ConfigKind } from '../../core/shared/config-kinds.js';

export const CONFIG_SCHEMA_ID = 'https://tessera.dev/schemas/tessera-config.schema.json';

/** The schema of one file: each kind's list under its key, every key optional, nothing else. */
export function configFileSchema(kinds: readonly ConfigKind[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    version: { const: 1, description: 'The file format version (1)' },
  };
  for (const kind of kinds) {
    // JSON round trip: TypeBox's symbols are not JSON Schema.
    properties[kind.key] = {
      type: 'array',
      description: kind.description,
      maxItems: 100_000,
      items: JSON.parse(JSON.stringify(kind.schema)),
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: CONFIG_SCHEMA_ID,
    title: 'Tessera identity-as-code file',
    type: 'object',
    additionalProperties: false,
    properties,
  };
}
