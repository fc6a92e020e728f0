// A separate process consuming one-time keys (test/one-time-keys.test.ts): argv = store URL, key
// count, calls per key. Prints "ready", reads a start time (ms since the epoch) on stdin and waits
// for it, so both processes race; then prints the keys it won as JSON.
import { openStore } from '../dist/storage/database.js';
import { createOneTimeKeyRepo } from '../dist/storage/repos/one-time-keys.repo.js';

const [url, count, perKey] = process.argv.slice(2);
const store = openStore(url);
const keys = createOneTimeKeyRepo(store.db, { nowMs: () => Date.now() });
await keys.consume('warm-up', 1); // connected before the start
process.stdout.write('ready\n');
const startAt = await new Promise((r) => process.stdin.once('data', (d) => r(Number(String(d)))));
await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
// Each process asks in its own random order, so the two meet on keys rather than one running ahead.
const order = [];
for (let i = 0; i < Number(count); i++) for (let j = 0; j < Number(perKey); j++) order.push(i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const calls = order.map((i) => keys.consume(`jti-${i}`, 300).then((won) => (won ? `jti-${i}` : null)));
const won = (await Promise.all(calls)).filter((k) => k !== null);
await store.close();
process.stdout.write(JSON.stringify(won));
process.stdin.destroy();
