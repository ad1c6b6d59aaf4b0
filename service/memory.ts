/**
 * The service's memory, shared out before it is spent. The operator sets one ceiling
 * (`--memory-limit`); from it come:
 * - what is held before any search: the runtime and main thread, each worker's runtime, and the
 *   dataset inspections the bounded queue lets run at once, each at its worst (the upload's body
 *   and form, the file as read, inflated and decoded: INSPECTION_COPIES x the upload limit);
 * - the rest, shared by the searches that may run at once: each search gets an equal share, and
 *   one whose estimate (core/memory.ts, from its settings and its data's shape) exceeds it is
 *   refused at submission with a 422 naming the settings the estimate follows.
 * On wasm, a worker's request must also fit in its backend's heap (4 GiB of linear memory): past
 * it the backend aborts, whatever the ceiling says.
 * So the searches running, the inspections and the fixed parts never add up to more than the
 * ceiling, as far as the estimates hold (docs/service.md states their measured error).
 */
import {
  type DataSource,
  estimateSearchMemory,
  formatBytes,
  memoryFields,
  WORKER_BASE_BYTES,
} from "../core/memory.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import type { SearchConfig } from "../core/search.ts";
import type { DatasetInfo } from "../store/mod.ts";
import type { ServiceConfig } from "./config.ts";
import { ServiceError } from "./errors.ts";

/** The runtime and main thread: store, HTTP, the jobs' bookkeeping (measured about 150 MB). */
export const SERVICE_BASE_BYTES = 256 * 2 ** 20;
/** An upload at its worst, in upload limits: body, form, file read, inflated, decoded, checked. */
export const INSPECTION_COPIES = 12;
/** A wasm worker's linear memory, less room for fragmentation and the kernels' scratch space. */
export const WASM_HEAP_BYTES = 3.5 * 2 ** 30;

export interface MemoryPlan {
  limitBytes: number;
  /** Searches that may run at once, sharing what is left. */
  searches: number;
  /** Held before any search runs. */
  reservedBytes: number;
  /** What each of the searches that may run at once may take. */
  perSearchBytes: number;
}

/** The shares of the ceiling; undefined when the check is off. Throws if nothing is left. */
export function memoryPlan(config: ServiceConfig): MemoryPlan | undefined {
  const limitBytes = config.memory.limitBytes;
  if (limitBytes === 0) return undefined;
  const reservedBytes = SERVICE_BASE_BYTES + config.workers * WORKER_BASE_BYTES +
    config.inspections.concurrent * INSPECTION_COPIES * config.limits.maxUploadBytes;
  const perSearchBytes = Math.floor((limitBytes - reservedBytes) / config.maxRunningJobs);
  if (perSearchBytes <= 0) {
    throw new Error(
      `memory-limit ${formatBytes(limitBytes)} leaves nothing for searches: the service, its ` +
        `${config.workers} workers and ${config.inspections.concurrent} dataset inspections of ` +
        `up to ${formatBytes(config.limits.maxUploadBytes)} hold ${formatBytes(reservedBytes)}`,
    );
  }
  return { limitBytes, searches: config.maxRunningJobs, reservedBytes, perSearchBytes };
}

/** Refuses a search whose estimated memory exceeds its share (or a wasm worker's heap). */
export function checkSearchMemory(
  plan: MemoryPlan | undefined,
  config: SearchConfig,
  dataset: { info: DatasetInfo; format: DataSource },
  workers: number,
  backend: string,
): void {
  const info = dataset.info;
  if (!plan) return;
  const spec = modelSpecFor(config.model, {
    task: info.task,
    inputs: info.features,
    nClasses: info.classes,
    imageShape: info.imageShape,
  });
  const e = estimateSearchMemory(config, spec, {
    rows: info.rows,
    features: info.features,
    outputs: spec.outputs,
    source: dataset.format,
    testFraction: config.split.testFraction,
    validationFraction: config.split.validationFraction,
  }, workers);
  const what = `${e.parameters} parameters, ${e.stacked} candidate(s) stacked, ` +
    `${e.unrollSteps} unrolled step(s), batch ${e.batch} of ${info.rows} rows`;
  // Worker base runtimes are part of the reserve, not of the search's share.
  const share = e.bytes - workers * WORKER_BASE_BYTES;
  let detail: string | undefined;
  if (backend === "wasm" && e.heapBytes > WASM_HEAP_BYTES) {
    detail = `this search needs an estimated ${formatBytes(e.heapBytes)} in one worker's ` +
      `wasm heap (${what}), which holds at most ${formatBytes(WASM_HEAP_BYTES)}`;
  } else if (share > plan.perSearchBytes) {
    detail = `this search needs an estimated ${formatBytes(share)} (${workers} worker(s) x ` +
      `${formatBytes(e.perWorker - WORKER_BASE_BYTES)}: its data and its largest request, ` +
      `${what}); this service allows ${formatBytes(plan.perSearchBytes)} per search ` +
      `(memory limit ${formatBytes(plan.limitBytes)} shared by up to ${
        Math.round(
          (plan.limitBytes - plan.reservedBytes) / plan.perSearchBytes,
        )
      } running searches)`;
  }
  if (!detail) return;
  const fix = "; lower the unrolled steps, the batch size, the stacked candidates or the model's " +
    "widths, or use a smaller dataset";
  throw new ServiceError(
    "invalid",
    "Search too large for this service's memory",
    detail + fix,
    memoryFields(spec).map((pointer) => ({ pointer, detail: detail! })),
  );
}
