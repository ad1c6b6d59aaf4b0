/**
 * Service processes for tests: `main.ts start` as its own process (a real node, killable with
 * SIGKILL), listening on a free port, its first line read to learn where. Every one runs with the
 * permissions of `deno task start` (deno.json), the task's database paths moved to where its
 * flags put the database and the data folder: what the tests run is what an operator runs.
 */
const ROOT = new URL("../..", import.meta.url);
const MAIN = new URL("main.ts", ROOT).pathname;

/** The task's storage paths (the default database), as deno.json names them. */
const TASK_PATHS = {
  db: "lossmith.sqlite",
  lock: "lossmith.sqlite.lock",
  dataDir: "lossmith.sqlite.files",
} as const;

/** The permission flags of `deno task start`, its storage paths moved to `db` and `dataDir`. */
export function startTaskFlags(paths: { db: string; dataDir: string }): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words = (config.tasks.start as string).split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-2) !== "main.ts") {
    throw new Error(`the start task is not 'deno run ... main.ts start': ${config.tasks.start}`);
  }
  const moved: Record<string, string> = {
    [TASK_PATHS.db]: paths.db,
    [TASK_PATHS.lock]: `${paths.db}.lock`,
    [TASK_PATHS.dataDir]: paths.dataDir,
  };
  return words.slice(2, -2).map((flag) => {
    const m = /^(--allow-(?:read|write))=(.*)$/.exec(flag);
    if (!m) return flag;
    return `${m[1]}=${m[2].split(",").map((p) => moved[p] ?? p).join(",")}`;
  });
}

/** Where the flags put the database and the data folder (the service's defaults otherwise). */
function storageOf(flags: string[]): { db: string; dataDir: string } {
  const value = (name: string) => {
    const i = flags.indexOf(name);
    return i >= 0 ? flags[i + 1] : undefined;
  };
  const db = value("--db") ?? TASK_PATHS.db;
  return { db, dataDir: value("--data-dir") ?? `${db}.files` };
}

export interface Node {
  base: string;
  child: Deno.ChildProcess;
  /** What it printed on stdout and on stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Settles once both of its outputs have been read to their end. */
  drained: Promise<void>;
}

/** `main.ts start` with the flags (every node: no default search, a free port). */
export function spawnNode(flags: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...startTaskFlags(storageOf(flags)),
      MAIN,
      "start",
      ...["--port", "0", "--default-search", "false"],
      ...flags,
    ],
    // The task's paths are relative to the repository, where `deno task start` runs.
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Starts a node and waits until it listens; the rest of its output is drained. */
export async function startNode(flags: string[]): Promise<Node> {
  const child = spawnNode(flags);
  let err = "";
  const errDrained = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on (http:\/\/\S+)/.test(seen)) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      await errDrained;
      throw new Error(`the server exited before listening: ${seen} ${err}`);
    }
    seen += value;
  }
  let out = seen;
  const outDrained = (async () => {
    for (let r = await lines.read(); !r.done; r = await lines.read()) out += r.value;
  })();
  return {
    base: /listening on (http:\/\/\S+)/.exec(seen)![1],
    child,
    stdout: () => out,
    stderr: () => err,
    drained: Promise.all([outDrained, errDrained]).then(() => {}),
  };
}

/**
 * Stops a node (SIGTERM) and waits for it; one already gone is left alone. Its exit code, and
 * what it printed on stderr.
 */
export async function stopNode(node: Node): Promise<{ code: number; stderr: string }> {
  try {
    node.child.kill("SIGTERM");
  } catch {
    // already exited
  }
  const { code } = await node.child.status;
  await node.drained;
  return { code, stderr: node.stderr() };
}

/** Polls a search over HTTP until it has finished. */
export async function untilFinished(
  base: string,
  id: string,
  headers: HeadersInit = {},
  timeoutMs = 120_000,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const search = await (await fetch(`${base}/v1/searches/${id}`, { headers })).json();
    if (["succeeded", "failed", "cancelled"].includes(search.state)) return search;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(search)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
