/** Exit codes of every `raftq` command. */
export const EXIT_OK = 0;
/** The operation failed (rejected input, not found, refused). */
export const EXIT_FAILED = 1;
/** Bad flags or arguments. */
export const EXIT_USAGE = 2;
/** The cluster could not be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). */
export const EXIT_UNAVAILABLE = 3;

/** A usage error: the command prints it with its usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
