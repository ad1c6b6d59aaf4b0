/**
 * How much memory a search takes, estimated from its settings and its data's shape before
 * anything runs, so that the service can refuse what would not fit instead of finding out when a
 * worker aborts. Tensor-free: the model's size comes from its walk over shapes
 * (core/model_kinds.ts walkModel, over core/architectures.ts).
 *
 * Per worker (every worker prepares the job's data, and runs one request at a time):
 * - data: the rows as loaded, split and shuffled on the host, and the training and validation
 *   splits uploaded to the backend: DATA_COPIES (by format) x rows x (features + outputs) floats;
 * - the largest request: local search holds, until its meta-step ends, every one of the T
 *   unrolled steps (T batches, and per step and per stacked candidate the parameters' new values,
 *   velocities and gradients, and the activations of forward and backward passes); fitness and
 *   the final runs hold one step.
 * The coefficients were fitted to peak RSS measured on wasm by bench/memory_estimate.ts, which
 * prints the estimate beside the measurement for each of its workloads (docs/service.md has the
 * table and the error).
 */
import { isDenseStack, modelKind, type ModelSpec, walkModel } from "./model_kinds.ts";
import { AUTO_STACK } from "./stack_plan.ts";
import type { Settings } from "./settings.ts";

const FLOAT = 4;
const MiB = 2 ** 20;
/**
 * Host and backend copies of the data a worker holds, per value (loaded, split, shuffled,
 * uploaded; text formats pass through strings first; the bundled datasets through JSON).
 */
export const DATA_COPIES: Record<DataSource, number> = {
  idx: 5,
  npy: 5,
  csv: 60,
  json: 44,
  bundled: 11,
};
/** Per unrolled step and stacked candidate: parameter-sized tensors kept (values, velocity, gradients, transposes). */
export const PARAM_COPIES_PER_STEP = 10;
/** Per unrolled step, stacked candidate and example: activation-sized tensors (forward, backward, the loss tree's). */
export const ACTIVATION_COPIES_PER_STEP = { dense: 6, conv: 18 } as const;
/** Per step of a training that is not unrolled (fitness, final runs): parameter-sized tensors. */
export const PARAM_COPIES_TRAINING = 8;
/** Per example of the loss tree's nodes: each carries a value and a derivative per output. */
export const LOSS_NODES = 32;
/** Per unrolled step and stacked candidate: the engine's bookkeeping beside the tensors. */
export const STEP_OVERHEAD_BYTES = 1.5 * MiB;
/** Per request: kernels compiled, the JIT's code. */
export const REQUEST_BASE_BYTES = 5 * MiB;
/** What a worker holds before any job: its runtime and tfjs (measured 60 to 90 MB on wasm). */
export const WORKER_BASE_BYTES = 96 * MiB;

export type DataSource = "idx" | "npy" | "csv" | "json" | "bundled";

/** The shape of the data as the service describes it (store/types.ts DatasetInfo). */
export interface DataShape {
  rows: number;
  features: number;
  /** Model outputs: classes, or 1 for regression. */
  outputs: number;
  source: DataSource;
  /** Fractions of the split (settings), to size the training batches. */
  testFraction: number;
  validationFraction: number;
}

export interface MemoryEstimate {
  /** The whole search: every worker's share. */
  bytes: number;
  /** One worker's peak: its runtime, its data, and its largest request. */
  perWorker: number;
  dataBytes: number;
  requestBytes: number;
  /** What one worker's backend holds at the peak: the uploaded splits and the request. */
  heapBytes: number;
  /** What the request's size follows, to name in a refusal. */
  parameters: number;
  stacked: number;
  unrollSteps: number;
  batch: number;
}

/** The settings the estimate reads: the API's pointers name them in a refusal. */
export const MEMORY_FIELDS = [
  "/model/hidden",
  "/evaluation/localSearch/unrollSteps",
  "/evaluation/batchSize",
  "/execution/candidateStack",
] as const;

/** The fields a refusal names for this model: its layer list in place of hidden widths. */
export function memoryFields(spec: Pick<ModelSpec, "kind">): string[] {
  return MEMORY_FIELDS.map((f) =>
    f === "/model/hidden" && modelKind(spec.kind).hasLayers ? "/model/layers" : f
  );
}

/** Most candidates one request computes together under the setting. */
function stackOf(settings: Settings, spec: ModelSpec, population: number): number {
  const s = settings.execution.candidateStack;
  if (!isDenseStack(spec) || s === "off") return 1;
  return Math.min(population, s === "auto" ? AUTO_STACK : s);
}

export function estimateSearchMemory(
  settings: Settings,
  spec: ModelSpec,
  data: DataShape,
  workers: number,
): MemoryEstimate {
  const ev = settings.evaluation;
  // The model run over shapes, as the engine builds it: its parameters and the values per example
  // its forward pass makes (core/model_kinds.ts), the same walk core/model_size.ts reads.
  const walk = walkModel(spec);
  const P = walk.params.reduce((n, d) => n + d.shape.reduce((a, b) => a * b, 1), 0);
  const A = walk.activations;
  const o = data.outputs;
  const held = data.rows * (1 - data.testFraction);
  const trainRows = Math.floor(held * (1 - data.validationFraction));
  const B = Math.max(1, Math.min(ev.batchSize, trainRows));
  const K = stackOf(settings, spec, settings.budget.population);
  const T = ev.localSearch.unrollSteps;
  // A user's layer list computes as a dense stack when it is one, else as convolutions do.
  const copies = ACTIVATION_COPIES_PER_STEP[isDenseStack(spec) ? "dense" : "conv"];
  const batch = FLOAT * B * (data.features + o);
  const step = FLOAT * (PARAM_COPIES_PER_STEP * P + B * (copies * A + LOSS_NODES * o)) +
    STEP_OVERHEAD_BYTES;
  // A meta-step uploads its T batches and the validation batch, and keeps every step's tensors.
  const localSearch = ev.localSearch.enabled ? (T + 1) * batch + T * K * step : 0;
  const training = batch +
    K * FLOAT * (PARAM_COPIES_TRAINING * P + B * ((copies / 2) * A + LOSS_NODES * o));
  const requestBytes = REQUEST_BASE_BYTES + Math.max(localSearch, training);
  const values = data.rows * (data.features + o);
  const dataBytes = FLOAT * DATA_COPIES[data.source] * values;
  const perWorker = WORKER_BASE_BYTES + dataBytes + requestBytes;
  return {
    bytes: workers * perWorker,
    perWorker,
    dataBytes,
    requestBytes,
    // The training and validation splits are uploaded whole (engine/batches.ts).
    heapBytes: requestBytes + FLOAT * held * (data.features + o),
    parameters: P,
    stacked: K,
    unrollSteps: T,
    batch: B,
  };
}

/** Bytes in binary units for people: "1.5 GiB". */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes, u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}
