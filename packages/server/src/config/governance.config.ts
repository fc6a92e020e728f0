import type { Int } from './audit.config.js';

/**
 * Governance thresholds from the environment (issue 16, ADR 0033): each anomaly-detection setting
 * that is set; unset ones keep the capability's defaults.
 */

/** Variable → setting, with its bounds. */
const ANOMALY_ENV = {
  TESSERA_ANOMALY_WINDOW_DAYS: ['windowDays', 1, 365],
  TESSERA_ANOMALY_MIN_EVENTS: ['minEvents', 1, 1_000_000],
  TESSERA_ANOMALY_MIN_DAYS: ['minDays', 0, 365],
  TESSERA_ANOMALY_RATE_FACTOR: ['rateFactor', 1, 1000],
  TESSERA_ANOMALY_RATE_MIN_EVENTS: ['rateMinEvents', 1, 1_000_000],
  TESSERA_ANOMALY_PREFIX_DEPTH: ['prefixDepth', 1, 20],
  TESSERA_ANOMALY_STALE_SECONDS: ['staleSeconds', 60, 30 * 86_400],
} as const;

type AnomalyKey = (typeof ANOMALY_ENV)[keyof typeof ANOMALY_ENV][0];

export interface GovernanceConfig {
  /** The anomaly settings set in the environment (the rest keep the capability's defaults). */
  anomaly: Partial<Record<AnomalyKey, number>>;
}

export function loadGovernanceConfig(env: NodeJS.ProcessEnv, integer: Int): GovernanceConfig {
  const anomaly: GovernanceConfig['anomaly'] = {};
  for (const [name, [key, min, max]] of Object.entries(ANOMALY_ENV)) {
    const raw = env[name];
    if (raw !== undefined && raw.trim() !== '') anomaly[key] = integer(name, raw, 0, min, max);
  }
  return { anomaly };
}
