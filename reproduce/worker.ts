/**
 * A reproduction worker: starts the tensor backend, then runs one unit (units.ts) per message,
 * strictly one at a time because tfjs keeps global state per thread. The project's WorkerPool
 * serves a search's candidates and final seeds of symbolic losses; a reproduction also trains
 * ML3 and the standard loss alone and on training subsets, so it has its own small worker.
 */
import { initBackend } from "../engine/tensor/backend.ts";
import { runUnit, type Unit } from "./units.ts";

type ToWorker = { type: "init"; backend: "wasm" | "cpu" } | {
  type: "unit";
  id: number;
  unit: Unit;
};

const scope = self as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

let queue: Promise<void> = Promise.resolve();

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === "init") {
    try {
      const info = await initBackend(msg.backend);
      scope.postMessage({ type: "ready", backend: info.name });
    } catch (e) {
      scope.postMessage({ type: "init-error", error: String(e) });
    }
    return;
  }
  try {
    const result = await runUnit(msg.unit);
    scope.postMessage({ type: "result", id: msg.id, ok: true, result });
  } catch (e) {
    const error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
    scope.postMessage({ type: "result", id: msg.id, ok: false, error });
  }
}

scope.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};
