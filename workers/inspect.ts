/** Loads a dataset in a short-lived worker and describes it (see inspect_worker.ts). */
import type { DatasetRef } from "../core/prepare.ts";
import type { DatasetInfo } from "../store/types.ts";

export interface InspectRequest {
  ref: DatasetRef;
  target?: string;
}

export type InspectReply =
  | { ok: true; info: DatasetInfo }
  | { ok: false; dataError: boolean; message: string; row?: number; column?: string };

/** A dataset that cannot be read: `row` and `column` say where, when one cell is at fault. */
export class InspectError extends Error {
  constructor(
    message: string,
    readonly dataError: boolean,
    readonly row?: number,
    readonly column?: string,
  ) {
    super(message);
    this.name = "InspectError";
  }
}

const WORKER_URL = new URL("./inspect_worker.ts", import.meta.url).href;

export function inspectDataset(
  ref: DatasetRef,
  target?: string,
  timeoutMs = 120_000,
): Promise<DatasetInfo> {
  const worker = new Worker(WORKER_URL, { type: "module" });
  return new Promise<DatasetInfo>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new InspectError(`reading the dataset took longer than ${timeoutMs} ms`, true)),
      timeoutMs,
    );
    worker.onmessage = (event: MessageEvent<InspectReply>) => {
      clearTimeout(timer);
      const r = event.data;
      if (r.ok) resolve(r.info);
      else reject(new InspectError(r.message, r.dataError, r.row, r.column));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      clearTimeout(timer);
      reject(new InspectError(`reading the dataset failed: ${event.message}`, false));
    };
    worker.postMessage({ ref, target } satisfies InspectRequest);
  }).finally(() => worker.terminate());
}
