import { describe, expect, it } from 'vitest';
import { startTestServer } from './harness.js';

/**
 * Every server the tests start checks, when it closes, that no credential that passed through it
 * is in its audit ledger or its logs (harness.ts). This proves that check can fail.
 */
describe('the credential scan of every test server', () => {
  it('catches a credential written into the audit ledger', async () => {
    const s = await startTestServer('sqlite');
    await s.tessera.uow.write((r) =>
      r.audit.append(
        { type: 'test.leak', outcome: 'success', actor: {}, reason: s.adminToken },
        { requestId: 'req-test', sourceIp: '127.0.0.1', userAgent: null, actor: null },
        s.clock.ms,
      ),
    );
    await expect(s.close()).rejects.toThrow(/is in the audit ledger/);
  });

  it('catches a credential in a log line', async () => {
    const s = await startTestServer('sqlite');
    s.tessera.app.log.info({ note: `careless ${s.adminAccessKey}` }, 'oops');
    await expect(s.close()).rejects.toThrow(/is in the logs/);
  });
});
