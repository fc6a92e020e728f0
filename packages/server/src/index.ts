export { type Config, type ConfigOverrides, loadConfig } from './config/config.js';
export type { LedgerReport } from './core/audit/audit.verify.js';
export { ErrorCodes, TesseraError } from './core/shared/errors.js';
export { hasValidChecksum, UID_TOKEN_PATTERN } from './crypto/credentials.js';
export { type RootKeyRotation, rotateRootKeyOffline } from './root-key.rotation.js';
export {
  ADMIN_METHOD_NAME,
  createTessera,
  initDataDir,
  startServer,
  systemClock,
  type Tessera,
  type TesseraOptions,
  verifyAuditLedgerOffline,
} from './server.js';
export {
  type BackupManifest,
  backupDataDir,
  type RestoreReport,
  restoreDataDir,
} from './storage/backup.js';
export { type RootKeySplit, removeRootKeyFile, splitRootKeyOffline } from './unseal/root-key-split.js';
export {
  chooseStartMode,
  type StartMode,
  startServerOrSealed,
  storeSealingKeyIds,
  type UnsealableOptions,
  type UnsealableServer,
} from './unseal/sealed-start.js';
export { VERSION } from './version.js';
