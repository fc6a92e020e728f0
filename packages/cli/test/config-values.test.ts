import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referencedValues } from '../src/config.command.js';

/** `tessera plan|apply` read the files' secret references out of band (ADR 0030). */
describe('secret references in identity-as-code files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-config-values-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads {env} from the environment and {file} relative to the declaring file, keyed as the server keys them', async () => {
    mkdirSync(join(dir, 'identity', 'values'), { recursive: true });
    writeFileSync(join(dir, 'identity', 'values', 'key.txt'), 'file-value\n');
    const path = join(dir, 'identity', 'secrets.yaml');
    const text = [
      'secrets:',
      '  - name: /a',
      '    value: { env: A_VALUE }',
      '  - name: /b',
      '    value: { file: ./values/key.txt }',
      '  - name: /c',
      '    value: { env: NOT_SET }',
      '  - name: /d',
      '    value: { file: missing.txt }',
      'roles:',
      '  - name: r',
      '    associations:',
      '      - { authMethod: m, claims: { env: prod } }',
    ].join('\n');
    const values = await referencedValues([{ path, text }], {
      A_VALUE: 'env-value',
      prod: 'not-a-reference',
    });
    expect(values).toEqual([
      { ref: 'env:A_VALUE', value: 'env-value' },
      { ref: `file:${join(dir, 'identity', 'values', 'key.txt')}`, value: 'file-value\n' },
    ]);
  });

  it('sends nothing for files without references, or that do not parse (the server reports those)', async () => {
    expect(await referencedValues([{ path: 'x.yaml', text: 'identities: []\n' }], {})).toEqual([]);
    expect(await referencedValues([{ path: 'x.yaml', text: 'a: [\n' }], {})).toEqual([]);
  });
});
