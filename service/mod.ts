/**
 * The service without its HTTP face: store, worker pool, datasets, jobs, events and metrics,
 * started together and stopped together. api/ puts HTTP in front of it; tests drive it the same
 * way, over a real port.
 */
import { Store } from "../store/mod.ts";
import { WorkerPool } from "../workers/pool.ts";
import { LOSSMITH_VERSION } from "../core/result.ts";
import { isLoopbackHost, type ServiceConfig } from "./config.ts";
import { DatasetService } from "./datasets.ts";
import { EventHub } from "./event_hub.ts";
import { JobManager } from "./jobs.ts";
import { KeyService } from "./keys.ts";
import { Metrics } from "./metrics.ts";
import { Slots } from "./admission.ts";
import { Logger } from "./log.ts";

export class Service {
  readonly version = LOSSMITH_VERSION;
  readonly keys: KeyService;
  /** Open event streams, per key and in all. */
  readonly streams: Slots;
  readonly #closing = new AbortController();

  private constructor(
    readonly config: ServiceConfig,
    readonly store: Store,
    readonly pool: WorkerPool,
    readonly datasets: DatasetService,
    readonly jobs: JobManager,
    readonly hub: EventHub,
    readonly metrics: Metrics,
    readonly log: Logger,
  ) {
    this.keys = new KeyService(store);
    this.streams = new Slots(config.streams.perKey, config.streams.total);
  }

  static async start(config: ServiceConfig): Promise<Service> {
    await Deno.mkdir(config.dataDir, { recursive: true });
    const store = new Store(config.db);
    const metrics = new Metrics();
    const log = new Logger(config.logLevel);
    let pool: WorkerPool;
    try {
      pool = await WorkerPool.start({
        size: config.workers,
        backend: config.backend,
        observer: {
          requestDone: (kind, ms, ok) => metrics.requestDone(kind, ms, ok),
          replaced: (worker, why) => log.warn("worker replaced", { worker, why }),
        },
      });
    } catch (e) {
      store.close();
      throw e;
    }
    const hub = new EventHub();
    const datasets = new DatasetService(store, config);
    await datasets.sweep();
    const jobs = new JobManager(store, pool, datasets, hub, config, log);
    const service = new Service(config, store, pool, datasets, jobs, hub, metrics, log);
    jobs.start();
    return service;
  }

  /**
   * Whether requests must carry an API key: whenever a key exists, and always when listening
   * beyond loopback (so that revoking the last key cannot open a public service to everyone).
   */
  authRequired(): boolean {
    return !isLoopbackHost(this.config.host) || this.keys.activeCount() > 0;
  }

  /** Aborts when the service begins to shut down: long-lived responses (event streams) end. */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  beginShutdown(): void {
    this.#closing.abort();
  }

  /** Running jobs stay `running` in the store and resume at the next start. */
  async close(): Promise<void> {
    this.beginShutdown();
    await this.jobs.shutdown();
    await this.pool.close();
    this.store.close();
  }
}

export { loadConfig, type ServiceConfig } from "./config.ts";
