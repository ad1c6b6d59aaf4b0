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
