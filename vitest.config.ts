import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

const ALL = ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'];

/**
 * Files that must run alone (ADR 0044): they assert wall-clock budgets (an answer or a propagation
 * within 1 s, no answer slower than 8 s, a health probe under 1 s during a bulk revocation), kill or
 * fault their own servers under load, or drive a cluster. They run one at a time, in one fork,
 * after the other files, so a neighbour's CPU use cannot break their budgets.
 */
const EXCLUSIVE = [
  'packages/server/test/audit-flood.security.test.ts',
  'packages/server/test/cluster.haproxy.test.ts',
  'packages/server/test/durability.kill.test.ts',
  'packages/server/test/dynamic-secrets.postgresql.test.ts',
  'packages/server/test/faults.test.ts',
  'packages/server/test/http-timeouts.security.test.ts',
  'packages/server/test/jit.multi-server.test.ts',
  'packages/server/test/leader.election.test.ts',
  'packages/server/test/leader.multi-server.test.ts',
  'packages/server/test/oauth.multi-server.test.ts',
  'packages/server/test/revocation.multi-server.test.ts',
  'packages/server/test/roles.test.ts',
];

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, not their last build.
    alias: { '@tessera/sdk': src('sdk'), '@tessera/server': src('server') },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Files at a time (ADR 0044, measured on the idle 2-core CI machine): two, or one fewer than the
    // cores where there are more. Most files wait on child processes, databases and sockets rather
    // than on their own CPU; the whole suite took 658 s with two against about 1,700 s with one, with
    // no failure. On a machine shared with other work, TESSERA_TEST_WORKERS=1 runs one file at a time.
    maxWorkers:
      Number(process.env.TESSERA_TEST_WORKERS) > 0
        ? Number(process.env.TESSERA_TEST_WORKERS)
        : Math.max(2, availableParallelism() - 1),
    projects: [
      { extends: true, test: { name: 'parallel', include: ALL, exclude: EXCLUSIVE } },
      {
        extends: true,
        test: { name: 'exclusive', include: EXCLUSIVE, poolOptions: { forks: { singleFork: true } } },
      },
    ],
  },
});
