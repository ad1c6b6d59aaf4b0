/**
 * `lossmith start`: the service. Listens on 127.0.0.1:8000 by default, with the database in
 * ./lossmith.sqlite; see service/config.ts (or --help) for every setting. SIGINT or SIGTERM stop it
 * gracefully: running searches are checkpointed per generation and resume at the next start.
 */
import { loadConfig, Service, type ServiceConfig } from "../service/mod.ts";
import { StorageInUse } from "../store/mod.ts";
import { isLoopbackHost, USAGE } from "../service/config.ts";
import { createApp } from "../api/app.ts";
import { followSearch, submitDefaultSearch } from "./default_search.ts";

/**
 * The files the service writes: the data folder, and with SQLite the database and the lock file
 * beside it (store/sqlite/lock.ts); PostgreSQL is reached over the network.
 */
function storagePaths(config: ServiceConfig): string[] {
  return config.databaseUrl ? [config.dataDir] : [config.db, `${config.db}.lock`, config.dataDir];
}

/** The storage accesses this process lacks, in words. */
function deniedPaths(config: ServiceConfig): string[] {
  const out: string[] = [];
  for (const path of storagePaths(config)) {
    for (const name of ["read", "write"] as const) {
      if (Deno.permissions.querySync({ name, path }).state !== "granted") {
        out.push(`${name} ${path}`);
      }
    }
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let config;
  try {
    config = loadConfig(argv);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (config === "help") {
    console.log(USAGE);
    return 0;
  }
  const denied = deniedPaths(config);
  if (denied.length > 0) {
    // `deno task start` may write only its default database: say how to run with another.
    const paths = storagePaths(config).join(",");
    console.error(
      `error: this process may not ${denied.join(" and ")}. Run it with those permissions, ` +
        `e.g. deno run --allow-read=.,${paths} --allow-write=${paths} ... main.ts start ` +
        `(README: Permissions)`,
    );
    return 2;
  }
  let service: Service;
  try {
    service = await Service.start(config);
  } catch (e) {
    if (!(e instanceof StorageInUse)) throw e;
    console.error(`error: ${e.message}`);
    return 1;
  }
  const keys = await service.keys.activeCount();
  if (!isLoopbackHost(config.host) && keys === 0) {
    console.error(
      `warning: listening on ${config.host} with no API key: every /v1 request will be refused ` +
        `until one is created ('deno task keys create NAME --db ${config.db}').`,
    );
  }
  const auth = await service.authRequired();
  const { app } = createApp(service);
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: ({ hostname, port }) => {
      console.log(
        `Lossmith ${service.version} listening on http://${hostname}:${port} ` +
          `(node ${service.node.id}, database ${service.storage.location}, ` +
          `${service.pool.parallelism} ${service.pool.backend} workers, ` +
          `${auth ? "API keys required" : "local mode: no API key needed"})`,
      );
    },
  }, app.fetch);

  const stopped = Promise.withResolvers<void>();
  const following = new AbortController();
  const stop = () => {
    following.abort();
    stopped.resolve();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, stop);
  if (config.defaultSearch) {
    const job = await submitDefaultSearch(service);
    if (job) {
      const base = `http://${config.host}:${server.addr.port}`;
      console.log(
        `New database: running the default search ${job.id} (bundled MNIST, MLP, ` +
          `${job.config.budget.population} x ${job.config.budget.generations}). Follow it with\n` +
          `  curl -N ${base}/v1/searches/${job.id}/events\n` +
          `and fetch its losses from ${base}/v1/searches/${job.id}/losses ` +
          `(--default-search false skips it).`,
      );
      followSearch(service, job.id, following.signal).catch((e) =>
        console.error(`default search: ${(e as Error).message}`)
      );
    }
  }
  await stopped.promise;
  console.log(
    "Stopping: running searches will resume from their last generation at the next start.",
  );
  service.beginShutdown();
  await server.shutdown();
  await service.close();
  for (const s of signals) Deno.removeSignalListener(s, stop);
  return 0;
}
