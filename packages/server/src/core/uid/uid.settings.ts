import type { ReusePolicy, UidSettings } from '../auth-methods/auth-methods.model.js';
import { validationError } from '../shared/errors.js';

export const UID_DEFAULTS: UidSettings = {
  ttlSeconds: 3600,
  jwtTtlSeconds: 3600,
  childTtlLimitSeconds: 86_400,
  childCountLimit: 100,
  treeLength: 5,
  denyRotate: false,
  denyInheritance: false,
  reusePolicy: 'revoke',
  rotationGraceSeconds: 120,
};

const YEAR_SECONDS = 365 * 86_400;

function int(
  input: Record<string, unknown>,
  key: keyof UidSettings,
  fallback: number,
  min: number,
  max: number,
) {
  const value = input[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validationError(`${key} must be an integer between ${min} and ${max}.`, { field: key });
  }
  return value;
}

function bool(input: Record<string, unknown>, key: keyof UidSettings, fallback: boolean) {
  const value = input[key] ?? fallback;
  if (typeof value !== 'boolean') throw validationError(`${key} must be true or false.`, { field: key });
  return value;
}

/** Validates UID settings, filling gaps from `current` (on update) or the defaults. */
export function normaliseUidSettings(
  input: Record<string, unknown>,
  current: UidSettings | null,
  maxSessionTtlSeconds: number,
): UidSettings {
  const base = current ?? UID_DEFAULTS;
  const reusePolicy = (input.reusePolicy ?? base.reusePolicy) as ReusePolicy;
  if (reusePolicy !== 'revoke' && reusePolicy !== 'flag') {
    throw validationError('reusePolicy must be "revoke" or "flag".', { field: 'reusePolicy' });
  }
  return {
    ttlSeconds: int(input, 'ttlSeconds', base.ttlSeconds, 60, YEAR_SECONDS),
    jwtTtlSeconds: int(
      input,
      'jwtTtlSeconds',
      Math.min(base.jwtTtlSeconds, maxSessionTtlSeconds),
      60,
      maxSessionTtlSeconds,
    ),
    childTtlLimitSeconds: int(input, 'childTtlLimitSeconds', base.childTtlLimitSeconds, 60, YEAR_SECONDS),
    // Methods stored before the setting existed have none: the default applies.
    childCountLimit: int(
      input,
      'childCountLimit',
      base.childCountLimit ?? UID_DEFAULTS.childCountLimit,
      1,
      100_000,
    ),
    treeLength: int(input, 'treeLength', base.treeLength, 1, 32),
    denyRotate: bool(input, 'denyRotate', base.denyRotate),
    denyInheritance: bool(input, 'denyInheritance', base.denyInheritance),
    reusePolicy,
    rotationGraceSeconds: int(input, 'rotationGraceSeconds', base.rotationGraceSeconds, 5, 3600),
  };
}
