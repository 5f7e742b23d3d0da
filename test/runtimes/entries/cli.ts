// Node, Deno and Bun: bundled with "wasmgrad" left external, run inside the temp project where the
// packed tarball is installed, so each runtime resolves the installed package by its exports.
import * as wasmgrad from "wasmgrad";
import { runDeterminism } from "../determinism.js";

const g = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = g.Deno !== undefined ? "deno" : g.Bun !== undefined ? "bun" : "node";
console.log(JSON.stringify(runDeterminism(wasmgrad, runtime)));
