/**
 * `deno task reproduce [--quick] [--out docs/reproduction.md] [--report-only]`: runs the
 * reproduction plan (plan.ts) on a pool of workers, writes every result to
 * <out without .md>/results.json, and generates the Markdown report and its SVG plots from that
 * file. `--report-only` regenerates the report from the JSON alone.
 */
import { parseArgs } from "node:util";
import { PLANS } from "./plan.ts";
import { type Results, runPlan } from "./driver.ts";
import { writeReproductionReport } from "./report.ts";

export const USAGE = `Usage: deno task reproduce [flags]
  --quick               every task at a few minutes' budget (default: the ~40-minute budget)
  --plan default|quick|tiny|paper   choose the budget by name (paper: the published one, GPU host)
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
      quick: { type: "boolean" },
      plan: { type: "string" },
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
  const planName = values.plan ?? (values.quick ? "quick" : "default");
  if (!(planName in PLANS)) throw new Error(`unknown plan '${planName}'\n${USAGE}`);
  const plan = PLANS[planName as keyof typeof PLANS];
  const out = values.out ?? "docs/reproduction.md";
  const assets = out.replace(/\.md$/, "");
  const resultsFile = `${assets}/results.json`;
  await Deno.mkdir(assets, { recursive: true });
  let results: Results;
  if (values["report-only"]) {
    results = JSON.parse(await Deno.readTextFile(resultsFile));
  } else {
    const backend = values.backend ?? "wasm";
    if (backend !== "wasm" && backend !== "cpu") throw new Error("--backend must be wasm or cpu");
    const cacheDir = values.cache ?? `.reproduce-cache/${plan.name}`;
    if (values.fresh) await Deno.remove(cacheDir, { recursive: true }).catch(() => {});
    results = await runPlan({
      plan,
      cacheDir,
      workers: Number(values.workers ?? 2),
      backend,
      log: (line) => console.error(line),
    });
    await Deno.writeTextFile(resultsFile, JSON.stringify(results, null, 2) + "\n");
  }
  const written = await writeReproductionReport(results, out, assets);
  console.log(`Report written to ${out} (${written.length} plots in ${assets}/)`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
