/**
 * Job ids are assigned by the state machine from a counter, so every replica
 * gives the same job the same id. Outside the state they are decimal strings
 * without leading zeros: one canonical spelling per id.
 */
export function formatJobId(id: number): string {
  return String(id);
}

/** The numeric id of a canonical job id string, or undefined when it is not one. */
export function parseJobId(text: string): number | undefined {
  const length = text.length;
  if (length === 0 || length > 16) return undefined;
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9 || (digit === 0 && i === 0)) return undefined;
    value = value * 10 + digit;
  }
  return Number.isSafeInteger(value) ? value : undefined;
}
