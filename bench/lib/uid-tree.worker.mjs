// The worker of bulkInsertSqlite (uid-tree.mjs): writes a generated subtree into uid_nodes.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { serverDist } from './server-dist.mjs';
import { samplePositions, subtreeNodes } from './uid-tree.mjs';

const { file, rootRow, count, tag, nowMs, samples, chunk } = workerData;
const SQLite = createRequire(join(serverDist, 'index.js'))('better-sqlite3');
const db = new SQLite(file);
db.pragma('busy_timeout = 30000');
const columns = Object.keys(rootRow);
const insert = db.prepare(
  `insert into uid_nodes (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`,
);
const writeChunk = db.transaction((rows) => {
  for (const row of rows) insert.run(columns.map((c) => row[c]));
});
const want = samplePositions(count, samples);
const sampled = [];
let rows = [];
let done = 0;
let position = 0;
for (const row of subtreeNodes(rootRow, count, tag, nowMs)) {
  if (want.has(position++)) sampled.push(row);
  rows.push(row);
  if (rows.length === chunk) {
    writeChunk(rows);
    done += rows.length;
    rows = [];
    parentPort.postMessage({ progress: done });
  }
}
if (rows.length) writeChunk(rows);
done += rows.length;
parentPort.postMessage({ progress: done });
db.close();
parentPort.postMessage({ sampled });
