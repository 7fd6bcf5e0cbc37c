/**
 * Invariant checks for the core. A broken invariant means the state can no
 * longer be trusted, so we throw at once instead of limping on (TigerBeetle's
 * "assertions are a force multiplier"): the runtime lets it crash the process.
 */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === "string" ? message : message());
  }
}
