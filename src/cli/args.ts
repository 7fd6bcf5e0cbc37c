/**
 * Flag parsing shared by the commands (node:util parseArgs, strict): the
 * common flags (--endpoints, -o, --timeout-ms, --help) and typed getters
 * that turn bad values into usage errors.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./exit-codes.js";
import type { CliIo } from "./io.js";

/** Default endpoints when neither --endpoints nor RAFTQ_ENDPOINTS is set. */
export const DEFAULT_ENDPOINTS = "127.0.0.1:7700";
/** Default per-command deadline in ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;

type Options = NonNullable<ParseArgsConfig["options"]>;

export const COMMON_OPTIONS = {
  endpoints: { type: "string" },
  output: { type: "string", short: "o" },
  "timeout-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export const COMMON_HELP = [
  "Common flags:",
  "  --endpoints host:port,...   nodes to talk to (env RAFTQ_ENDPOINTS; default 127.0.0.1:7700)",
  "  -o, --output table|json     output format (default table)",
  "  --timeout-ms n              deadline of the operation, retries included (default 10000)",
  "  -h, --help                  this help",
].join("\n");

export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
  /** Everything after a bare `--`. */
  rest: string[];
}

/** Parse `args` with the common flags plus `options`; unknown flags are usage errors. */
export function parse(args: string[], options: Options = {}): Parsed {
  const dash = args.indexOf("--");
  const head = dash >= 0 ? args.slice(0, dash) : args;
  const rest = dash >= 0 ? args.slice(dash + 1) : [];
  try {
    const { values, positionals } = parseArgs({
      args: head,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Values, positionals, rest };
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.replace(/\. To specify.*$/s, "") : String(e));
  }
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function requireStr(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

export function int(
  values: Values,
  name: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} wants an integer in ${min}-${max}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

export function endpoints(values: Values, io: CliIo): string[] {
  const raw = str(values, "endpoints") ?? io.env["RAFTQ_ENDPOINTS"] ?? DEFAULT_ENDPOINTS;
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const e of list) {
    if (!/^[^\s:]+:[0-9]{1,5}$|^\[[0-9a-fA-F:]+\]:[0-9]{1,5}$/.test(e)) {
      throw new UsageError(`--endpoints: ${JSON.stringify(e)} is not host:port`);
    }
  }
  if (list.length === 0) throw new UsageError("--endpoints: give at least one host:port");
  return list;
}

export type OutputFormat = "table" | "json";

export function output(values: Values): OutputFormat {
  const o = str(values, "output") ?? "table";
  if (o !== "table" && o !== "json") throw new UsageError(`-o wants table or json, got ${JSON.stringify(o)}`);
  return o;
}

export function timeoutMs(values: Values): number {
  return int(values, "timeout-ms", 1) ?? DEFAULT_TIMEOUT_MS;
}
