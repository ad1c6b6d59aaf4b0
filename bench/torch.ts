/**
 * Runs the PyTorch reference (bench/torch_reference.py, beside this file) in a subprocess,
 * single-threaded to match tfjs wasm (one thread in Deno), and reads its JSON lines. Never throws:
 * when PyTorch or the script is missing, `missing` says why and the results are empty.
 */
import { fileURLToPath } from "node:url";

export const TORCH_SCRIPT = new URL("./torch_reference.py", import.meta.url);

export interface TorchResult {
  workload: string;
  ms: number;
  repeats: number;
  torch: string;
  threads: number;
  device: string;
}

export interface TorchRun {
  results: Map<string, TorchResult>;
  /** Why there are no (or only some) results. */
  missing?: string;
  /** The BLAS PyTorch loaded (CPU only): the reference's speed depends on it. */
  blas?: string;
  /** The library files behind `blas`. */
  blasPaths?: string[];
}

/** One thread for every threading layer PyTorch may use. */
const ONE_THREAD = { OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" };

async function exec(python: string, args: string[]) {
  const cmd = new Deno.Command(python, { args, env: ONE_THREAD, stdout: "piped", stderr: "piped" });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

/** Names the BLAS behind torch's CPU matMul: MKL when torch was built with it (pip wheels, linked
 * in statically), else the BLAS libraries mapped into a torch process (Debian's torch). */
const BLAS_PROBE = `
import torch
torch.ones(64, 64) @ torch.ones(64, 64)
if torch.backends.mkl.is_available():
    print("mkl (linked into torch)")
else:
    print("\\n".join(sorted({l.split()[-1] for l in open("/proc/self/maps")
        if any(k in l.split()[-1].lower() for k in ("blas", "blis")) and "cublas" not in l})))
`;

/** A short name for the BLAS behind torch (`reference` is netlib's unoptimised one). */
export function describeBlas(paths: string[]): string | undefined {
  if (paths.length === 0) return undefined;
  const all = paths.join(" ").toLowerCase();
  if (all.includes("mkl")) return "mkl";
  if (all.includes("openblas")) return "openblas";
  if (all.includes("blis")) return "blis";
  if (all.includes("/blas/libblas")) return "reference";
  return "unknown";
}

export async function runTorch(
  python: string,
  workloads: string[],
  repeats: number,
  device: string,
): Promise<TorchRun> {
  const results = new Map<string, TorchResult>();
  const script = fileURLToPath(TORCH_SCRIPT);
  try {
    await Deno.stat(script);
  } catch {
    return { results, missing: `PyTorch reference script not found at ${script}` };
  }
  let run;
  try {
    run = await exec(python, [
      script,
      "--workloads",
      workloads.join(","),
      "--repeats",
      String(repeats),
      "--device",
      device,
    ]);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "not found" : String(e);
    return { results, missing: `PyTorch not available (${python}: ${why})` };
  }
  for (const line of run.stdout.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    const r = JSON.parse(line) as TorchResult;
    results.set(r.workload, r);
  }
  let missing: string | undefined;
  if (run.code !== 0) {
    const why = lastLine(run.stderr);
    missing = /No module named '?torch/.test(run.stderr)
      ? `PyTorch not available (${why})`
      : `PyTorch reference failed (exit ${run.code}: ${why})`;
  }
  let blasPaths: string[] | undefined;
  if (results.size > 0 && device === "cpu") {
    const probe = await exec(python, ["-c", BLAS_PROBE]).catch(() => undefined);
    if (probe?.code === 0) blasPaths = probe.stdout.trim().split("\n").filter(Boolean);
  }
  return { results, missing, blas: describeBlas(blasPaths ?? []), blasPaths };
}

/** The non-empty lines of a byte stream. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  // The cast: npm's Node types, in the graph through the PostgreSQL client, type the stream apart.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  for await (const chunk of stream.pipeThrough(decoder)) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const p of parts) if (p.trim()) yield p;
  }
}

/**
 * The reference as a server (torch_reference.py --serve): one repetition at a time, when asked,
 * so that the benchmark can pair each of its own repetitions with one of the reference's, run
 * right after it (bench/run.ts).
 */
export class TorchServer {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Promise<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout);
    this.#stderr = new Response(child.stderr).text();
  }

  /** Starts the reference; a string says why not (Python or PyTorch missing). */
  static async start(python: string, device: string): Promise<TorchServer | string> {
    const script = fileURLToPath(TORCH_SCRIPT);
    let child: Deno.ChildProcess;
    try {
      await Deno.stat(script);
      child = new Deno.Command(python, {
        args: [script, "--serve", "--device", device],
        env: ONE_THREAD,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "not found" : String(e);
      return `PyTorch not available (${python}: ${why})`;
    }
    const server = new TorchServer(child);
    // The first answer proves that torch imported.
    try {
      await server.setup("mlp_step");
    } catch {
      const why = lastLine(await server.#stderr);
      await server.close();
      return /No module named '?torch/.test(why)
        ? `PyTorch not available (${why})`
        : `PyTorch reference failed (${why})`;
    }
    return server;
  }

  async #ask(request: Record<string, string>): Promise<Record<string, unknown>> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`the reference stopped: ${lastLine(await this.#stderr)}`);
    return JSON.parse(value);
  }

  /** Builds a workload and runs its warm-up; the versions and threads of the reference. */
  async setup(workload: string): Promise<Omit<TorchResult, "ms" | "repeats">> {
    return await this.#ask({ op: "setup", workload }) as unknown as Omit<
      TorchResult,
      "ms" | "repeats"
    >;
  }

  /** One timed repetition, in ms (per step for the fused workloads). */
  async time(workload: string): Promise<number> {
    return (await this.#ask({ op: "time", workload })).ms as number;
  }

  async close(): Promise<void> {
    try {
      await this.#writer.write(new TextEncoder().encode('{"op": "quit"}\n'));
      await this.#writer.close();
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }
}

/** The BLAS behind the reference's matMul (CPU only), as `runTorch` reports it. */
export async function torchBlas(python: string): Promise<{ blas?: string; paths?: string[] }> {
  const probe = await exec(python, ["-c", BLAS_PROBE]).catch(() => undefined);
  if (probe?.code !== 0) return {};
  const paths = probe.stdout.trim().split("\n").filter(Boolean);
  return { blas: describeBlas(paths), paths };
}
