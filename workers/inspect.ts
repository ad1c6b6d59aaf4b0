/** Loads a dataset in a short-lived worker and describes it (see inspect_worker.ts). */
import type { DatasetRef } from "../core/prepare.ts";
import type { DatasetInfo } from "../store/types.ts";
import { remote, WorkerClient } from "./protocol.ts";
// A type only: the client is derived from the table the worker serves.
import type { inspectOps } from "./inspect_worker.ts";

/** A dataset that cannot be read: `row` and `column` say where, when one cell is at fault. */
export class InspectError extends Error {
  constructor(
    message: string,
    readonly dataError: boolean,
    readonly row?: number,
    readonly column?: string,
    /** The file at fault, by role, when the loader said which. */
    readonly role?: string,
    /** Over a size limit rather than malformed. */
    readonly tooLarge?: boolean,
  ) {
    super(message);
    this.name = "InspectError";
  }
}

const WORKER_URL = new URL("./inspect_worker.ts", import.meta.url).href;

export async function inspectDataset(
  ref: DatasetRef,
  target?: string,
  opts: { timeoutMs?: number; maxInflatedBytes?: number } = {},
): Promise<DatasetInfo> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const { client, ready } = WorkerClient.start(WORKER_URL, {});
  const ops = remote<typeof inspectOps, object>((op, args) => client.call(op, args), {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InspectError(`reading the dataset took longer than ${timeoutMs} ms`, true)),
      timeoutMs,
    );
  });
  try {
    const r = await Promise.race([
      ready.then(() => ops.inspect(ref, target, opts.maxInflatedBytes)),
      timeout,
    ]);
    if (r.ok) return r.info;
    throw new InspectError(r.message, r.dataError, r.row, r.column, r.role, r.tooLarge);
  } catch (e) {
    if (e instanceof InspectError) throw e;
    throw new InspectError(`reading the dataset failed: ${(e as Error).message}`, false);
  } finally {
    clearTimeout(timer);
    client.terminate();
  }
}
