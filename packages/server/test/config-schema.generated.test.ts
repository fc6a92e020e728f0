import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// The generator builds the server from packages/server/dist: `npm test` builds it first.
const script = new URL('../../../scripts/generate-config-schema.mjs', import.meta.url);
const committed = new URL('../../../schemas/tessera-config.schema.json', import.meta.url);
const examples = new URL('../../../examples/identity-as-code/identity/', import.meta.url);

describe('schemas/tessera-config.schema.json', () => {
  it('is up to date with the config kinds the capabilities register', async () => {
    const { generate } = (await import(script.href)) as { generate: () => Promise<string> };
    expect(
      readFileSync(committed, 'utf8'),
      'schemas/tessera-config.schema.json does not match the registered config kinds: run `npm run gen:config-schema` and commit the result',
    ).toBe(await generate());
  }, 120_000); // builds a server and runs Biome: slow on a loaded machine

  it('accepts the example repository files, as an editor would check them', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(
      JSON.parse(readFileSync(committed, 'utf8')),
    );
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const ok = validate(parse(readFileSync(new URL(file, examples), 'utf8')));
      expect(ok, `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
