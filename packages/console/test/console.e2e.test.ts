/**
 * The web console in a real browser (Debian's Chromium through playwright-core) against a real
 * server (issue 18's "done means"): sign-in, identities and UID methods, the token tree with rotate
 * and revoke, an audited secret reveal, a rule edit changing "explain", chain verification, the
 * session and CSRF defences, the CSP, and axe on every page.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraClient } from '@tessera/sdk';
import { createTessera, loadConfig, type Tessera } from '@tessera/server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp } from '../../server/test/oidc-idp.js';

const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
const DIST = fileURLToPath(new URL('../dist/index.html', import.meta.url));
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const suffix = Math.random().toString(36).slice(2, 8);

let dataDir: string;
let tessera: Tessera;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let api: TesseraClient;
let adminToken: string;
let admin: { accessId: string; accessKey: string };

/** Fails the test on any accessibility violation of serious or critical impact on the current page. */
async function expectAccessible(p: Page, label: string) {
  await p.evaluate(AXE);
  const violations = (await p.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v: { id: string; impact: string; nodes: { target: string[] }[] }) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  })) as { id: string; impact: string; targets: string[] }[];
  const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(grave, `${label}: ${JSON.stringify(grave)}`).toEqual([]);
}

async function go(path: string) {
  await page.goto(`${base}${path}`);
  await page.locator('#page-title').waitFor();
}

