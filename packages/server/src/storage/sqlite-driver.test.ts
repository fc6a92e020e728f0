import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SQLite } from './sqlite-driver.js';

describe('the SQLite driver', () => {
  it('is the only module that loads better-sqlite3 (the build must match the Node.js line)', () => {
    const src = join(__dirname, '..');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.ts$/.test(name) && !name.endsWith('.test.ts') && name !== 'sqlite-driver.ts') {
          if (
            /from ['"]better-sqlite3(-13)?['"]|require\(['"]better-sqlite3/.test(readFileSync(path, 'utf8'))
          )
            offenders.push(path);
        }
      }
    };
    walk(src);
    expect(offenders).toEqual([]);
  });

  it('opens a database on this Node.js', () => {
    const db = new SQLite(':memory:');
    expect(db.prepare('select 1 + 1 as two').get()).toEqual({ two: 2 });
    db.close();
  });
});
