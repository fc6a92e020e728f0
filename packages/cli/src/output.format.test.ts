import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatRelative,
  formatTime,
  isoSeconds,
  jsonText,
  renderKeyValues,
  renderTable,
} from './output.format.js';

const NOW = Date.parse('2025-06-01T10:00:00Z');

describe('time formatting', () => {
  it('shows relative times', () => {
    expect(formatRelative(NOW + 59 * 60_000, NOW)).toBe('in 59m');
    expect(formatRelative(NOW - 3 * 3600_000, NOW)).toBe('3h ago');
    expect(formatRelative(NOW + (2 * 86_400 + 3 * 3600) * 1000, NOW)).toBe('in 2d 3h');
    expect(formatRelative(NOW + 90 * 60_000, NOW)).toBe('in 1h 30m');
    expect(formatRelative(NOW - 5000, NOW)).toBe('5s ago');
    expect(formatRelative(NOW, NOW)).toBe('now');
  });

  it('shows ISO plus relative', () => {
    expect(formatTime('2025-06-01T10:59:00.000Z', NOW)).toBe('2025-06-01T10:59:00Z (in 59m)');
    expect(formatTime(null, NOW)).toBe('-');
    expect(formatTime('garbage', NOW)).toBe('garbage');
    expect(isoSeconds(NOW)).toBe('2025-06-01T10:00:00Z');
  });

  it('shows durations', () => {
    expect(formatDuration(45)).toBe('45s');
    expect(formatDuration(3600)).toBe('60m');
    expect(formatDuration(1800)).toBe('30m');
    expect(formatDuration(90)).toBe('1m 30s');
    expect(formatDuration(43_200)).toBe('12h');
    expect(formatDuration(9000)).toBe('2h 30m');
    expect(formatDuration(30 * 86_400)).toBe('30d');
    expect(formatDuration(86_400 + 3600)).toBe('1d 1h');
  });
});

describe('tables and JSON', () => {
  it('aligns columns', () => {
    expect(
      renderTable(
        ['NAME', 'TYPE'],
        [
          ['a-long-name', 'x'],
          ['b', 'yy'],
        ],
      ),
    ).toBe('NAME         TYPE\na-long-name  x\nb            yy\n');
  });

  it('aligns key/value blocks and skips undefined values', () => {
    expect(
      renderKeyValues([
        ['Name', 'n'],
        ['Access ID', 'p-1'],
        ['Skip', undefined],
      ]),
    ).toBe('Name:      n\nAccess ID: p-1\n');
  });

  it('prints JSON that parses back', () => {
    const value = { a: 1, b: ['x'], c: null };
    expect(JSON.parse(jsonText(value))).toEqual(value);
    expect(jsonText(undefined)).toBe('null\n');
  });
});
