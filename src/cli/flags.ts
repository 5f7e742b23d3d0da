// The one flag parser behind every program in the repository: the CLI (src/cli/args.ts), the
// examples, the benchmarks and the scripts. Strict: --help prints the usage and exits 0; an
// unknown flag is one line with a did-you-mean suggestion; a missing or malformed value names the
// flag; usage errors exit with code 2 and never print a stack trace.
import { parseArgs } from "node:util";

/** One flag: its type, default, and a one-line help text. */
export interface FlagSpec {
  type: "string" | "number" | "int" | "boolean";
  help: string;
  default?: string | number | boolean;
  /** The accepted values of a string flag. */
  choices?: readonly string[];
  /** Smallest accepted value of a number/int flag. */
  min?: number;
  /** A one-letter alias (-n). */
  short?: string;
}

/** A program's flags by name. */
export type FlagSpecs = Record<string, FlagSpec>;

/** Parsed values: numbers for number/int flags, booleans, strings; undefined when absent without default. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]: S[K]["type"] extends "boolean"
    ? boolean
    : S[K]["type"] extends "number" | "int"
      ? S[K]["default"] extends number
        ? number
        : number | undefined
      : S[K]["choices"] extends readonly (infer C)[]
        ? S[K]["default"] extends string
          ? C
          : C | undefined
        : S[K]["default"] extends string
          ? string
          : string | undefined;
};

/** A usage error: one line for the user, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Levenshtein distance (for did-you-mean suggestions). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** " (did you mean --epochs?)" for the closest known flag within a small edit distance, else "". */
export function didYouMean(flag: string, known: readonly string[]): string {
  const name = flag.replace(/^-+/, "").split("=")[0];
  let best = "",
    bestD = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestD || (d === bestD && k.startsWith(name))) {
      best = k;
      bestD = d;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return bestD <= limit || (name.length >= 3 && best.startsWith(name)) ? ` (did you mean --${best}?)` : "";
}

/** The usage text: a description, then every flag with its type, default and help. */
export function usage(program: string, description: string, specs: FlagSpecs, positionals = ""): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const arg = s.type === "boolean" ? "" : s.choices ? ` <${s.choices.join("|")}>` : ` <${s.type === "string" ? "value" : s.type}>`;
    const left = `  ${s.short ? `-${s.short}, ` : ""}--${name}${arg}`;
    const dflt = s.default !== undefined && s.type !== "boolean" ? ` (default ${s.default})` : "";
    return [left, `${s.help}${dflt}`];
  });
  rows.push(["  -h, --help", "show this help"]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `usage: ${program}${positionals ? ` ${positionals}` : ""} [flags]\n\n${description}\n\nflags:\n${rows.map(([l, r]) => l.padEnd(width) + r).join("\n")}\n`;
}

/**
 * `--lr -1` as `--lr=-1`: a negative number after a flag that takes a value is that value (node's
 * parseArgs would read it as an unknown option -1).
 */
export function joinNegativeValues(argv: readonly string[], takesValue: (flag: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i],
      next = argv[i + 1];
    if (/^--[\w-]+$/.test(a) && next !== undefined && /^-(\d|\.\d)/.test(next) && takesValue(a.slice(2))) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * Parses argv against the specs; throws UsageError for anything wrong. Returns the values and
 * the positional arguments (only when `positionals` says what they are; otherwise any
 * positional is an error). `help` is true when --help was given (nothing else is checked then).
 */
export function parseFlagValues<const S extends FlagSpecs>(
  program: string,
  specs: S,
  argv: readonly string[],
  positionals?: string,
): { values: FlagValues<S>; positionals: string[]; help: boolean } {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = { help: { type: "boolean", short: "h" } };
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type === "boolean" ? "boolean" : "string", ...(s.short ? { short: s.short } : {}) };
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    const args = joinNegativeValues(argv, (f) => specs[f] !== undefined && specs[f].type !== "boolean");
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (e) {
    const err = e as { code?: string; message: string };
    const flag = /'(-[^']*)'/.exec(err.message)?.[1]?.split(/\s/)[0] ?? "";
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      if (argv.includes("--help") || argv.includes("-h")) return { values: {} as FlagValues<S>, positionals: [], help: true };
      throw new UsageError(`${program}: unknown flag ${flag}${didYouMean(flag, Object.keys(specs))} (see --help)`);
    }
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const name = /--([\w-]+)/.exec(err.message)?.[1] ?? flag.replace(/^-+/, "");
      throw new UsageError(specs[name]?.type === "boolean" ? `${program}: --${name} takes no value` : `${program}: --${name} needs a value`);
    }
    throw new UsageError(`${program}: ${err.message.split("\n")[0]}`);
  }
  if (parsed.values.help === true) return { values: {} as FlagValues<S>, positionals: [], help: true };
  if (positionals === undefined && parsed.positionals.length > 0) {
    throw new UsageError(`${program}: unexpected argument '${parsed.positionals[0]}' (see --help)`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      values[name] = s.type === "boolean" ? (s.default ?? false) : s.default;
      continue;
    }
    if (s.type === "boolean") {
      values[name] = raw;
    } else if (s.type === "string") {
      if (s.choices && !s.choices.includes(raw as string)) throw new UsageError(`${program}: --${name} must be one of ${s.choices.join(", ")}, got '${raw}'`);
      values[name] = raw;
    } else {
      const v = Number(raw);
      if ((raw as string).trim() === "" || !Number.isFinite(v)) throw new UsageError(`${program}: --${name} must be a number, got '${raw}'`);
      if (s.type === "int" && !Number.isInteger(v)) throw new UsageError(`${program}: --${name} must be an integer, got '${raw}'`);
      if (s.min !== undefined && v < s.min)
        throw new UsageError(`${program}: --${name} must be ≥ ${s.min}, got ${v}${v < 0 && s.min >= 0 ? " (it is negative)" : ""}`);
      values[name] = v;
    }
  }
  return { values: values as FlagValues<S>, positionals: parsed.positionals, help: false };
}

/**
 * For programs (examples, benchmarks, scripts): parses process.argv, prints the usage and exits 0
 * on --help, prints one line and exits 2 on a usage error.
 */
export function parseFlags<const S extends FlagSpecs>(
  program: string,
  description: string,
  specs: S,
  options: { positionals?: string; argv?: readonly string[] } = {},
): FlagValues<S> & { _: string[] } {
  const argv = options.argv ?? process.argv.slice(2);
  try {
    const r = parseFlagValues(program, specs, argv, options.positionals);
    if (r.help) {
      process.stdout.write(usage(program, description, specs, options.positionals));
      process.exit(0);
    }
    return Object.assign(r.values, { _: r.positionals });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
