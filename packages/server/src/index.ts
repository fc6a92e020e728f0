export { type Config, type ConfigOverrides, loadConfig } from './config/config.js';
export { ADMIN_METHOD_NAME, type Tessera, type TesseraOptions, createTessera, initDataDir, startServer, systemClock } from './server.js';
export { ErrorCodes, TesseraError } from './core/shared/errors.js';
export { UID_TOKEN_PATTERN, hasValidChecksum } from './crypto/credentials.js';
export { VERSION } from './version.js';
