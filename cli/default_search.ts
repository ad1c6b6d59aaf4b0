/**
 * The embedded default of `deno task start`: on a database with no search yet, the service runs
 * a real search on bundled MNIST (an MLP, the quick budget of `deno task search`), so that one
 * command shows the whole product working; its progress is printed here and its events, losses
 * and exports are served like any other search's.
 */
import type { Service } from "../service/mod.ts";
import type { SearchRequest } from "../service/search_request.ts";
import type { JobRecord } from "../service/types.ts";
import type { SearchResult } from "../core/result.ts";
import { progressLine } from "./progress.ts";
import { summary } from "./summary.ts";

/** What `deno task search` runs with no flags: the quick profile on bundled MNIST, an MLP. */
export const DEFAULT_REQUEST: SearchRequest = { dataset: "mnist" };

const OWNER = "local";
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** Submits the default search when the database has none; returns it, or undefined. */
export async function submitDefaultSearch(service: Service): Promise<JobRecord | undefined> {
  const total = Object.values(await service.jobs.countByState()).reduce((a, n) => a + n, 0);
  if (total > 0) return undefined;
  const { job } = await service.jobs.submit(OWNER, DEFAULT_REQUEST);
  return job;
}

/** Prints the search's progress until it ends or `signal` fires, then its summary. */
export async function followSearch(
  service: Service,
  id: string,
  signal: AbortSignal,
): Promise<void> {
  const tty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  let lastLine = "";
  while (!signal.aborted) {
    const job = await service.jobs.get(OWNER, id);
    const line = progressLine(job.progress);
    if (line !== lastLine) {
      Deno.stderr.writeSync(encoder.encode(tty ? `\r\x1b[2K${line}` : `${line}\n`));
      lastLine = line;
    }
    if (FINISHED.has(job.state)) {
      if (tty) Deno.stderr.writeSync(encoder.encode("\n"));
      const { result } = await service.jobs.result(OWNER, id);
      if (result) console.log(summary(result as SearchResult));
      else console.log(`default search ${job.state}${job.error ? `: ${job.error.detail}` : ""}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
