import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, type ConfiguredServer, run, startConfiguredServer } from './server-process.js';

/**
 * `--approval-required` on `create-secret` and `update-secret-val` (issue 14, ADR 0041), against a
 * real server: the mark is stored with its group and count, reads are then refused without a
 * grant, and `--clear-approval` removes it.
 */
describe('tessera create-secret / update-secret-val --approval-required', () => {
  let server: ConfiguredServer;
  let env: NodeJS.ProcessEnv;
  const tessera = (args: string[]) => run(process.execPath, [bin, ...args], env);
  const approvalOf = async (name: string) => {
    const r = await tessera(['describe-item', '--name', name, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).approval ?? null;
  };

  beforeAll(async () => {
    server = await startConfiguredServer('tessera-secret-approval-', { startTimeoutMs: 60_000 });
    env = server.env;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it('create-secret marks the item with its group and count; a read without a grant is refused', async () => {
    const created = await tessera([
      'create-secret',
      '--name',
      '/prod/root-key',
      '--value',
      'K-1',
      '--approval-required',
      '--approval-group',
      'dba',
      '--approval-count',
      '2',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(await approvalOf('/prod/root-key')).toEqual({ group: 'dba', required: 2 });
    const read = await tessera(['get-secret-value', '--name', '/prod/root-key']);
    expect(read.code).not.toBe(0);
    expect(read.stdout).not.toContain('K-1');
    expect(read.stderr).toContain('TESSERA_APPROVAL_REQUIRED');
  });

  it('update-secret-val clears the mark with --clear-approval and sets it with --approval-required', async () => {
    const cleared = await tessera([
      'update-secret-val',
      '--name',
      '/prod/root-key',
      '--value',
      'K-2',
      '--clear-approval',
    ]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(await approvalOf('/prod/root-key')).toBeNull();
    expect((await tessera(['get-secret-value', '--name', '/prod/root-key'])).stdout).toBe('K-2\n');

    const marked = await tessera([
      'update-secret-val',
      '--name',
      '/prod/root-key',
      '--value',
      'K-3',
      '--approval-required',
    ]);
    expect(marked.code, marked.stderr).toBe(0);
    expect(await approvalOf('/prod/root-key')).toEqual({});
    const read = await tessera(['get-secret-value', '--name', '/prod/root-key']);
    expect(read.code).not.toBe(0);
    expect(read.stdout).not.toContain('K-3');
  });

  it('refuses approval options without --approval-required, and both marking and clearing at once', async () => {
    const lone = await tessera([
      'create-secret',
      '--name',
      '/prod/x',
      '--value',
      'v',
      '--approval-group',
      'dba',
    ]);
    expect(lone.code).toBe(2);
    const both = await tessera([
      'update-secret-val',
      '--name',
      '/prod/root-key',
      '--value',
      'v',
      '--approval-required',
      '--clear-approval',
    ]);
    expect(both.code).toBe(2);
  });
});
