/**
 * The whole-search figure: one complete search, population 25 x 10 generations on bundled MNIST
 * with the MLP at default settings, run as the real CLI (its worker pool, one worker per core),
 * without the final evaluation. Reports wall time and candidates per minute. PyTorch has no
 * counterpart, so there is no ratio.
 */
export interface WholeSearchFigure {
  ms: number;
  individuals: number;
  tuned: number;
  cacheHits: number;
  rejected: number;
  equivalent: number;
  workers: number;
  backend: string;
}

export async function wholeSearch(backend: string): Promise<WholeSearchFigure> {
  const dir = await Deno.makeTempDir({ prefix: "lossmith-bench-" });
  const out = `${dir}/result.json`;
  const main = new URL("../main.ts", import.meta.url).pathname;
  const args = ["run", "-A", main, "search", "--population", "25", "--generations", "10"];
  args.push("--no-final", "--no-report", "--quiet", "--backend", backend, "--out", out);
  const t0 = performance.now();
  const run = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" })
    .output();
  const ms = performance.now() - t0;
  if (!run.success) {
    throw new Error(`whole search failed: ${new TextDecoder().decode(run.stderr).slice(-500)}`);
  }
  const result = JSON.parse(await Deno.readTextFile(out));
  await Deno.remove(dir, { recursive: true });
  const t = result.totals;
  return {
    ms,
    // The population sits under `budget` since the settings table (it was `gp.populationSize`).
    individuals: result.config.budget.population * t.generations,
    tuned: t.evaluations,
    cacheHits: t.cacheHits,
    rejected: t.rejected,
    equivalent: t.equivalent,
    workers: result.backend.workers,
    backend: result.backend.name,
  };
}
