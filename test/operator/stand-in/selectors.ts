/** Label and field selectors, the subset kubectl and client-node send (equality, inequality, existence, in). */
type Obj = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

export function labelSelectorMatches(selector: string | null, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  // Split on commas that are not inside parentheses.
  const terms = selector.match(/([^,(]+(\([^)]*\))?)+/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*!=\s*(.*)$/.exec(t))) return labels[m[1]!] !== m[2];
    if ((m = /^([^!=\s]+)\s*==?\s*(.*)$/.exec(t))) return labels[m[1]!] === m[2];
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t))) {
      const set = m[3]!.split(",").map((s) => s.trim());
      const v = labels[m[1]!];
      return m[2] === "in" ? v !== undefined && set.includes(v) : v === undefined || !set.includes(v);
    }
    if (t.startsWith("!")) return !(t.slice(1) in labels);
    return t in labels;
  });
}

export function fieldSelectorMatches(selector: string | null, obj: Obj): boolean {
  if (!selector) return true;
  return selector.split(",").every((raw) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(raw.trim());
    if (m === null) return true;
    const field = m[1]!;
    const value =
      field === "metadata.name"
        ? obj.metadata?.name
        : field === "metadata.namespace"
          ? obj.metadata?.namespace
          : undefined;
    return m[2] === "!=" ? value !== m[3] : value === m[3];
  });
}
