/**
 * The service as a real process (`main.ts start`), for the tests that need one: its permissions,
 * its log lines, another process changing its database. Its stdout is read as it comes, so that
 * a full pipe never blocks the service.
 */

const ROOT = new URL("../..", import.meta.url);

export interface ServiceProcess {
  base: string;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  /** SIGTERM, then its exit status and stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

export async function spawnService(
  flags: string[],
  args: string[],
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, "main.ts", "start", "--port", "0", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let ended = false;
  const drained = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
    ended = true;
  })();
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const status = await child.status;
    await drained;
    return { code: status.code, stderr: await stderr };
  };
  const deadline = Date.now() + 120_000;
  let base: string | undefined;
  while (!base) {
    if (ended || Date.now() > deadline) {
      const { stderr } = await stop();
      throw new Error(`the service did not start: ${out}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    base = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
  }
  return { base, stdout: () => out, stop };
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
