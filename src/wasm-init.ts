// Asynchronous loading of the kernels from a URL, a Response, bytes or a compiled module, for
// pages that prefer streaming compilation (or serve kernels.wasm themselves) over the copy
// embedded in the JavaScript. Everything else works without calling this.
import { useWasmModule } from "./backend/current.js";
import { builtin } from "./platform.js";
import { ValueError } from "./errors.js";
import { checkArgCount } from "./check.js";

/** Where initWasm finds the kernels: a URL or path, a fetch Response, a compiled module, or the bytes. */
export type WasmSource = string | URL | Response | PromiseLike<Response> | WebAssembly.Module | BufferSource;

/**
 * Compiles the kernels from `source` and makes them the wasm backend's module; await it before the
 * first tensor. A URL or string is fetched (file: URLs are read from disk in Node, Deno and Bun);
 * a Response served as `application/wasm` is compiled while it streams.
 *
 *   await initWasm(new URL("wasmgrad/kernels.wasm", import.meta.url));
 */
export async function initWasm(source: WasmSource): Promise<WebAssembly.Module> {
  checkArgCount("initWasm", arguments, 1);
  const module = await compileWasm(source, "initWasm");
  useWasmModule(module);
  return module;
}

/** @internal Compiles a WasmSource (initWasm, initFastMath); `caller` names the function in errors. */
export async function compileWasm(source: WasmSource, caller: string): Promise<WebAssembly.Module> {
  return compile(await source, caller);
}

async function compile(source: Exclude<WasmSource, PromiseLike<Response>>, caller: string): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === "string" || source instanceof URL) {
    const url = new URL(String(source), (globalThis as { location?: { href: string } }).location?.href);
    if (url.protocol === "file:") {
      const fs = builtin<{ readFileSync(path: URL): Uint8Array }>("node:fs");
      if (fs === null) throw new ValueError(`${caller}: cannot read ${url.href} without a file system`);
      let bytes: Uint8Array;
      try {
        bytes = fs.readFileSync(url);
      } catch (e) {
        throw new ValueError(`${caller}: cannot read ${url.href}: ${(e as Error).message}`);
      }
      return WebAssembly.compile(bytes as BufferSource);
    }
    return compile(await fetch(url), caller);
  }
  if (typeof Response !== "undefined" && source instanceof Response) {
    if (!source.ok) throw new ValueError(`${caller}: fetching ${source.url || "the kernels"} failed: HTTP ${source.status}`);
    const type = source.headers.get("content-type") ?? "";
    if (typeof WebAssembly.compileStreaming === "function" && type.startsWith("application/wasm")) {
      return WebAssembly.compileStreaming(source);
    }
    return WebAssembly.compile(await source.arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}
