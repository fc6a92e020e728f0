import { describe, expect, it } from 'vitest';
import { createIsoFormatter } from './iso-time.js';

describe('createIsoFormatter', () => {
  it('writes what Date#toISOString writes, across days, years and edges', () => {
    const iso = createIsoFormatter();
    const samples = [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 951_782_400_000, 1_765_000_000_000,
      253_402_300_799_999, 253_402_300_800_000, -1, -86_400_001, 1.5, 8.64e15,
    ];
    for (let i = 0; i < 20_000; i++) samples.push(Math.floor(Math.random() * 253_402_300_800_000));
    for (let i = 0; i < 20_000; i++) samples.push(1_765_000_000_000 + i * 997);
    for (const ms of samples) expect(iso(ms)).toBe(new Date(ms).toISOString());
    // A fractional instant inside the cached day (a custom clock): Date's answer, not "….001.5Z".
    iso(1_765_000_000_000);
    expect(iso(1_765_000_000_001.5)).toBe(new Date(1_765_000_000_001.5).toISOString());
  });

  it('throws as Date does for an instant it cannot represent', () => {
    const iso = createIsoFormatter();
    expect(() => iso(Number.NaN)).toThrow(RangeError);
    expect(() => iso(8.64e15 + 1)).toThrow(RangeError);
  });
});
