/**
 * An exit code chosen by a command itself (the agent's 2 for a dead UID token, `tessera run`'s child
 * exit code). The command has already said what happened; `main` only returns the code.
 */

/** Thrown to end a command with a given exit code and no further message. */
export class CommandExit extends Error {
  readonly exitCode: number;

  /** @param exitCode - the process exit code */
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
    this.exitCode = exitCode;
  }
}
