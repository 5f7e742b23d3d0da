// The wasmgrad command line (package.json "bin" → dist/cli.js, built from bin.ts by npm run build:js):
//   wasmgrad train | eval | predict | bench | generate
// Every failure — a bad flag, a missing or corrupt file, a library error — is one line on stderr
// and a non-zero exit code; stack traces only with WASMGRAD_DEBUG=1.
import { createRequire } from "node:module";
import { WasmgradError } from "wasmgrad";
import { CliError, USAGE } from "./args.js";
import { ImageFormatError } from "./image.js";
import { ModelFileError } from "./modelfile.js";
import { trainCommand } from "./train.js";
import { evalCommand } from "./eval.js";
import { predictCommand } from "./predict.js";
import { benchCommand } from "./bench.js";
import { generateCommand } from "./gpt.js";

const HELP = `Usage: wasmgrad <command> [flags]      (wasmgrad <command> --help for its flags)

Commands:
  train     train an MNIST MLP or CNN with a live progress bar; writes model.safetensors,
            metrics.jsonl and a self-contained report.html; --model gpt trains a GPT on a text file
  generate  sample text from a GPT trained with train --model gpt (tokens streamed)
  eval      accuracy, per-class precision/recall and confusion matrix of a saved model
  predict   classify PNG/PGM images or IDX samples with a saved model
  bench     the benchmark table

Examples:
  wasmgrad train --model cnn --epochs 3 --scheduler onecycle --lr 0.004 --out run-cnn
  wasmgrad eval run-cnn/model.safetensors
  wasmgrad predict run-cnn/model.safetensors digit.png
  wasmgrad predict run-cnn/model.safetensors --idx t10k-images-idx3-ubyte --index 0-9
  wasmgrad train --model gpt --data input.txt --steps 500 --out run-gpt
  wasmgrad generate run-gpt --prompt "The " --tokens 300`;

function version(): string {
  try {
    return (createRequire(import.meta.url)("wasmgrad/package.json") as { version: string }).version;
  } catch {
    return "(unknown version)";
  }
}

/** Runs one command line; resolves to the exit code (messages already written). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "train":
        await trainCommand(rest);
        return 0;
      case "eval":
        await evalCommand(rest);
        return 0;
      case "predict":
        await predictCommand(rest);
        return 0;
      case "bench":
        await benchCommand(rest);
        return 0;
      case "generate":
        await generateCommand(rest);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? USAGE : 0;
      case "--version":
      case "-v":
        process.stdout.write(`wasmgrad ${version()}\n`);
        return 0;
      default:
        throw new CliError(`unknown command '${command}' (expected train, eval, predict, bench or generate; see wasmgrad --help)`, USAGE);
    }
  } catch (e) {
    const { message, code } = describe(e);
    process.stderr.write(`wasmgrad: ${message}\n`);
    if (process.env.WASMGRAD_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    return code;
  }
}

/** One line for any error: ours, the library's, or Node's (file system codes). */
export function describe(e: unknown): { message: string; code: number } {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ").trim();
  if (e instanceof CliError) return { message: oneLine(e.message), code: e.code };
  if (e instanceof WasmgradError) return { message: oneLine(`${e.name}: ${e.message}`), code: 1 };
  if (e instanceof ImageFormatError || e instanceof ModelFileError) return { message: oneLine(e.message), code: 1 };
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === "object" && typeof err.code === "string" && typeof err.syscall === "string") {
    const what: Record<string, string> = {
      ENOENT: "no such file or directory",
      EACCES: "permission denied",
      EISDIR: "is a directory",
      ENOTDIR: "not a directory",
      EEXIST: "already exists",
      ENOSPC: "no space left on the device",
      EROFS: "read-only file system",
    };
    return { message: `${err.path ?? err.syscall}: ${what[err.code] ?? err.message}`, code: 1 };
  }
  const msg = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
  return { message: `unexpected error: ${oneLine(msg)} (WASMGRAD_DEBUG=1 shows the stack)`, code: 1 };
}
