// Screenshots of the console's main pages for docs/console/ (run after `npm run build`):
//   node packages/console/scripts/screenshots.mjs [--out docs/console]
// Boots a throwaway server, seeds a small demo estate through the SDK, and drives Debian's Chromium.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TesseraClient } from '@tessera/sdk';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '../../..');
const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/console' } } });
const out = resolve(root, values.out);
mkdirSync(out, { recursive: true });

const dir = mkdtempSync(join(tmpdir(), 'tessera-shots-'));
const server = spawn(
  process.execPath,
  [join(root, 'packages/cli/bin/tessera.js'), 'server', '--port', '0', '--data-dir', join(dir, 'data')],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' } },
);
const base = await new Promise((ok, fail) => {
  let log = '';
  server.stdout.on('data', (d) => {
    log += d;
    const m = /listening on (http:\/\/\S+)/.exec(log);
    if (m) ok(m[1]);
  });
  server.on('exit', () => fail(new Error(`server exited:\n${log}`)));
});

let browser;
try {
  const admin = JSON.parse(readFileSync(join(dir, 'data/admin.json'), 'utf8'));
  const api = new TesseraClient({ url: base });
  const token = (await api.auth({ accessType: 'access_key', ...admin })).token;
  const demo = [
    ['billing-api', 'service', 'team-payments'],
    ['orders-worker', 'workload', 'team-orders'],
    ['deploy-pipeline', 'ci-pipeline', 'team-platform'],
    ['support-agent', 'ai-agent', 'team-support'],
    ['docs-mcp', 'mcp-server', 'team-platform'],
    ['edge-sensor-17', 'device', 'team-iot'],
  ];
  const ids = [];
  for (const [name, kind, owner] of demo)
    ids.push(await api.createIdentity(token, { name, kind, owner, environment: 'prod' }));
  const uid = await api.createAuthMethod(token, {
    type: 'universal_identity',
    name: '/agents/support-agent',
    identityId: ids[3].id,
  });
  const rootToken = await api.generateUidToken(token, {
    authMethodId: uid.authMethod.id,
    comment: 'orchestrator',
  });
  const workers = [];
  for (const comment of ['planner', 'retriever', 'writer'])
    workers.push(
      await api.createUidChild(token, {
        authMethodId: uid.authMethod.id,
        parentTokenId: rootToken.tokenId,
        comment,
      }),
    );
  await api.createUidChild(token, {
    authMethodId: uid.authMethod.id,
    parentTokenId: workers[1].tokenId,
    comment: 'search tool',
  });
  await api.rotateUidToken(rootToken.token);
  await api.revokeUidToken(token, {
    authMethodId: uid.authMethod.id,
    tokenId: workers[2].tokenId,
    type: 'all',
  });
  for (const [name, value] of [
    ['/payments/stripe-key', 'sk_demo_1'],
    ['/orders/db-password', 'pw-demo'],
    ['/platform/deploy-token', 'tok-demo'],
  ])
    await api.createSecret(token, { name, value });
  await api.createRole(token, { name: 'payments-readers' });
  await api.setRoleRule(token, 'payments-readers', {
    ruleType: 'item',
    path: '/payments/*',
    capabilities: ['read', 'list'],
  });
  await api.getSecretValue(token, '/payments/stripe-key');
  const agentKey = await api.createAuthMethod(token, {
    type: 'access_key',
    name: '/agents/support-agent-key',
    identityId: ids[3].id,
  });
  const agentToken = (
    await api.auth({
      accessType: 'access_key',
      accessId: agentKey.authMethod.id,
      accessKey: agentKey.accessKey,
    })
  ).token;
  await api.requestApproval(agentToken, {
    action: { kind: 'secret.read', path: '/payments/stripe-key' },
    justification: 'Refund for ticket 4711 needs the payment provider key',
  });
  await api.auth({ accessType: 'access_key', accessId: admin.accessId, accessKey: 'wrong' }).catch(() => {});

  browser = await chromium.launch({
    executablePath: process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto(`${base}/ui/sign-in`);
  await page.screenshot({ path: join(out, 'sign-in.png') });
  await page.getByLabel('Access id').fill(admin.accessId);
  await page.getByLabel('Access key').fill(admin.accessKey);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${base}/ui/`);
  const shot = async (path, file, ready) => {
    await page.goto(`${base}${path}`);
    await page.locator('#page-title').waitFor();
    await page.locator('.loading').waitFor({ state: 'detached' });
    if (ready) await ready();
    await page.screenshot({ path: join(out, file) });
  };
  await shot('/ui/', 'overview.png', () => page.locator('.big').filter({ hasText: /^\d+$/ }).waitFor());
  await shot('/ui/identities', 'identities.png');
  await shot(`/ui/uid/${uid.authMethod.id}`, 'uid-tree.png', async () => {
    await page.locator('.tree li[data-node]').nth(3).waitFor();
    for (const b of await page.locator('.tree button.twisty[aria-expanded="false"]').all()) await b.click();
  });
  await shot('/ui/secrets', 'secrets.png');
  await shot('/ui/access/payments-readers', 'access.png', async () => {
    const explain = page.getByRole('form', { name: 'Explain a decision' });
    await explain.getByLabel('Path').fill('/payments/stripe-key');
    await explain.getByRole('button', { name: 'Explain' }).click();
    await explain.locator('.verdict').waitFor();
  });
  await shot('/ui/audit', 'audit.png', async () => {
    await page.getByRole('button', { name: 'Verify now' }).click();
    await page.locator('[data-verified]').waitFor();
  });
  await shot('/ui/approvals', 'approvals.png', () => page.getByRole('article').first().waitFor());
  await context.close();
  const dark = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const phone = await dark.newPage();
  await phone.goto(`${base}/ui/sign-in`);
  await phone.getByLabel('Access id').fill(admin.accessId);
  await phone.getByLabel('Access key').fill(admin.accessKey);
  await phone.getByRole('button', { name: 'Sign in', exact: true }).click();
  await phone.waitForURL(`${base}/ui/`);
  await phone.locator('.big').filter({ hasText: /^\d+$/ }).waitFor();
  await phone.screenshot({ path: join(out, 'overview-phone-dark.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  await browser?.close();
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
