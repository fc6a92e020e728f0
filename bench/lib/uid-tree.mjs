// UID trees built straight into uid_nodes for the benchmarks (bench/revoke-subtree.mjs,
// bench/scale.mjs): the row shape of the conformance test.
import { Worker } from 'node:worker_threads';

/**
 * The nodes of a subtree below `rootRow`, one at a time (memory stays bounded at any size): a
 * 10 / 100 / 1,000 / rest fan-out below the root, depth 2..5 (treeLength 5). Ids are 12 characters
 * like real node ids, but contain digits 0/1/8/9, which real ids never do.
 */
/** Positions of the sampled nodes: the middle of each of `samples` equal slices of `count`. */
export const samplePositions = (count, samples) =>
  new Set(Array.from({ length: samples }, (_, i) => Math.floor(((i + 0.5) * (count - 1)) / samples)));

export function* subtreeNodes(rootRow, count, tag, nowMs) {
  const levels = [10, 100, 1000];
  let parents = [rootRow];
  let made = 1; // the root counts
  const make = (parent, i) => {
    const id = `${tag}${String(i).padStart(12 - tag.length, '0')}`;
    return {
      ...rootRow,
      id,
      parent_id: parent.id,
      path: `${parent.path}${id}/`,
      depth: parent.depth + 1,
      created_at: nowMs,
    };
  };
  for (const width of levels) {
    if (made >= count) return;
    const level = [];
    for (let i = 0; i < width && made < count; i++, made++) {
      const row = make(parents[i % parents.length], made);
      level.push(row);
      yield row;
    }
    parents = level;
  }
  for (let i = 0; made < count; i++, made++) yield make(parents[i % parents.length], made);
}

/** The same nodes as an array (small trees). */
export const subtreeRows = (rootRow, count, tag, nowMs) => [...subtreeNodes(rootRow, count, tag, nowMs)];

export async function bulkInsert(db, rows) {
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 1000)
      await trx
        .insertInto('uid_nodes')
        .values(rows.slice(i, i + 1000))
        .execute();
  });
}

/**
 * Inserts a large subtree into a SQLite file from a worker thread, on its own connection: one
 * prepared statement, a transaction per `chunk` rows (the server's writer waits at most one chunk
 * for the lock), nodes generated as they are written. The server's event loop stays free, so its
 * keep-alive connections and timers keep running during a 1,000,000-row build. `onProgress(done)`
 * after each chunk. Resolves with the nodes at `samples` evenly spread positions.
 */
export function bulkInsertSqlite(
  file,
  rootRow,
  count,
  tag,
  nowMs,
  { samples = 0, chunk = 20_000, onProgress } = {},
) {
  const worker = new Worker(new URL('./uid-tree.worker.mjs', import.meta.url), {
    workerData: { file, rootRow, count, tag, nowMs, samples, chunk },
  });
  return new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.progress !== undefined) onProgress?.(m.progress);
      else resolve(m.sampled);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`uid-tree worker exited with ${code}`));
    });
  });
}

/**
 * The PostgreSQL counterpart of bulkInsertSqlite: inserts a large subtree over its own connection to
 * `url`, `chunk` rows a statement and a transaction (`insert … select * from unnest($1::text[], …)`,
 * one array per column, typed from information_schema), nodes generated as they are written. The
 * server's event loop stays free (the client is asynchronous; only generating a chunk takes the
 * thread). `onProgress(done)` after each chunk; resolves with the nodes at `samples` evenly spread
 * positions.
 */
export async function bulkInsertPg(
  url,
  rootRow,
  count,
  tag,
  nowMs,
  { samples = 0, chunk = 20_000, onProgress } = {},
) {
  const { createRequire } = await import('node:module');
  const { join } = await import('node:path');
  const { serverDist } = await import('./server-dist.mjs');
  const pg = createRequire(join(serverDist, 'index.js'))('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const types = new Map(
      (
        await client.query(
          "select column_name, data_type from information_schema.columns where table_name = 'uid_nodes' and table_schema = current_schema()",
        )
      ).rows.map((r) => [r.column_name, r.data_type]),
    );
    const columns = Object.keys(rootRow);
    const sqlText = `insert into uid_nodes (${columns.join(', ')}) select * from unnest(${columns
      .map((c, i) => `$${i + 1}::${types.get(c) ?? 'text'}[]`)
      .join(', ')})`;
    const want = samplePositions(count, samples);
    const sampled = [];
    let rows = [];
    let done = 0;
    let position = 0;
    const write = async () => {
      await client.query(
        sqlText,
        columns.map((c) => rows.map((r) => r[c])),
      );
      done += rows.length;
      rows = [];
      onProgress?.(done);
    };
    for (const row of subtreeNodes(rootRow, count, tag, nowMs)) {
      if (want.has(position++)) sampled.push(row);
      rows.push(row);
      if (rows.length === chunk) await write();
    }
    if (rows.length) await write();
    await client.query('analyze uid_nodes');
    return sampled;
  } finally {
    await client.end();
  }
}
