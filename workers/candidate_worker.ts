/**
 * One evaluation worker. It rebuilds the data and the evaluator from the init message (the
 * preparation is deterministic, so every worker holds identical data and nothing large is posted),
 * then serves screen/tune requests strictly one at a time: tfjs keeps global state per thread.
 */
import { CandidateEvaluator } from "../core/evaluator.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import { screenCandidate, tuneCandidate } from "../core/runner.ts";
import { initBackend } from "../core/tensor/backend.ts";
import {
  errorMessage,
  type FromWorker,
  type InitMessage,
  type RequestMessage,
  type ResultPayload,
  type ToWorker,
} from "./protocol.ts";

// The worker global scope, typed narrowly: this file is checked with the window lib.
const scope = self as unknown as {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

let evaluator: CandidateEvaluator | undefined;
// Chains every message so that init finishes before requests, and requests never overlap.
let queue: Promise<void> = Promise.resolve();

async function init(msg: InitMessage): Promise<void> {
  const t0 = performance.now();
  try {
    const info = await initBackend(msg.backend);
    const data = prepare(await loadDataset(msg.dataset), msg.config.seed, msg.split);
    const { model, evaluation, seed } = msg.config;
    evaluator = new CandidateEvaluator(data, model, evaluation, seed);
    scope.postMessage({
      type: "ready",
      backend: info.name,
      adapter: info.adapter,
      initMs: performance.now() - t0,
    });
  } catch (e) {
    scope.postMessage({ type: "init-error", error: errorMessage(e) });
  }
}

async function serve(msg: RequestMessage): Promise<void> {
  try {
    if (!evaluator) throw new Error("worker received a request before a successful init");
    const result: ResultPayload = msg.kind === "screen"
      ? await screenCandidate(evaluator, msg.tree)
      : await tuneCandidate(evaluator, msg.tree, msg.phiSeed);
    scope.postMessage({ type: "response", id: msg.id, ok: true, result });
  } catch (e) {
    scope.postMessage({ type: "response", id: msg.id, ok: false, error: errorMessage(e) });
  }
}

scope.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(() => msg.type === "init" ? init(msg) : serve(msg));
};
