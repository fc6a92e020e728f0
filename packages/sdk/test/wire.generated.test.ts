import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The generator reads the server's OpenAPI document from packages/server/dist: `npm test` builds it first.
const script = new URL('../../../scripts/generate-sdk-types.mjs', import.meta.url);
const generated = new URL('../src/wire.generated.ts', import.meta.url);

describe('wire.generated.ts', () => {
  it('is up to date with the server route schemas', async () => {
    const { generate } = (await import(script.href)) as { generate: () => Promise<string> };
    const fresh = await generate();
    expect(
      readFileSync(generated, 'utf8'),
      'packages/sdk/src/wire.generated.ts does not match the server route schemas: run `npm run gen:sdk` and commit the result',
    ).toBe(fresh);
  });
});
