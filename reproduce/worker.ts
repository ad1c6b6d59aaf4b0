/**
 * A reproduction worker: it serves one operation, running a unit (units.ts), through the
 * project's one worker protocol (workers/protocol.ts), after starting the tensor backend. The
 * candidate pool serves a search's symbolic losses; a reproduction also trains ML3 and the
 * standard loss alone and on training subsets, so its units are a table of their own.
 */
import { initBackend } from "../engine/tensor/backend.ts";
import { serveOps } from "../workers/protocol.ts";
import { runUnit } from "./units.ts";

export const unitOps = { run: runUnit };

serveOps<{ backend: string }, undefined>({
  init: async (options) => ({
    backend: (await initBackend((options as { backend: "wasm" | "cpu" }).backend)).name,
  }),
  opsFor: () => unitOps,
});
