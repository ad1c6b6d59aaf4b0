/**
 * A real PostgreSQL server for tests: the one LOSSMITH_TEST_PG_URL names (CI starts it, see
 * .ci/run), or else a throwaway cluster started here from the installed binaries (initdb and
 * pg_ctl, as the `postgres` user when running as root), stopped when the test process ends. Each
 * caller gets a database of its own. `skip` says why there is none: then, and only then, the tests
 * that need one are skipped, printing the reason.
 */
import pg from "pg";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

let server: Promise<{ url: string } | { skip: string }> | undefined;

/** The server's admin URL, or why there is none. */
export function testServer(): Promise<{ url: string } | { skip: string }> {
  server ??= findServer();
  return server;
}

async function findServer(): Promise<{ url: string } | { skip: string }> {
  const given = Deno.env.get("LOSSMITH_TEST_PG_URL");
  if (given) return { url: given };
  try {
    return { url: await startCluster() };
  } catch (e) {
    return {
      skip: `no PostgreSQL server: LOSSMITH_TEST_PG_URL is unset and ${(e as Error).message}`,
    };
  }
}

function binDir(): string {
  for (const dir of ["/usr/lib/postgresql"]) {
    try {
      const versions = [...Deno.readDirSync(dir)].map((e) => e.name).sort().reverse();
      for (const v of versions) {
        const bin = `${dir}/${v}/bin`;
        if (Deno.statSync(`${bin}/initdb`).isFile) return bin;
      }
    } catch {
      // not there
    }
  }
  throw new Error("no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql)");
}

/** A free TCP port on loopback. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function startCluster(): Promise<string> {
  const bin = binDir();
  const root = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "lossmith-pg-" });
  // initdb refuses to run as root: the cluster belongs to the postgres user then.
  if (root) await run("chown", ["postgres", dir]);
  const as = (cmd: string, args: string[]) =>
    root ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);
  await as(`${bin}/initdb`, ["-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "-E", "UTF8"]);
  const port = freePort();
  await as(`${bin}/pg_ctl`, [
    "-D",
    `${dir}/data`,
    "-l",
    `${dir}/log`,
    "-w",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "start",
  ]);
  globalThis.addEventListener("unload", () => {
    const args = ["-D", `${dir}/data`, "-m", "immediate", "stop"];
    const cmd = root ? "runuser" : `${bin}/pg_ctl`;
    new Deno.Command(cmd, {
      args: root ? ["-u", "postgres", "--", `${bin}/pg_ctl`, ...args] : args,
      stdout: "null",
      stderr: "null",
    }).outputSync();
    Deno.removeSync(dir, { recursive: true });
  });
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" ");
    throw new Error(`${cmd.split("/").pop()} failed: ${text}`);
  }
}

/** A database of its own on the test server, or why there is none. */
export async function testDatabase(): Promise<TestDatabase | { skip: string }> {
  const found = await testServer();
  if ("skip" in found) return found;
  const name = `lossmith_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: found.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(found.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: found.url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Prints why PostgreSQL tests are skipped; returns the test's `ignore`. */
export function skipReason(db: { url: string } | { skip: string }): boolean {
  if ("skip" in db) console.log(`skipping PostgreSQL tests: ${db.skip}`);
  return "skip" in db;
}
