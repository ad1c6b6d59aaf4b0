/**
 * `deno task reproduce [--plan study|quick|tiny|paper] [--tasks a,b] [--report-only]`: runs the
 * study (plan.ts) on a pool of workers, merges its tasks into <out without .md>/results.json
 * (so the study can run in parts, one invocation per task or two), and generates the Markdown
 * report and its SVG plots from that file. `--report-only` regenerates the report from the JSON.
 */
import { parseArgs } from "node:util";
import { PLANS } from "./plan.ts";
import { mergeResults, type Results, runPlan } from "./driver.ts";
import { writeReproductionReport } from "./report.ts";

export const USAGE = `Usage: deno task reproduce [flags]
  --plan study|quick|tiny|paper   the budget by name (default study: under two hours on 2 cores;
                        paper: the published search budgets, for a bigger host)
  --tasks ID,ID         run only these tasks (e.g. mnist-mlp,iris-mlp); the others keep their
                        results from results.json
  --core-only           leave out the EvoMAL variants with one setting alone (run them in a
                        later part: the units already run come from the cache)
  --cached-only         compute nothing: the results of the units already in the cache, the
                        methods (or tasks) missing some reported as not run
  --out FILE.md         report path (default docs/reproduction.md); plots and results.json go
                        to the folder of the same name without .md
  --report-only         regenerate the report from that folder's results.json
  --workers N           worker threads (default 2, one per core here)
  --backend wasm|cpu    (default wasm)
  --cache DIR           per-unit results, reused by a rerun (default .reproduce-cache/<plan>)
  --fresh               ignore cached unit results
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      plan: { type: "string" },
      tasks: { type: "string" },
      "core-only": { type: "boolean" },
      "cached-only": { type: "boolean" },
      out: { type: "string" },
      "report-only": { type: "boolean" },
      workers: { type: "string" },
      backend: { type: "string" },
      cache: { type: "string" },
      fresh: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const planName = values.plan ?? "study";
  if (!(planName in PLANS)) throw new Error(`unknown plan '${planName}'\n${USAGE}`);
  const plan = PLANS[planName as keyof typeof PLANS];
  const out = values.out ?? "docs/reproduction.md";
  const assets = out.replace(/\.md$/, "");
  const resultsFile = `${assets}/results.json`;
  await Deno.mkdir(assets, { recursive: true });
  const previous: Results | null = await Deno.readTextFile(resultsFile)
    .then((t) => JSON.parse(t) as Results)
    .catch(() => null);
  let results: Results;
  if (values["report-only"]) {
    if (!previous) throw new Error(`no results in ${resultsFile}`);
    results = previous;
  } else {
    const backend = values.backend ?? "wasm";
    if (backend !== "wasm" && backend !== "cpu") throw new Error("--backend must be wasm or cpu");
    const only = values.tasks?.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = only?.filter((id) => !plan.tasks.some((t) => t.id === id)) ?? [];
    if (unknown.length) {
      throw new Error(
        `unknown task ${unknown.join(", ")}; the plan has ${
          plan.tasks.map((t) => t.id).join(", ")
        }`,
      );
    }
    const cacheDir = values.cache ?? `.reproduce-cache/${plan.name}`;
    if (values.fresh) await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    const part = await runPlan({
      plan,
      only,
      coreOnly: values["core-only"],
      cachedOnly: values["cached-only"],
      cacheDir,
      workers: Number(values.workers ?? 2),
      backend,
      log: (line) => console.error(line),
    });
    // Read again: another part may have finished meanwhile.
    const latest: Results | null = await Deno.readTextFile(resultsFile)
      .then((t) => JSON.parse(t) as Results)
      .catch(() => null);
    results = mergeResults(latest, part);
    await Deno.writeTextFile(resultsFile, JSON.stringify(results, null, 2) + "\n");
  }
  const written = await writeReproductionReport(results, out, assets);
  console.log(`Report written to ${out} (${written.length} plots in ${assets}/)`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
