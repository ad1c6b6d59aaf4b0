/**
 * The service without its HTTP face: storage, worker pool, datasets, jobs, and on PostgreSQL this
 * node's share of the evaluation queue, started together and stopped together. api/ puts HTTP in
 * front of it; tests drive it the same way, over a real port.
 */
import { type NodeInfo, openStorage, type Storage } from "../store/mod.ts";
import { nowIso } from "../store/ids.ts";
import { type PoolHealth, WorkerPool } from "../workers/pool.ts";
import { LOSSMITH_VERSION } from "../core/result.ts";
import { isLoopbackHost, type ServiceConfig } from "./config.ts";
import { DatasetService } from "./datasets.ts";
import { type Evaluators, localEvaluators } from "./evaluators.ts";
import { QueueEvaluators } from "./cluster.ts";
import { Executor } from "./executor.ts";
import { JobManager } from "./jobs.ts";
import { KeyService } from "./keys.ts";
import { Metrics } from "./metrics.ts";
import { Slots } from "./admission.ts";
import { Logger } from "./log.ts";

/**
 * The state of a node's workers: `ok`, every one serves; `degraded`, some are being replaced or
 * could not be; `down`, none serves or is starting.
 */
export type WorkersStatus = "ok" | "degraded" | "down";

export function workersStatus(pool: PoolHealth): WorkersStatus {
  if (pool.ready === pool.size) return "ok";
  return pool.ready + pool.starting > 0 ? "degraded" : "down";
}

/** What /healthz and /metrics say of this node and the queue it shares. */
export interface NodeHealth {
  /** This node's workers. */
  status: WorkersStatus;
  node: string;
  storage: "sqlite" | "postgres";
  /** Leases this node holds: searches it runs, evaluations its workers compute. */
  leases: { searches: number; evaluations: number };
  /** Work waiting for a node: queued searches, and evaluations (PostgreSQL). */
  queue: { searches: number; evaluations: number };
  /** Nodes with a recent heartbeat, this one included. */
  nodes: number;
  /** Each of them, with the state of its workers at its last heartbeat (this one: now). */
  cluster: { node: string; status: WorkersStatus; url?: string }[];
}

export class Service {
  readonly version = LOSSMITH_VERSION;
  readonly keys: KeyService;
  /** Open event streams, per key and in all. */
  readonly streams: Slots;
  readonly #closing = new AbortController();

  private constructor(
    readonly config: ServiceConfig,
    readonly storage: Storage,
    readonly node: NodeInfo,
    readonly pool: WorkerPool,
    readonly datasets: DatasetService,
    readonly jobs: JobManager,
    readonly metrics: Metrics,
    readonly log: Logger,
    readonly executor?: Executor,
  ) {
    this.keys = new KeyService(storage);
    this.streams = new Slots(config.streams.perKey, config.streams.total);
  }

  /** Refused with StorageInUse when another service holds the SQLite file. */
  static async start(config: ServiceConfig): Promise<Service> {
    await Deno.mkdir(config.dataDir, { recursive: true });
    const storage = await openStorage({
      db: config.db,
      databaseUrl: config.databaseUrl,
      service: true,
      datasetFiles: config.datasetFiles,
      leaseMs: config.leaseMs,
    });
    const node: NodeInfo = {
      id: config.nodeId,
      host: hostname(),
      pid: Deno.pid,
      startedAt: nowIso(),
    };
    const metrics = new Metrics();
    const log = new Logger(config.logLevel);
    let pool: WorkerPool;
    try {
      await storage.nodes.beat(node);
      pool = await WorkerPool.start({
        size: config.workers,
        backend: config.backend,
        observer: {
          requestDone: (kind, ms, ok) => metrics.requestDone(kind, ms, ok),
          replaced: (worker, why) => log.warn("worker replaced", { worker, why }),
        },
      });
    } catch (e) {
      await storage.close();
      throw e;
    }
    const datasets = new DatasetService(storage, config, node);
    await datasets.sweep();
    const queue = storage.evaluations;
    const evaluators: Evaluators = queue ? new QueueEvaluators(queue, pool) : localEvaluators(pool);
    const executor = queue
      ? new Executor(queue, pool, (id, ref) => datasets.localRef(id, ref), log)
      : undefined;
    // Each heartbeat carries the state of this node's workers, for every node's /healthz.
    const beat = (): NodeInfo => ({ ...node, workers: workersStatus(pool.health()) });
    const jobs = new JobManager(storage, evaluators, datasets, config, node, log, beat);
    const service = new Service(
      config,
      storage,
      node,
      pool,
      datasets,
      jobs,
      metrics,
      log,
      executor,
    );
    executor?.start();
    jobs.start();
    return service;
  }

  /**
   * Whether requests must carry an API key: whenever a key exists, and always when listening
   * beyond loopback (so that revoking the last key cannot open a public service to everyone).
   */
  async authRequired(): Promise<boolean> {
    return !isLoopbackHost(this.config.host) || await this.keys.activeCount() > 0;
  }

  async health(): Promise<NodeHealth> {
    const [held, byState, depth, nodes] = await Promise.all([
      this.storage.jobs.held(this.node.id),
      this.storage.jobs.countByState(),
      this.storage.evaluations?.depth() ?? { queued: 0, active: 0 },
      this.storage.nodes.live(this.config.leaseMs),
    ]);
    const status = workersStatus(this.pool.health());
    const cluster = nodes.map((n) => ({
      node: n.id,
      status: n.id === this.node.id ? status : n.workers ?? "ok",
      ...(n.url ? { url: n.url } : {}),
    }));
    return {
      status,
      node: this.node.id,
      storage: this.storage.engine,
      leases: { searches: held, evaluations: this.executor?.leases ?? 0 },
      queue: { searches: byState.queued ?? 0, evaluations: depth.queued },
      nodes: nodes.length,
      cluster,
    };
  }

  /** Aborts when the service begins to shut down: long-lived responses (event streams) end. */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  beginShutdown(): void {
    this.#closing.abort();
  }

  /** Running jobs are released, and resume on another node or at the next start. */
  async close(): Promise<void> {
    this.beginShutdown();
    await this.jobs.shutdown();
    await this.executor?.close();
    await this.pool.close();
    await this.storage.nodes.remove(this.node.id).catch(() => {});
    await this.storage.close();
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

export { loadConfig, type ServiceConfig } from "./config.ts";
