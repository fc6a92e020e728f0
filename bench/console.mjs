// The web console's budgets (DESIGN §5, issue 18): initial JavaScript < 150 KB gzipped; first load of
// the overview < 1 s on localhost with a 10,000-identity estate; the tree view responsive with
// 10,000 nodes. A real server (this checkout's CLI) and Debian's Chromium through playwright-core.
//
//   node bench/console.mjs [--identities 10000] [--nodes 10000] [--runs 5]
//
// Page loads are timed in the page from the start of its navigation, medians of --runs (the overview
// right after signing in, so with the bundle cached as a user has it);
// the baseline beside each is the sign-in page (the same bundle, no data), so the ratio is the cost
// of the data. Run after `npm run build`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { TesseraClient } from '../packages/sdk/dist/index.js';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    identities: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
  },
});
const IDENTITIES = Number(values.identities);
const NODES = Number(values.nodes);
const RUNS = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ------------------------------------------------------------------ bundle size
const dist = join(root, 'packages/console/dist');
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/ui\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let jsGzip = 0;
let cssGzip = 0;
for (const file of initial) {
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  if (file.endsWith('.js')) jsGzip += size;
  else cssGzip += size;
}
console.log('bundle (initial load, gzip -9)');
console.log(
  `  JavaScript ${(jsGzip / 1024).toFixed(1)} KB (budget 150 KB: ${((jsGzip / 1024 / 150) * 100).toFixed(0)}%)`,
);
console.log(`  CSS        ${(cssGzip / 1024).toFixed(1)} KB`);

// ------------------------------------------------------------------ a server with an estate
const dir = mkdtempSync(join(tmpdir(), 'tessera-console-bench-'));
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

async function pool(n, concurrency, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

let browser;
try {
  const admin = JSON.parse(readFileSync(join(dir, 'data/admin.json'), 'utf8'));
  const api = new TesseraClient({ url: base });
  const token = (await api.auth({ accessType: 'access_key', ...admin })).token;
  const kinds = ['service', 'workload', 'ci-pipeline', 'ai-agent', 'mcp-server', 'device', 'other'];
  let t0 = performance.now();
  await pool(IDENTITIES, 16, (i) =>
    api.createIdentity(token, { name: `bench-${i}`, kind: kinds[i % kinds.length], owner: `team-${i % 40}` }),
  );
  console.log(`seeded ${IDENTITIES} identities in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // A tree of about NODES tokens: a root, √N children, √N grandchildren under each.
  const fan = Math.max(1, Math.round(Math.sqrt(NODES)));
  const method = await api.createAuthMethod(token, {
    type: 'universal_identity',
    name: '/bench/console-tree',
    childCountLimit: fan + 1,
    treeLength: 4,
  });
  const methodId = method.authMethod.id;
  t0 = performance.now();
  const rootToken = await api.generateUidToken(token, { authMethodId: methodId });
  const children = [];
  await pool(fan, 16, async () => {
    const c = await api.createUidChild(token, { authMethodId: methodId, parentTokenId: rootToken.tokenId });
    children.push(c.tokenId);
  });
  await pool(fan * fan, 16, (i) =>
    api.createUidChild(token, { authMethodId: methodId, parentTokenId: children[i % fan] }),
  );
  const tree = await api.getUidTree(token, { authMethodId: methodId });
  console.log(
    `seeded a tree of ${tree.numberOfTokens} tokens in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
      ` (the server sends ${tree.truncated ? 'the first 5,000 of them' : 'all of them'})`,
  );

  // ------------------------------------------------------------------ page loads
  browser = await chromium.launch({
    executablePath: process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  /** A fresh, signed-in context: cold cache, a session cookie. */
  async function signedIn() {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/ui/sign-in`);
    await page.getByLabel('Access id').fill(admin.accessId);
    await page.getByLabel('Access key').fill(admin.accessKey);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${base}/ui/`);
    await page.locator('.big').filter({ hasText: /^\d+$/ }).waitFor({ timeout: 60_000 });
    return { context, page };
  }
  const results = { signIn: [], overviewFirst: [], overviewComplete: [], tree: [], expand: [] };
  /**
   * Milliseconds from the start of the page's navigation (its `performance.timeOrigin`) until
   * `selector` has text matching `pattern`, read in the page: the browser's own process start-up
   * is not counted, the request, the bundle, the API calls and the rendering are.
   */
  const until = (page, selector, pattern, nth = 0) =>
    page
      .waitForFunction(
        ([sel, src, n]) => {
          const el = document.querySelectorAll(sel)[n];
          return el && new RegExp(src).test(el.textContent ?? '') ? performance.now() : null;
        },
        [selector, pattern.source, nth],
        { timeout: 60_000, polling: 'raf' },
      )
      .then((h) => h.jsonValue());
  for (let run = 0; run < RUNS; run++) {
    // Baseline: the sign-in page with a cold cache.
    {
      const context = await browser.newContext();
      const page = await context.newPage();
      // From a page of the same site, so the browser's renderer start-up is not counted.
      await page.goto(`${base}/ui/favicon.svg`);
      await page.goto(`${base}/ui/sign-in`, { waitUntil: 'commit' });
      results.signIn.push(await until(page, 'label', /Access id/));
      await context.close();
    }
    const { context, page } = await signedIn();
    // Overview right after sign-in (the bundle is cached, the data is not): until the first figures
    // show, and until the count is complete (a figure without '+').
    await page.goto(`${base}/ui/favicon.svg`);
    await page.goto(`${base}/ui/`, { waitUntil: 'commit' });
    results.overviewFirst.push(await until(page, '.big', /\d/));
    results.overviewComplete.push(await until(page, '.big', /^\d+$/));
    // The tree: load and draw, then expand a collapsed node with √N children.
    await page.goto(`${base}/ui/uid/${methodId}`, { waitUntil: 'commit' });
    results.tree.push(await until(page, '.tree li[data-node]', /./, Math.min(fan, 40)));
    const collapsed = page.locator('.tree button.twisty[aria-expanded="false"]').first();
    if (await collapsed.count()) {
      const e = performance.now();
      await collapsed.click();
      await page.locator('.tree button.twisty[aria-expanded="true"]').nth(1).waitFor();
      results.expand.push(performance.now() - e);
    }
    await context.close();
  }
  const rendered = tree.truncated ? 5000 : tree.numberOfTokens;
  const line = (label, xs, budget) =>
    console.log(
      `  ${label.padEnd(58)} ${median(xs).toFixed(0).padStart(6)} ms` +
        `  (×${(median(xs) / median(results.signIn)).toFixed(2)} sign-in page)${budget ? `  budget ${budget}` : ''}`,
    );
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`page loads, median of ${RUNS} (load average ${load})`);
  line('sign-in page (baseline: the bundle, no data)', results.signIn);
  line(`overview, first figures (${IDENTITIES} identities)`, results.overviewFirst, '< 1000 ms');
  line(`overview, every identity counted`, results.overviewComplete);
  line(`UID tree page, ${rendered} of ${tree.numberOfTokens} nodes drawn`, results.tree);
  if (results.expand.length) line(`expand a node of ${fan} children`, results.expand, 'responsive');
} finally {
  await browser?.close();
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
