// Issue 16: the posture scan's leases query on SQLite, one scan page (1,000 identities, an id range)
// at a time over an estate with many live leases. Times the scan's pages of `listLeases` with this
// build's governance repository and, with --base-dist, another build's (e.g. a copy of main's
// packages/server/dist), alternately on the same store in one process; prints each build's plan.
// Usage: node bench/scan-leases.mjs [--identities 20000] [--live 20000] [--terminal 20000]
//        [--page 1000] [--rounds 3] [--base-dist DIR]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { assertBuilt, importServer } from './lib/server-dist.mjs';

const args = parseArgs();
const IDENTITIES = Number(args.identities ?? 20_000);
const LIVE = Number(args.live ?? 20_000);
const TERMINAL = Number(args.terminal ?? 20_000);
const PAGE = Number(args.page ?? 1_000);
const ROUNDS = Number(args.rounds ?? 3);

assertBuilt();
const { openStore, migrate } = await importServer('storage/database.js');
const builds = [
  ['this build', (await importServer('capabilities/governance/governance.repo.js')).createGovernanceRepo],
];
if (args['base-dist']) {
  const base = resolve(String(args['base-dist']));
  const mod = await import(pathToFileURL(join(base, 'capabilities/governance/governance.repo.js')).href);
  builds.unshift([`base (${base})`, mod.createGovernanceRepo]);
}

const store = openStore('sqlite::memory:');
await migrate(store);
const ids = Array.from({ length: IDENTITIES }, (_, i) => `idn-${String(i).padStart(8, '0')}`);
const states = ['creating', 'active', 'revoke_failed'];
const rows = [];
for (let i = 0; i < LIVE + TERMINAL; i++) {
  const live = i < LIVE;
  rows.push({
    id: `lease-${i}`,
    item_id: `item-${i % 10}`,
    item_name: `/db/item-${i % 10}`,
    identity_id: ids[(i * 7919) % IDENTITIES],
    username: `u-${i}`,
    state: live ? states[i % 3] : 'revoked',
    created_at: 1_000 + i,
    expires_at: 10_000_000 + i,
    max_expires_at: 20_000_000 + i,
    next_attempt_at: 10_000_000 + i,
    attempts: 0,
  });
}
for (let i = 0; i < rows.length; i += 500)
  await store.db
    .insertInto('leases')
    .values(rows.slice(i, i + 500))
    .execute();

const pages = [];
for (let i = 0; i < ids.length; i += PAGE) {
  const page = ids.slice(i, i + PAGE);
  pages.push({ ids: page, range: { after: i === 0 ? null : ids[i - 1], last: page[page.length - 1] } });
}

/** One scan's leases: every page, in order; returns wall ms, CPU ms and the rows read. */
async function scan(make) {
  const repo = make({ db: store.db, dialect: store.dialect, direct: null });
  const cpu = process.cpuUsage();
  const t = performance.now();
  let n = 0;
  for (const scope of pages) n += (await repo.listLeases(scope)).length;
  const c = process.cpuUsage(cpu);
  return { ms: performance.now() - t, cpuMs: (c.user + c.system) / 1000, rows: n };
}

for (const [name, make] of builds) {
  // The plan of a middle page's query, as compiled by that build.
  let compiled = null;
  const spy = new Proxy(store.db, {
    get(target, prop, receiver) {
      if (prop !== 'selectFrom') return Reflect.get(target, prop, receiver);
      return (...a) => {
        const qb = target.selectFrom(...a);
        return wrap(qb);
      };
    },
  });
  const wrap = (qb) =>
    new Proxy(qb, {
      get(target, prop) {
        if (prop === 'execute')
          return () => {
            compiled = target.compile();
            return target.execute();
          };
        const v = target[prop];
        return typeof v === 'function' ? (...a) => wrap(v.apply(target, a)) : v;
      },
    });
  await make({ db: spy, dialect: store.dialect, direct: null }).listLeases(
    pages[Math.floor(pages.length / 2)],
  );
  const plan = store.direct.execute(`explain query plan ${compiled.sql}`, compiled.parameters);
  console.log(`${name}: plan ${plan.map((r) => r.detail).join(' | ')}`);
}

console.log(
  `${IDENTITIES} identities, ${LIVE} live + ${TERMINAL} revoked leases, ${pages.length} pages of ${PAGE}; ${ROUNDS} rounds`,
);
await scan(builds[0][1]); // warm-up
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, make] of builds) {
    const r = await scan(make);
    console.log(
      `round ${round} ${name}: ${r.ms.toFixed(1)} ms wall, ${r.cpuMs.toFixed(1)} ms CPU, ${r.rows} live leases (${(r.ms / pages.length).toFixed(2)} ms/page)`,
    );
  }
}
await store.close();
