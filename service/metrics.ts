/**
 * Prometheus text exposition (version 0.0.4) of what an operator watches: jobs by state,
 * evaluations and their latency, worker utilisation, HTTP requests. Counters live here; gauges
 * are read from the store and the pool when scraped.
 */
import type { PoolCounters, PoolHealth, PoolStats } from "../workers/pool.ts";
import type { CandidateOp } from "../workers/pool.ts";
import type { NodeHealth } from "./mod.ts";

/** Seconds; candidate evaluations range from milliseconds (Iris) to minutes (MNIST). */
const BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    BUCKETS.forEach((b, i) => seconds <= b && this.counts[i]++);
  }
}

export class Metrics {
  readonly #evaluations = new Map<string, number>();
  readonly #latency = new Map<CandidateOp, Histogram>();
  readonly #http = new Map<string, number>();

  requestDone(kind: CandidateOp, ms: number, ok: boolean): void {
    const key = `kind="${kind}",outcome="${ok ? "ok" : "error"}"`;
    this.#evaluations.set(key, (this.#evaluations.get(key) ?? 0) + 1);
    let h = this.#latency.get(kind);
    if (!h) this.#latency.set(kind, h = new Histogram());
    h.observe(ms / 1000);
  }

  httpRequest(method: string, status: number): void {
    const key = `method="${method}",status="${status}"`;
    this.#http.set(key, (this.#http.get(key) ?? 0) + 1);
  }

  render(
    jobs: Record<string, number>,
    states: readonly string[],
    pool: PoolStats & { health: PoolHealth; counters: PoolCounters },
    node: NodeHealth,
  ): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("lossmith_jobs", "gauge", "Searches by state.");
    for (const s of states) out.push(`lossmith_jobs{state="${s}"} ${jobs[s] ?? 0}`);
    family(
      "lossmith_evaluations_total",
      "counter",
      "Worker requests finished (screen, localSearchAndFitness, calibrate, finalRuns, describe) by outcome.",
    );
    for (const [k, n] of this.#evaluations) out.push(`lossmith_evaluations_total{${k}} ${n}`);
    family(
      "lossmith_evaluation_duration_seconds",
      "histogram",
      "Wall time of worker requests.",
    );
    for (const [kind, h] of this.#latency) {
      BUCKETS.forEach((b, i) =>
        out.push(
          `lossmith_evaluation_duration_seconds_bucket{kind="${kind}",le="${b}"} ${h.counts[i]}`,
        )
      );
      out.push(
        `lossmith_evaluation_duration_seconds_bucket{kind="${kind}",le="+Inf"} ${h.count}`,
        `lossmith_evaluation_duration_seconds_sum{kind="${kind}"} ${h.sum}`,
        `lossmith_evaluation_duration_seconds_count{kind="${kind}"} ${h.count}`,
      );
    }
    family("lossmith_workers", "gauge", "Evaluation workers in the pool.");
    out.push(`lossmith_workers ${pool.size}`);
    family("lossmith_workers_ready", "gauge", "Workers serving (idle or busy) now.");
    out.push(`lossmith_workers_ready ${pool.health.ready}`);
    family("lossmith_workers_starting", "gauge", "Replacement workers starting now.");
    out.push(`lossmith_workers_starting ${pool.health.starting}`);
    family("lossmith_workers_dead", "gauge", "Worker slots whose replacement failed to start.");
    out.push(`lossmith_workers_dead ${pool.health.dead}`);
    family(
      "lossmith_worker_replacements_total",
      "counter",
      "Workers replaced, by reason: broken (runtime fault), lost (crashed or terminated), " +
        "abandoned (their job was cancelled).",
    );
    for (const reason of ["broken", "lost", "abandoned"] as const) {
      out.push(`lossmith_worker_replacements_total{reason="${reason}"} ${pool.counters[reason]}`);
    }
    family("lossmith_worker_start_failures_total", "counter", "Replacements that failed to start.");
    out.push(`lossmith_worker_start_failures_total ${pool.counters.startFailures}`);
    family("lossmith_request_retries_total", "counter", "Worker requests sent again.");
    out.push(`lossmith_request_retries_total ${pool.counters.retries}`);
    if (pool.health.lastReplacementMs !== undefined) {
      family(
        "lossmith_worker_last_replacement_seconds",
        "gauge",
        "From the last worker fault seen to its replacement serving.",
      );
      out.push(`lossmith_worker_last_replacement_seconds ${pool.health.lastReplacementMs / 1000}`);
    }
    family("lossmith_workers_busy", "gauge", "Workers evaluating a request now.");
    out.push(`lossmith_workers_busy ${pool.busy}`);
    family("lossmith_worker_busy_seconds_total", "counter", "Worker time spent on requests.");
    out.push(`lossmith_worker_busy_seconds_total ${pool.busyMs / 1000}`);
    family(
      "lossmith_worker_utilisation",
      "gauge",
      "Busy time over available worker time since the service started (0..1).",
    );
    const available = pool.uptimeMs * pool.size;
    out.push(`lossmith_worker_utilisation ${available > 0 ? pool.busyMs / available : 0}`);
    family("lossmith_queued_requests", "gauge", "Worker requests waiting for a worker.");
    out.push(`lossmith_queued_requests ${pool.queued}`);
    family("lossmith_node_info", "gauge", "This node: its name and storage (value 1).");
    out.push(`lossmith_node_info{node="${node.node}",storage="${node.storage}"} 1`);
    family("lossmith_leases", "gauge", "Leases this node holds, by kind of work.");
    out.push(`lossmith_leases{kind="search"} ${node.leases.searches}`);
    out.push(`lossmith_leases{kind="evaluation"} ${node.leases.evaluations}`);
    family("lossmith_queue_depth", "gauge", "Work waiting for any node, by kind.");
    out.push(`lossmith_queue_depth{kind="search"} ${node.queue.searches}`);
    out.push(`lossmith_queue_depth{kind="evaluation"} ${node.queue.evaluations}`);
    family("lossmith_nodes", "gauge", "Nodes of this database with a recent heartbeat.");
    out.push(`lossmith_nodes ${node.nodes}`);
    family("lossmith_http_requests_total", "counter", "HTTP requests answered.");
    for (const [k, n] of this.#http) out.push(`lossmith_http_requests_total{${k}} ${n}`);
    return out.join("\n") + "\n";
  }
}
