/**
 * One evaluation worker. The init message starts the tensor backend; every request then names its
 * job context, and the worker builds that job's data and evaluator the first time it meets it
 * (preparation is deterministic, so every worker holds identical data and nothing large is
 * posted). A few contexts are cached, least recently used evicted, so that several jobs can share
 * the worker without reloading their data on every request. Requests run strictly one at a time:
 * tfjs keeps global state per thread.
 */
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { loadDataset, prepare, type PreparedData } from "../core/prepare.ts";
import { screenCandidate, tuneCandidate } from "../engine/runner.ts";
import {
  calibrateFitnessBatching,
  fitnessOfItems,
  localSearchOfItems,
} from "../engine/stacking.ts";
import type { FitnessCalibration } from "../core/stack_plan.ts";
import { finalSeedRuns } from "../engine/final_runs.ts";
import type { DataSummary } from "../core/result.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { tf } from "../engine/tensor/tf.ts";
import {
  errorMessage,
  type FromWorker,
  type InitMessage,
  type JobContext,
  type RequestMessage,
  type ResultPayload,
  type ToWorker,
} from "./protocol.ts";

// The worker global scope, typed narrowly: this file is checked with the window lib.
const scope = self as unknown as {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

interface Prepared {
  data: PreparedData;
  evaluator: CandidateEvaluator;
  /** Measured once per context: a repeated request (a retry) does not measure again. */
  calibration?: FitnessCalibration;
}

/** Insertion order is recency order: a hit is deleted and set again. */
const contexts = new Map<string, Prepared>();
let maxContexts = 4;
let ready = false;
// Chains every message so that init finishes before requests, and requests never overlap.
let queue: Promise<void> = Promise.resolve();

async function init(msg: InitMessage): Promise<void> {
  const t0 = performance.now();
  try {
    maxContexts = Math.max(1, msg.maxContexts);
    const info = await initBackend(msg.backend);
    ready = true;
    scope.postMessage({
      type: "ready",
      backend: info.name,
      adapter: info.adapter,
      tfjs: tf.version.tfjs,
      initMs: performance.now() - t0,
    });
  } catch (e) {
    scope.postMessage({ type: "init-error", error: errorMessage(e) });
  }
}

function release(id: string): void {
  const entry = contexts.get(id);
  if (!entry) return;
  contexts.delete(id);
  entry.evaluator.dispose();
}

async function contextFor(ctx: JobContext): Promise<Prepared> {
  const hit = contexts.get(ctx.id);
  if (hit) {
    contexts.delete(ctx.id);
    contexts.set(ctx.id, hit);
    return hit;
  }
  const data = prepare(await loadDataset(ctx.dataset), ctx.config.seed, ctx.split);
  const { model, evaluation, seed } = ctx.config;
  const entry = { data, evaluator: new CandidateEvaluator(data, model, evaluation, seed) };
  contexts.set(ctx.id, entry);
  while (contexts.size > maxContexts) release(contexts.keys().next().value!);
  return entry;
}

/** The prepared data as a result describes it (no arrays). */
function summarize(d: PreparedData): DataSummary {
  return {
    name: d.name,
    task: d.task,
    inputs: d.inputs,
    nClasses: d.nClasses,
    train: { n: d.train.n },
    validation: { n: d.validation.n },
    test: { n: d.test.n },
  };
}

async function serve(msg: RequestMessage): Promise<void> {
  let entry: Prepared;
  try {
    if (!ready) throw new Error("worker received a request before a successful init");
    entry = await contextFor(msg.context);
  } catch (e) {
    const error = `could not prepare the data of job ${msg.context.id}: ${errorMessage(e)}`;
    scope.postMessage({ type: "response", id: msg.id, ok: false, error, contextFailed: true });
    return;
  }
  try {
    let result: ResultPayload;
    if (msg.kind === "describe") result = summarize(entry.data);
    else if (msg.kind === "screen") result = await screenCandidate(entry.evaluator, msg.tree);
    else if (msg.kind === "tune") {
      result = await tuneCandidate(entry.evaluator, msg.tree, msg.phiSeed);
    } else if (msg.kind === "local-search") {
      result = await localSearchOfItems(entry.evaluator, msg.items);
    } else if (msg.kind === "fitness") {
      result = await fitnessOfItems(entry.evaluator, msg.items);
    } else if (msg.kind === "calibrate") {
      result = entry.calibration ??= await calibrateFitnessBatching(entry.evaluator);
    } else {
      const spec = msg.context.config.model;
      result = await finalSeedRuns(entry.data, spec, msg.tree, msg.phi, msg.settings, msg.seed);
    }
    scope.postMessage({ type: "response", id: msg.id, ok: true, result });
  } catch (e) {
    scope.postMessage({ type: "response", id: msg.id, ok: false, error: errorMessage(e) });
  }
}

scope.onmessage = (event) => {
  const msg = event.data;
  queue = queue.then(() => {
    if (msg.type === "init") return init(msg);
    if (msg.type === "release") return release(msg.contextId);
    return serve(msg);
  });
};
