#!/usr/bin/env node
/**
 * The `tessera` executable: wires the CLI to the real process.
 */

import { main } from './cli.main.js';
import { nodeIo } from './node.io.js';

process.exitCode = await main(process.argv.slice(2), nodeIo());
