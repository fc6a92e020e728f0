// A fresh PostgreSQL database for one bench run, and its dropper.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { serverDist } from './server-dist.mjs';

const pg = createRequire(join(serverDist, 'index.js'))('pg');

/** Creates `tessera_bench_…` on the server of `adminUrl`; returns its URL and `drop()`. */
export async function pgDatabase(adminUrl) {
  const name = `tessera_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** True when the PostgreSQL server of `adminUrl` accepts a connection. */
export async function pgReachable(adminUrl) {
  const client = new pg.Client({ connectionString: adminUrl });
  return client.connect().then(
    () => client.end().then(() => true),
    () => false,
  );
}
