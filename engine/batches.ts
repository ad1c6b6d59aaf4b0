/**
 * Training data as tensors, served as mini-batches. Rows are shuffled once with the search's
 * seed; batch i is the contiguous slice at offset (i * B) mod (n - B + 1), as the PyTorch
 * reference does, so a batch is a cheap slice and the schedule is reproducible.
 */
import { tf } from "./tensor/tf.ts";
import type { Batch } from "./train.ts";
import type { Task } from "../core/data/dataset.ts";
import { Rng } from "../core/rng.ts";
import type { LabeledRows } from "../core/prepare.ts";

export type { LabeledRows };

/** Model outputs: classes for classification, 1 for single-target regression. */
export function outputCount(task: Task, nClasses: number | undefined): number {
  return task === "classification" ? nClasses ?? 2 : 1;
}

/** Row-major targets: one-hot rows for classification, the value itself for regression. */
function oneHotOrTargets(task: Task, y: Float32Array, outputs: number): Float32Array {
  if (task === "regression") return y;
  const out = new Float32Array(y.length * outputs);
  y.forEach((label, i) => (out[i * outputs + label] = 1));
  return out;
}

export class BatchSource {
  readonly all: Batch;
  readonly batchSize: number;
  readonly n: number;
  /** Host copies of the shuffled rows: a batch is uploaded from a subarray, because tf.slice of
   * a large tensor measured about 16 ms on wasm against about 0.1 ms for the upload. */
  readonly #x: Float32Array;
  readonly #y: Float32Array;
  readonly #d: number;
  readonly #outputs: number;

  constructor(
    task: Task,
    rows: LabeledRows,
    outputs: number,
    batchSize: number,
    shuffleSeed?: number,
  ) {
    const order = Array.from({ length: rows.n }, (_, i) => i);
    if (shuffleSeed !== undefined) {
      const rng = new Rng(shuffleSeed);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    const x = new Float32Array(rows.n * rows.d);
    const y = new Float32Array(rows.n);
    order.forEach((src, dst) => {
      x.set(rows.x.subarray(src * rows.d, (src + 1) * rows.d), dst * rows.d);
      y[dst] = rows.y[src];
    });
    this.#x = x;
    this.#y = oneHotOrTargets(task, y, outputs);
    this.#d = rows.d;
    this.#outputs = task === "classification" ? outputs : 1;
    this.all = this.#rows(0, rows.n);
    this.n = rows.n;
    this.batchSize = Math.min(batchSize, rows.n);
  }

  /** The first row of batch number i (any non-negative integer). */
  offset(i: number): number {
    return (i * this.batchSize) % (this.n - this.batchSize + 1);
  }

  /** Batch number i (any non-negative integer). The caller disposes it. */
  batch(i: number): Batch {
    return this.#rows(this.offset(i), this.batchSize);
  }

  /**
   * The shuffled rows on the host, row-major (`d` features, `outputs` targets a row), for an
   * engine that keeps a whole split on its device (engine/webgpu/dense.ts). Borrowed: not to be
   * modified.
   */
  hostRows(): { x: Float32Array; y: Float32Array; d: number; outputs: number } {
    return { x: this.#x, y: this.#y, d: this.#d, outputs: this.#outputs };
  }

  /** The first `count` rows, a fixed batch for probes and screens. */
  head(count: number): Batch {
    return this.#rows(0, Math.min(count, this.n));
  }

  #rows(offset: number, count: number): Batch {
    const d = this.#d, k = this.#outputs;
    return {
      x: tf.tensor2d(this.#x.subarray(offset * d, (offset + count) * d), [count, d]),
      y: tf.tensor2d(this.#y.subarray(offset * k, (offset + count) * k), [count, k]),
    };
  }

  dispose(): void {
    tf.dispose([this.all.x, this.all.y]);
  }
}
