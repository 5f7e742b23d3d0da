// Flag parsing for the command line: node:util's parseArgs (strict), turned into one-line errors,
// plus typed readers for numbers and choices. Every problem becomes a CliError, which main.ts
// prints as one line with a non-zero exit code.
import { parseArgs } from "node:util";
import { didYouMean, joinNegativeValues } from "./flags.js";

/** An error for the user: printed as `wasmgrad: <message>`, exit code `code`, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Exit codes: 1 runtime failure (file, format), 2 usage (bad flag or value), 3 diverged training. */
export const USAGE = 2;
export const DIVERGED = 3;

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; default?: string | boolean; multiple?: boolean }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** parseArgs with strict checking; unknown flags and missing values become one-line CliErrors. */
export function parseFlags(command: string, args: string[], options: OptionSpec): Parsed {
  try {
    const joined = joinNegativeValues(args, (f) => options[f] !== undefined && options[f].type === "string");
    const r = parseArgs({ args: joined, options, strict: true, allowPositionals: true });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    const err = e as { code?: string; message: string };
    const flag = /'(-[^']*)'/.exec(err.message)?.[1] ?? "";
    const help = `(see wasmgrad ${command} --help)`;
    switch (err.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new CliError(`${command}: unknown flag ${flag.split(/\s/)[0]}${didYouMean(flag.split(/\s/)[0], Object.keys(options))} ${help}`, USAGE);
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
        const name = /--([\w-]+)/.exec(err.message)?.[1];
        const spec = name === undefined ? undefined : options[name];
        throw new CliError(
          spec?.type === "boolean" ? `${command}: --${name} takes no value ${help}` : `${command}: --${name ?? flag} needs a value ${help}`,
          USAGE,
        );
      }
      default:
        throw new CliError(`${command}: ${err.message.split("\n")[0]}`, USAGE);
    }
  }
}

/** For commands that take no arguments besides flags (checked after --help, which wins). */
export function rejectPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new CliError(`${command}: unexpected argument '${positionals[0]}' (see wasmgrad ${command} --help)`, USAGE);
}

/** Readers over parsed values that throw one-line usage errors naming the flag. */
export class Flags {
  constructor(
    readonly command: string,
    readonly values: Parsed["values"],
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === "string" ? v : undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  /** A number from a flag; `int` requires an integer; bounds inclusive. */
  num(name: string, fallback: number, opts: { int?: boolean; min?: number; max?: number } = {}): number {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    const v = raw.trim() === "" ? NaN : Number(raw);
    const kind = opts.int ? "an integer" : "a number";
    const range =
      opts.min !== undefined && opts.max !== undefined
        ? ` from ${opts.min} to ${opts.max}`
        : opts.min !== undefined
          ? opts.min === 0
            ? " ≥ 0"
            : ` ≥ ${opts.min}`
          : "";
    if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      throw new CliError(`${this.command}: --${name} expects ${kind}${range}, got '${raw}'`, USAGE);
    }
    return v;
  }

  /** A positive learning-rate-like number (> 0). */
  positive(name: string, fallback: number): number {
    const v = this.num(name, fallback);
    if (!(v > 0)) throw new CliError(`${this.command}: --${name} expects a number > 0, got '${this.str(name)}'`, USAGE);
    return v;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const raw = this.str(name);
    if (raw === undefined) return fallback;
    if (!(choices as readonly string[]).includes(raw)) {
      throw new CliError(`${this.command}: --${name} expects ${choices.join(" | ")}, got '${raw}'`, USAGE);
    }
    return raw as T;
  }
}
