/**
 * Service processes for tests: `main.ts start` as its own process (a real node, killable with
 * SIGKILL), listening on a free port, its first line read to learn where.
 */
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

export interface Node {
  base: string;
  child: Deno.ChildProcess;
  /** What it printed on stdout and on stderr so far. */
  stdout(): string;
  stderr(): string;
}

/** `main.ts start` with the flags (every node: no default search, a free port). */
export function spawnNode(flags: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "start", "--port", "0", "--default-search", "false", ...flags],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Starts a node and waits until it listens; the rest of its output is drained. */
export async function startNode(flags: string[]): Promise<Node> {
  const child = spawnNode(flags);
  let err = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on (http:\/\/\S+)/.test(seen)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the server exited before listening: ${seen} ${err}`);
    seen += value;
  }
  let out = seen;
  (async () => {
    for (let r = await lines.read(); !r.done; r = await lines.read()) out += r.value;
  })();
  return {
    base: /listening on (http:\/\/\S+)/.exec(seen)![1],
    child,
    stdout: () => out,
    stderr: () => err,
  };
}

/** Stops a node (SIGTERM) and waits for it; one already gone is left alone. */
export async function stopNode(node: Node): Promise<void> {
  try {
    node.child.kill("SIGTERM");
  } catch {
    // already exited
  }
  await node.child.status;
}
