/**
 * Faults of the tensor backend that leave this thread's tfjs unusable: a wasm abort (emscripten's
 * `Aborted()`: its state is then undefined), a wasm trap (`memory access out of bounds`,
 * `unreachable`), an exhausted wasm heap, a failed host allocation, or a backend that no longer
 * computes 1 + 2. Once one happened, nothing this thread computes can be trusted: its worker must
 * be replaced, and whatever request was running retried elsewhere (workers/pool.ts).
 *
 * An exhausted heap is caught at the allocation: tfjs does not check `_malloc`'s null pointer and
 * would write the tensor over the heap from address 0, corrupting it silently (the next kernel
 * then aborts, or worse, computes wrong values). Throwing there keeps the heap intact.
 */
import { tf } from "./tf.ts";

/** The first fault seen on this thread, for the rest of its life. */
let fault: string | undefined;

export class BackendFault extends Error {
  override name = "BackendFault";
}

function record(why: string): string {
  fault ??= why;
  return fault;
}

interface WasmModule {
  onAbort?: (what: unknown) => void;
  _malloc(bytes: number): number;
  HEAPU8: Uint8Array;
}

/** Watches the active backend for faults; call once after it is initialised. */
export function watchBackend(): void {
  const wasm = (tf.backend() as unknown as { wasm?: WasmModule }).wasm;
  if (!wasm) return;
  const before = wasm.onAbort;
  wasm.onAbort = (what) => {
    record(`the wasm backend aborted${what ? `: ${what}` : ""}`);
    before?.(what);
  };
  const malloc = wasm._malloc;
  wasm._malloc = (bytes: number) => {
    const pointer = malloc(bytes);
    if (pointer === 0 && bytes > 0) {
      throw new BackendFault(record(
        `the wasm heap is exhausted: ${bytes} bytes could not be allocated beside the ` +
          `${wasm.HEAPU8.buffer.byteLength} the heap holds`,
      ));
    }
    return pointer;
  };
}

/** Whether an error means the backend itself failed (recorded as this thread's fault). */
export function isBackendFault(e: unknown): boolean {
  if (e instanceof BackendFault) return true;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof WebAssembly.RuntimeError || /Aborted\(/.test(message)) {
    record(`the wasm backend failed: ${message}`);
    return true;
  }
  if (e instanceof RangeError && /allocation failed|out of memory/i.test(message)) {
    record(`a host allocation failed: ${message}`);
    return true;
  }
  return false;
}

/**
 * Why this thread's backend can no longer be trusted, or undefined: a fault seen before, or a
 * trivial computation that throws or answers wrong. Cheap (two tiny kernels): run after every
 * request, because the tensor code below catches some errors itself.
 */
export async function backendHealth(): Promise<string | undefined> {
  if (fault) return fault;
  try {
    const t = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
    const [value] = await t.data();
    t.dispose();
    if (value !== 3) return record(`the backend computes 1 + 2 = ${value}`);
  } catch (e) {
    return record(`the backend fails a trivial computation: ${(e as Error).message}`);
  }
  return fault;
}
