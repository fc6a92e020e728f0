/** Tiny `--flag value` / `--flag=value` / `--flag` parser shared by the bench scripts. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq !== -1) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      out[a.slice(2)] = argv[++i];
    } else {
      out[a.slice(2)] = true;
    }
  }
  return out;
}

/** Prints the line the orchestrator waits for: `READY {json}`. */
export function ready(info) {
  process.stdout.write(`READY ${JSON.stringify(info)}\n`);
}

/** Exits cleanly on SIGTERM/SIGINT after running `close`. */
export function onStop(close) {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