beforeAll(async () => {
  expect(existsSync(DIST), 'the console is built (npm run build)').toBe(true);
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-console-'));
  const config = loadConfig(
    { dataDir, port: 0, logLevel: 'silent' },
    { TESSERA_ISSUER: 'http://tessera.test', TESSERA_REVOCATION_POLL_MS: '50' },
  );
  tessera = await createTessera(config, { logger: { level: 'silent' } });
  const created = await tessera.ensureAdmin();
  admin = { accessId: created.accessId, accessKey: created.accessKey! };
  base = await tessera.app.listen({ host: '127.0.0.1', port: 0 });
  api = new TesseraClient({ url: base });
  adminToken = (await api.auth({ accessType: 'access_key', ...admin })).token;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await tessera?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the web console', () => {
  it('redirects a page fetched without a session to sign-in, and sends a strict CSP', async () => {
    const res = await fetch(`${base}/ui/identities`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/ui/sign-in?next=%2Fui%2Fidentities');
    const signIn = await fetch(`${base}/ui/sign-in`);
    const csp = signIn.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    // Every script of the page is a file of the server's: no inline script at all.
    const html = await signIn.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/ui\/assets\/[^"]+\.js"/);
      expect(body?.trim()).toBe('');
    }
    // Hashed assets are cached for a year; the page itself is revalidated.
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)[1]!;
    const assetRes = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(assetRes.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(signIn.headers.get('cache-control')).toBe('no-cache');

    await page.goto(`${base}/ui/audit`);
    await page.waitForURL(/\/ui\/sign-in\?next=%2Fui%2Faudit$/);
    await page.getByLabel('Access id').waitFor();
    await expectAccessible(page, 'sign-in');
  });

  it('refuses an inline script injected into the page', async () => {
    const outcome = await page.evaluate(
      () =>
        new Promise<{ ran: boolean; violation: string | null }>((resolve) => {
          let violation: string | null = null;
          document.addEventListener('securitypolicyviolation', (e) => {
            violation = e.violatedDirective;
          });
          const s = document.createElement('script');
          s.textContent = 'window.__inlineRan = true';
          document.body.append(s);
          setTimeout(
            () =>
              resolve({
                ran: (window as unknown as { __inlineRan?: boolean }).__inlineRan === true,
                violation,
              }),
            300,
          );
        }),
    );
    expect(outcome.ran).toBe(false);
    expect(outcome.violation).toMatch(/^script-src/);
  });

  it('signs in with the admin access key into an HttpOnly, SameSite=Strict cookie', async () => {
    await page.getByLabel('Access key').fill('wrong-key-000000000000');
    await page.getByLabel('Access id').fill(admin.accessId);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('TESSERA_AUTH_FAILED');
    await page.getByLabel('Access key').fill(admin.accessKey);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${base}/ui/audit`);
    await page.getByRole('heading', { name: 'Audit', level: 1 }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'tessera_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui', secure: false });
    // Idle sign-out: the cookie lives 15 minutes after the last call, not the session's hour.
    expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(15 * 60 * 1000 + 5000);
    const stored = await page.evaluate(() => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
    }));
    expect(stored).toEqual({ local: 0, session: 0, cookie: '' });
  });

  it('creates an identity and a UID method, draws the tree, and shows rotation and revocation', async () => {
    await go('/ui/identities');
    await expectAccessible(page, 'identities');
    const name = `console-svc-${suffix}`;
    const form = page.getByRole('form', { name: 'New identity' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Kind').selectOption('ai-agent');
    await form.getByLabel('Owner').fill('team-console');
    await form.getByRole('button', { name: 'Create identity' }).click();
    await page.getByRole('link', { name }).click();
    await page.getByRole('heading', { name, level: 1 }).waitFor();
    await expectAccessible(page, 'identity detail');
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: 'Reactivate' }).click();
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    const methodForm = page.getByRole('form', { name: 'New auth method' });
    await methodForm.getByLabel('Method name').fill(`/console/${suffix}/uid`);
    await methodForm.getByRole('button', { name: 'Add method' }).click();
    await page.getByRole('link', { name: `/console/${suffix}/uid` }).click();
    await page.getByRole('heading', { name: 'UID tree' }).waitFor();
    await page.getByText('No token in this tree yet').waitFor();

    await page.getByRole('button', { name: 'Issue root token' }).click();
    const rootToken = (await page.locator('code.secret').textContent())!.trim();
    expect(rootToken).toMatch(/^u-/);
    await page.getByRole('button', { name: 'Done' }).click();
    const rootNode = page.locator('.tree > li').first();
    const rootId = (await rootNode.getAttribute('data-node'))!;
    await rootNode.getByRole('button', { name: 'Add child' }).first().click();
    await page.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.locator('.tree li[data-node]').count()).toBe(2);
    await expectAccessible(page, 'uid tree');

    // The holder rotates its root token (an agent does this on its own): the tree shows it.
    expect(await rootNode.locator('.node').first().textContent()).toContain('rotated never');
    await api.rotateUidToken(rootToken);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect
      .poll(() => page.locator('.tree > li > .node').first().textContent())
      .not.toContain('rotated never');

    // Revoke the root and its subtree, after a preview of what goes.
    await page.locator(`li[data-node="${rootId}"] > .node`).getByRole('button', { name: 'Revoke…' }).click();
    const preview = page.getByRole('alertdialog');
    await expect.poll(() => preview.textContent()).toContain('whole subtree (2 nodes, 2 live)');
    await preview.getByRole('button', { name: 'Revoke 2 tokens' }).click();
    await expect.poll(() => page.locator('.tree li.revoked').count()).toBe(2);
  });

  it('reveals a secret only on request, and the reveal is in the audit view', async () => {
    const path = `/console/${suffix}/db-password`;
    await go('/ui/secrets');
    const form = page.getByRole('form', { name: 'New secret or version' });
    await form.getByLabel('Path').fill(path);
    await form.getByLabel('Value').fill('s3cret-value-1');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.getByRole('row').filter({ hasText: path });
    await row.waitFor();
    expect(await page.content()).not.toContain('s3cret-value-1');
    await row.getByRole('button', { name: 'Show value…' }).click();
    await row.getByRole('button', { name: 'Reveal value' }).click();
    await expect.poll(() => row.getByRole('status').textContent()).toBe('s3cret-value-1');
    await expectAccessible(page, 'secrets');
    // A new version (the static secret's rotation) is visible at once.
    await form.getByLabel('Value').fill('s3cret-value-2');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.locator('td').nth(2).textContent()).toBe('2');
    for (const tab of ['Dynamic', 'Rotated']) {
      await page.getByRole('link', { name: tab, exact: true }).click();
      await page.getByRole('link', { name: tab, exact: true, includeHidden: false }).waitFor();
      await page.locator('.note.empty, table').first().waitFor();
      await expectAccessible(page, `secrets ${tab}`);
    }

    await go('/ui/audit');
    const filters = page.getByRole('search', { name: 'Filter events' });
    await filters.getByLabel('Type').fill('secret.read');
    await filters.getByRole('button', { name: 'Apply' }).click();
    const read = page.getByRole('row').filter({ hasText: 'secret.read' }).filter({ hasText: path });
    await read.first().waitFor();
    // The value itself is never in the audit log.
    expect(await page.content()).not.toContain('s3cret-value-1');
    await read.first().getByRole('button').click();
    await page.getByRole('region', { name: /^Event \d+$/ }).waitFor();
    await expectAccessible(page, 'audit');
  });

  it('edits a rule and "explain" changes with it', async () => {
    const role = `console-role-${suffix}`;
    const methodName = `/console/${suffix}/reader`;
    const identity = await api.createIdentity(adminToken, {
      name: `reader-${suffix}`,
      kind: 'service',
      owner: 'team-console',
    });
    const method = await api.createAuthMethod(adminToken, {
      type: 'access_key',
      name: methodName,
      identityId: identity.id,
    });
    const readerToken = (
      await api.auth({
        accessType: 'access_key',
        accessId: method.authMethod.id,
        accessKey: method.accessKey!,
      })
    ).token;

    await go('/ui/access');
    await page.getByRole('form', { name: 'New role' }).getByLabel('New role name').fill(role);
    await page.getByRole('button', { name: 'Create role' }).click();
    await page.getByRole('link', { name: role }).click();
    await page.getByRole('heading', { name: `Role ${role}` }).waitFor();
    await page
      .getByRole('form', { name: 'Associate an auth method' })
      .getByLabel('Auth method name')
      .fill(methodName);
    await page.getByRole('button', { name: 'Associate' }).click();
    await page.getByText(`(${method.authMethod.id})`).waitFor();

    const explain = page.getByRole('form', { name: 'Explain a decision' });
    await explain.getByLabel('Session token (optional)').fill(readerToken);
    await explain.getByLabel('Path').fill(`/console/${suffix}/db-password`);
    await explain.getByRole('button', { name: 'Explain' }).click();
    const verdict = explain.locator('.verdict');
    await expect.poll(() => verdict.locator('.badge').first().textContent()).toBe('denied');

    const rule = page.getByRole('form', { name: 'Set a rule' });
    await rule.getByLabel('Path').fill(`/console/${suffix}/*`);
    await rule.getByRole('button', { name: 'Save rule' }).click();
    // Explain is asked again by itself once the rule is saved.
    await expect.poll(() => verdict.locator('.badge').first().textContent()).toBe('allowed');
    await expect.poll(() => verdict.textContent()).toContain(`/console/${suffix}/*`);
    await expectAccessible(page, 'access');

    await page.getByRole('button', { name: `Delete rule item /console/${suffix}/*` }).click();
    await expect.poll(() => verdict.locator('.badge').first().textContent()).toBe('denied');
  });

  it('verifies the audit chain with progress', async () => {
    await go('/ui/audit');
    await page.getByRole('button', { name: 'Verify now' }).click();
    const result = page.locator('[data-verified]');
    await result.waitFor();
    expect(await result.getAttribute('data-verified')).toBe('ok');
    expect(await result.textContent()).toMatch(/intact \d+ events checked/);
  });

  it('passes axe on every other page', async () => {
    for (const path of ['/ui/', '/ui/uid', '/ui/approvals', '/ui/oauth-clients', '/ui/mcp', '/ui/nowhere']) {
      await go(path);
      await page.locator('.loading').waitFor({ state: 'detached' });
      await expectAccessible(page, path);
    }
    // A phone-width layout: the navigation folds behind a menu button.
    await page.setViewportSize({ width: 390, height: 844 });
    await go('/ui/');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit' }).waitFor();
    await expectAccessible(page, 'overview at phone width');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('refuses a forged cross-site POST', async () => {
    const before = (await api.listIdentities(adminToken, { limit: 500 })).items.length;
    // An attacker's page on another site submits a form to the console's API.
    const evil: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="POST" enctype="text/plain"
        action="${base}/ui/api/v1/identities"><input name='{"name":"forged-${suffix}","kind":"service","owner":"x","pad":"' value='"}'></form>
        <script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
    try {
      const attacker = await context.newPage();
      const answer = attacker.waitForResponse((r) => r.url().startsWith(`${base}/ui/api/`));
      await attacker.goto(evilUrl);
      expect((await answer).status()).toBe(403);
      await attacker.close();
    } finally {
      evil.close();
    }
    // Even with the victim's cookie, a call from another origin (or without the console's header) is refused.
    const cookie = (await context.cookies()).find((c) => c.name === 'tessera_console')!;
    const forged = await fetch(`${base}/ui/api/v1/identities`, {
      method: 'POST',
      headers: {
        cookie: `tessera_console=${cookie.value}`,
        'content-type': 'application/json',
        'x-tessera-console': '1',
        origin: 'http://evil.example',
      },
      body: JSON.stringify({ name: `forged2-${suffix}`, kind: 'service', owner: 'x' }),
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('TESSERA_FORBIDDEN');
    const headerless = await fetch(`${base}/ui/api/v1/identities`, {
      method: 'POST',
      headers: {
        cookie: `tessera_console=${cookie.value}`,
        'content-type': 'application/json',
        origin: base,
      },
      body: JSON.stringify({ name: `forged3-${suffix}`, kind: 'service', owner: 'x' }),
    });
    expect(headerless.status).toBe(403);
    expect((await api.listIdentities(adminToken, { limit: 500 })).items.length).toBe(before);
  });

  it('signs out: the cookie is gone and pages go back to sign-in', async () => {
    await go('/ui/');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/ui\/sign-in/);
    expect((await context.cookies()).find((c) => c.name === 'tessera_console')).toBeUndefined();
    await page.goto(`${base}/ui/secrets`);
    await page.waitForURL(/\/ui\/sign-in\?next=%2Fui%2Fsecrets$/);
  });
});

describe('idle sign-out', () => {
  it('signs out a console left idle, and the cookie expires with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-console-idle-'));
    const config = loadConfig(
      { dataDir: dir, port: 0, logLevel: 'silent' },
      { TESSERA_ISSUER: 'http://tessera.test' },
    );
    const idle = await createTessera(config, { logger: { level: 'silent' }, console: { idleTimeoutSec: 2 } });
    try {
      const key = await idle.ensureAdmin();
      const url = await idle.app.listen({ host: '127.0.0.1', port: 0 });
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      await p.goto(`${url}/ui/sign-in`);
      await p.getByLabel('Access id').fill(key.accessId);
      await p.getByLabel('Access key').fill(key.accessKey!);
      await p.getByRole('button', { name: 'Sign in', exact: true }).click();
      await p.waitForURL(`${url}/ui/`);
      // Nothing happens for longer than the idle time: the page goes back to sign-in by itself.
      await p.waitForURL(`${url}/ui/sign-in?reason=idle`, { timeout: 15_000 });
      await p.getByText('signed out after a period without activity').waitFor();
      expect((await ctx.cookies()).find((c) => c.name === 'tessera_console')).toBeUndefined();
      await ctx.close();
    } finally {
      await idle.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('person sign-in (OIDC), the webhook deep link and the approvals inbox', () => {
  it('a webhook link opens the request in the console after sign-in at the IdP; decisions there and in the inbox work', async () => {
    // A fixed port, so the IdP knows the redirect URI before the server starts.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const url = `http://127.0.0.1:${port}`;
    const idp = await startTestIdp(`${url}/v1/login/callback`);
    // The approval webhook's receiver (a Slack-compatible incoming webhook).
    const posted: { text: string; approval: { id: string; links: Record<string, string> } }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        posted.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    idp.addUser({ sub: 'ada-sub', email: 'ada@example.com', name: 'Ada', groups: ['admins'] });
    const dir = mkdtempSync(join(tmpdir(), 'tessera-console-sso-'));
    const config = loadConfig(
      { dataDir: dir, port, logLevel: 'silent' },
      {
        TESSERA_ISSUER: url,
        TESSERA_OIDC_ISSUER: idp.issuer,
        TESSERA_OIDC_CLIENT_ID: idp.client.id,
        TESSERA_OIDC_CLIENT_SECRET: idp.client.secret,
        TESSERA_OIDC_ROLE_MAP: 'admins=tessera-admin',
        TESSERA_OIDC_GROUPS_CLAIM: 'groups',
        TESSERA_APPROVAL_WEBHOOK_URL: hookUrl,
      },
    );
    const sso = await createTessera(config, { logger: { level: 'silent' } });
    try {
      const key = await sso.ensureAdmin();
      await sso.app.listen({ host: '127.0.0.1', port });
      const client = new TesseraClient({ url });
      const admin = (
        await client.auth({ accessType: 'access_key', accessId: key.accessId, accessKey: key.accessKey! })
      ).token;
      // An agent asks to read a secret; its owner (here: an administrator) decides.
      const agent = await client.createIdentity(admin, {
        name: `agent-${suffix}`,
        kind: 'ai-agent',
        owner: 'ada',
      });
      const agentKey = await client.createAuthMethod(admin, {
        type: 'access_key',
        name: `/agents/${suffix}`,
        identityId: agent.id,
      });
      const agentToken = (
        await client.auth({
          accessType: 'access_key',
          accessId: agentKey.authMethod.id,
          accessKey: agentKey.accessKey!,
        })
      ).token;
      const asked = await client.requestApproval(agentToken, {
        action: { kind: 'secret.read', path: '/prod/payments/key' },
        justification: 'refund ticket 4711',
      });
      const toDeny = await client.requestApproval(agentToken, {
        action: { kind: 'secret.read', path: '/prod/payments/old-key' },
        justification: 'ticket 4712',
      });
      const toApprove = await client.requestApproval(agentToken, {
        action: { kind: 'secret.read', path: '/prod/payments/new-key' },
        justification: 'ticket 4713',
      });
      await expect.poll(() => posted.length, { timeout: 30_000 }).toBe(3);
      const linksOf = (id: string) => posted.find((m) => m.approval.id === id)?.approval.links;
      const denyLink = linksOf(toDeny.id)?.deny ?? '';
      const approveLink = linksOf(toApprove.id)?.approve ?? '';
      expect(denyLink).toBe(`${url}/ui/approvals/${toDeny.id}?decision=deny`);
      expect(approveLink).toBe(`${url}/ui/approvals/${toApprove.id}?decision=approve`);

      // The person follows the webhook's deny link, not signed in yet: the sign-in page first.
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      await p.goto(denyLink);
      await p.waitForURL(`${url}/ui/sign-in?next=${encodeURIComponent(`/ui/approvals/${toDeny.id}`)}`);
      // The console opens the IdP in a new window; the test takes that URL and signs in below.
      let authorizationUrl = '';
      await ctx.route(`${idp.issuer}/**`, (route) => {
        authorizationUrl ||= route.request().url();
        return route.abort();
      });
      const popup = ctx.waitForEvent('page');
      await p.getByRole('button', { name: 'Sign in with your organisation (SSO)' }).click();
      await (await popup).close();
      await expect.poll(() => authorizationUrl).not.toBe('');
      expect(authorizationUrl.startsWith(idp.issuer)).toBe(true);
      // The person signs in at the IdP (a scripted browser), which sends them back to Tessera.
      const back = await idp.signIn(authorizationUrl, 'ada-sub');
      expect((await fetch(back)).status).toBe(200);
      // Signed in, the console opens the request the link named, with its decision buttons.
      await p.waitForURL(`${url}/ui/approvals/${toDeny.id}`);
      const cookie = (await ctx.cookies()).find((c) => c.name === 'tessera_console');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      await p.getByRole('heading', { name: 'Approval request' }).waitFor();
      const denyCard = p.getByRole('article').filter({ hasText: 'Read the secret /prod/payments/old-key' });
      await denyCard.getByText('ticket 4712').waitFor();
      await expectAccessible(p, 'approval request');
      await denyCard.getByRole('button', { name: 'Deny' }).click();
      await denyCard.getByText('denied', { exact: true }).waitFor();
      expect(await denyCard.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      const denied = await client.getApproval(admin, toDeny.id);
      expect(denied.status).toBe('denied');
      expect(denied.decisions[0]).toMatchObject({ by: expect.stringMatching(/^person:/), decision: 'deny' });

      // Signed in, the approve link opens its request with Approve focused; opening it decides nothing.
      await p.goto(approveLink);
      const approveCard = p
        .getByRole('article')
        .filter({ hasText: 'Read the secret /prod/payments/new-key' });
      await approveCard.getByRole('button', { name: 'Approve' }).waitFor();
      await expect.poll(() => p.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Approve');
      expect((await client.getApproval(admin, toApprove.id)).status).toBe('pending');
      await approveCard.getByRole('button', { name: 'Approve' }).click();
      await approveCard.getByText('approved', { exact: true }).waitFor();
      expect((await client.getApproval(admin, toApprove.id)).status).toBe('approved');
      // An id the person may not see, or that does not exist, is a readable error, not a blank page.
      await p.goto(`${url}/ui/approvals/apr-nope`);
      await p.getByRole('heading', { name: 'Approval request' }).waitFor();
      await p.getByRole('alert').waitFor();

      await p.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Approvals' }).click();
      const card = p.getByRole('article').filter({ hasText: 'Read the secret /prod/payments/key' });
      await card.getByText('refund ticket 4711').waitFor();
      await expectAccessible(p, 'approvals');
      await card.getByLabel('Comment (optional)').fill('ok for this ticket');
      await card.getByRole('button', { name: 'Approve' }).click();
      await p.getByText('Nothing waits for your decision').waitFor();
      const decided = await client.getApproval(admin, asked.id);
      expect(decided.status).toBe('approved');
      expect(decided.decisions[0]).toMatchObject({ decision: 'approve', comment: 'ok for this ticket' });
      await ctx.close();
    } finally {
      await sso.close();
      await idp.close();
      await new Promise((r) => hook.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
    // A browser, an IdP and three decisions on a shared, loaded machine: a generous bound.
  }, 180_000);
});
