/**
 * Invariant checks for the job state machine. A broken invariant means the
 * replicated state is no longer trustworthy, so it throws loudly instead of
 * limping on and letting replicas drift apart.
 */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === "string" ? message : message());
  }
}

/** For hot paths: `if (!ok) fail(...)` builds the message only on failure, with no closure per call. */
export function fail(message: string): never {
  throw new InvariantError(message);
}
