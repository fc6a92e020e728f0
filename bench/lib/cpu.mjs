// CPU accounting from /proc, to tell whether a measurement had the machine to itself.
// foreign = all busy CPU time on the machine − the server's − this process's and its reaped
// children's (the load generator). Linux only; elsewhere every figure is null.
import { readFileSync } from 'node:fs';

const HZ = 100; // USER_HZ on Linux

function busyTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system] = line;
    return user + nice + system;
  } catch {
    return null;
  }
}

function pidTicks(pid, withChildren = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // fields[11..14] = utime, stime, cutime, cstime (stat fields 14–17)
    return fields[11] + fields[12] + (withChildren ? fields[13] + fields[14] : 0);
  } catch {
    return null;
  }
}

export function cpuSnapshot(serverPid) {
  return {
    at: Date.now(),
    busy: busyTicks(),
    server: serverPid ? pidTicks(serverPid) : 0,
    self: pidTicks(process.pid, true),
  };
}

/** Percentages of one core over the interval: the server's, and everyone else's (foreign). */
export function cpuDelta(a, b) {
  if (
    a.busy === null ||
    b.busy === null ||
    a.server === null ||
    b.server === null ||
    a.self === null ||
    b.self === null
  ) {
    return { serverPct: null, foreignPct: null };
  }
  const seconds = (b.at - a.at) / 1000;
  const pct = (ticks) => Math.round((ticks / HZ / seconds) * 1000) / 10;
  const server = b.server - a.server;
  const ours = server + (b.self - a.self);
  return { serverPct: pct(server), foreignPct: Math.max(0, pct(b.busy - a.busy - ours)) };
}

/** Waits (up to maxMs) until other processes use less than `thresholdPct` of a core over 2 s. */
export async function waitForQuiet({ thresholdPct = 10, maxMs = 30_000 } = {}) {
  const start = Date.now();
  for (;;) {
    const a = cpuSnapshot(0);
    await new Promise((r) => setTimeout(r, 2000));
    const { foreignPct } = cpuDelta(a, cpuSnapshot(0));
    if (foreignPct === null || foreignPct < thresholdPct) return { waitedMs: Date.now() - start, foreignPct };
    if (Date.now() - start > maxMs) return { waitedMs: Date.now() - start, foreignPct, gaveUp: true };
  }
}

/** Server CPU (user + system) per request over a snapshot interval, in µs (10 ms ticks: use
 * thousands of requests). Unlike req/s, this barely depends on what else the machine runs. */
export function cpuUsPerRequest(a, b, requests) {
  if (a.server === null || b.server === null || !requests) return null;
  return Math.round((((b.server - a.server) / HZ) * 1e6) / requests);
}
