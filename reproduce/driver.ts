/**
 * Runs a reproduction plan: for every task, the GP-LFL and EvoMAL searches and ML3's
 * meta-training, then every method's loss trained from scratch on the same seeds as the standard
 * loss, then the sample-efficiency runs. Each unit's result is cached as JSON under the cache
 * folder as soon as it finishes, keyed by the unit's full description, so a crash or an
 * interruption loses at most the units in flight and a rerun picks up where it stopped.
 */
import { finalSeeds } from "../core/final.ts";
import type { SearchResult } from "../core/result.ts";
import { LOSSMITH_VERSION } from "../core/result.ts";
import type { MethodName, Plan, TaskPlan } from "./plan.ts";
import { UnitPool } from "./pool.ts";
import type { LossRef, MlThreeResult, TrainResult, Unit, UnitResult } from "./units.ts";
import { type WelchResult, welchTTest } from "./stats.ts";

export interface SearchCost {
  wallMs: number;
  generations: number;
  evaluations: number;
  distinct: number;
  cacheHits: number;
  rejected: number;
  equivalent: number;
  diverged: number;
  /** Best validation fitness of each generation (null: none finite). */
  bestPerGeneration: (number | null)[];
}

export interface MethodResult {
  method: MethodName;
  /** Test metric per final seed; null where training diverged. */
  values: (number | null)[];
  mean: number | null;
  std: number | null;
  /** Test metric every curveEvery steps, mean over the seeds that did not diverge. */
  curve: number[];
  curveEvery: number;
  /** Against the standard loss; absent for the standard loss itself. */
  welch?: WelchResult | null;
  /** The learned loss: with learned weights, and its plain structure. */
  formula?: { infix: string; structure: string };
  /** Validation fitness of the loss after partial training (what the search minimised). */
  fitness?: number | null;
  search?: SearchCost;
  ml3?: {
    steps: number;
    metaLossFirst: number | null;
    metaLossLast: number | null;
    wallMs: number;
  };
  /** Summed wall time of the final trainings. */
  finalMs: number;
}

export interface TaskResult {
  task: TaskPlan;
  metric: "error rate" | "mse";
  rows?: { train: number; validation: number; test: number };
  methods: MethodResult[];
}

export interface SampleEfficiencyResult {
  task: string;
  fractions: number[];
  trainRows: number[];
  series: {
    method: MethodName;
    means: (number | null)[];
    stds: (number | null)[];
    welch?: (WelchResult | null)[];
  }[];
}

export interface Results {
  kind: "lossmith.reproduction";
  createdAt: string;
  plan: Plan;
  backend: string;
  workers: number;
  versions: { lossmith: string; deno: string; v8: string };
  /** Wall time of this run; units taken from the cache count as zero here. */
  wallMs: number;
  cachedUnits: number;
  tasks: TaskResult[];
  sampleEfficiency?: SampleEfficiencyResult;
}

export interface DriverOptions {
  plan: Plan;
  cacheDir: string;
  workers: number;
  backend: "wasm" | "cpu";
  log?: (line: string) => void;
}

/** FNV-1a over the unit's JSON: a file name for the cache, checked against the content. */
function keyOf(text: string): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    h1 = Math.imul(h1 ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ text.charCodeAt(i), 0x811c9dc5) >>> 0;
  }
  return h1.toString(16).padStart(8, "0") + h2.toString(16).padStart(8, "0");
}

function summarize(values: (number | null)[]): { mean: number | null; std: number | null } {
  const ok = values.filter((v): v is number => v !== null);
  if (!ok.length) return { mean: null, std: null };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const std = ok.length > 1
    ? Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1))
    : 0;
  return { mean, std };
}

function meanCurve(runs: TrainResult[]): number[] {
  const ok = runs.filter((r) => r.value !== null);
  if (!ok.length) return [];
  const points = Math.min(...ok.map((r) => r.curve.length));
  return Array.from(
    { length: points },
    (_, i) => ok.reduce((a, r) => a + r.curve[i], 0) / ok.length,
  );
}

const finite = (xs: (number | null)[]) => xs.filter((v): v is number => v !== null);

export async function runPlan(opts: DriverOptions): Promise<Results> {
  const { plan, log = () => {} } = opts;
  const t0 = performance.now();
  await Deno.mkdir(opts.cacheDir, { recursive: true });
  const pool = await UnitPool.start(opts.workers, opts.backend);
  let cachedUnits = 0;
  let done = 0;
  // Identical units asked for twice (the sample-efficiency runs at fraction 1 are final runs)
  // share one computation.
  const inFlight = new Map<string, Promise<UnitResult>>();
  const run = <T extends UnitResult>(unit: Unit, label: string): Promise<T> => {
    const text = JSON.stringify(unit);
    if (!inFlight.has(text)) inFlight.set(text, compute(unit, text, label));
    return inFlight.get(text)! as Promise<T>;
  };
  const compute = async (unit: Unit, text: string, label: string): Promise<UnitResult> => {
    const file = `${opts.cacheDir}/${keyOf(text)}.json`;
    try {
      const stored = JSON.parse(await Deno.readTextFile(file));
      if (JSON.stringify(stored.unit) === text) {
        cachedUnits++;
        return stored.result as UnitResult;
      }
    } catch { /* not cached */ }
    const started = performance.now();
    const result = await pool.run(unit);
    await Deno.writeTextFile(file, JSON.stringify({ unit, result }) + "\n");
    log(
      `[${((performance.now() - t0) / 1000).toFixed(0)}s] ${++done} done: ${label} (${
        ((performance.now() - started) / 1000).toFixed(1)
      }s)`,
    );
    return result;
  };
  const seeds = finalSeeds({ seeds: plan.seeds, baseSeed: plan.seed });
  const train = (task: TaskPlan, loss: LossRef, fraction = 1) =>
    Promise.all(seeds.map((seed) =>
      run<TrainResult>(
        { kind: "train", task, loss, seed, fraction, dataSeed: plan.seed },
        `${task.id} ${loss.kind} seed ${seed} fraction ${fraction}`,
      )
    ));
  const bestOf = (r: SearchResult): LossRef | null =>
    r.losses[0] ? { kind: "tree", tree: r.losses[0].tree, phi: r.losses[0].phi } : null;

  // The costliest tasks first, so that their long units do not end up alone at the tail.
  const order = [...plan.tasks].sort((a, b) => cost(b) - cost(a));
  const searches = new Map<string, Record<"gp-lfl" | "evomal", Promise<SearchResult>>>();
  const ml3s = new Map<string, Promise<MlThreeResult>>();
  for (const task of order) {
    searches.set(task.id, {
      evomal: run(
        { kind: "search", task, localSearch: true, seed: plan.seed },
        `${task.id} EvoMAL search`,
      ),
      "gp-lfl": run(
        { kind: "search", task, localSearch: false, seed: plan.seed },
        `${task.id} GP-LFL search`,
      ),
    });
    ml3s.set(task.id, run({ kind: "ml3", task, seed: plan.seed }, `${task.id} ML3 meta-training`));
  }
  try {
    const taskResults = order.map(async (task): Promise<TaskResult> => {
      const s = searches.get(task.id)!;
      const standardRuns = train(task, { kind: "standard" });
      const learned = async (method: "gp-lfl" | "evomal") => {
        const r = await s[method];
        const loss = bestOf(r);
        const runs = loss ? await train(task, loss) : null;
        return { r, runs };
      };
      const ml3 = ml3s.get(task.id)!.then(async (m) => ({
        m,
        runs: await train(task, { kind: "ml3", phi: m.phi }),
      }));
      const [std, gp, evo, ml] = await Promise.all([
        standardRuns,
        learned("gp-lfl"),
        learned("evomal"),
        ml3,
      ]);
      const stdValues = std.map((r) => r.value);
      const method = (name: MethodName, runs: TrainResult[] | null): MethodResult => {
        const values = runs ? runs.map((r) => r.value) : seeds.map(() => null);
        return {
          method: name,
          values,
          ...summarize(values),
          curve: runs ? meanCurve(runs) : [],
          curveEvery: std[0].curveEvery,
          welch: name === "standard" ? undefined : welchTTest(finite(values), finite(stdValues)),
          finalMs: (runs ?? []).reduce((a, r) => a + r.wallMs, 0),
        };
      };
      const fromSearch = (
        name: "gp-lfl" | "evomal",
        x: { r: SearchResult; runs: TrainResult[] | null },
      ) => {
        const best = x.r.losses[0];
        const t = x.r.totals;
        return {
          ...method(name, x.runs),
          formula: best ? { infix: best.infix, structure: best.structure.infix } : undefined,
          fitness: best ? best.fitness : null,
          search: {
            wallMs: t.wallMs,
            generations: t.generations,
            evaluations: t.evaluations,
            distinct: t.distinctLosses,
            cacheHits: t.cacheHits,
            rejected: t.rejected,
            equivalent: t.equivalent,
            diverged: t.diverged,
            bestPerGeneration: x.r.generations.map((g) => g.bestFitness),
          },
        };
      };
      const rows = evo.r.dataset.rows;
      return {
        task,
        metric: evo.r.dataset.task === "classification" ? "error rate" : "mse",
        rows,
        methods: [
          method("standard", std),
          fromSearch("gp-lfl", gp),
          fromSearch("evomal", evo),
          {
            ...method("ml3", ml.runs),
            fitness: ml.m.fitness,
            ml3: {
              steps: ml.m.steps,
              metaLossFirst: ml.m.metaLosses[0] ?? null,
              metaLossLast: ml.m.metaLosses.at(-1) ?? null,
              wallMs: ml.m.wallMs,
            },
          },
        ],
      };
    });
    const se = plan.sampleEfficiency;
    const sampleEfficiency = se
      ? (async (): Promise<SampleEfficiencyResult | undefined> => {
        const task = plan.tasks.find((t) => t.id === se.task);
        if (!task) return undefined;
        const loss = bestOf(await searches.get(task.id)!.evomal);
        const perFraction = async (ref: LossRef | null) =>
          ref ? await Promise.all(se.fractions.map((f) => train(task, ref, f))) : null;
        const [std, evo] = await Promise.all([
          perFraction({ kind: "standard" }),
          perFraction(loss),
        ]);
        const series = (method: MethodName, runs: TrainResult[][] | null) => ({
          method,
          means: se.fractions.map((_, i) =>
            runs ? summarize(runs[i].map((r) => r.value)).mean : null
          ),
          stds: se.fractions.map((_, i) =>
            runs ? summarize(runs[i].map((r) => r.value)).std : null
          ),
          welch: method === "standard" ? undefined : se.fractions.map((_, i) =>
            runs
              ? welchTTest(
                finite(runs[i].map((r) => r.value)),
                finite(std![i].map((r) => r.value)),
              )
              : null
          ),
        });
        return {
          task: task.id,
          fractions: se.fractions,
          trainRows: std![std!.length - 1] ? std!.map((runs) => runs[0].trainRows) : [],
          series: [series("standard", std), series("evomal", evo)],
        };
      })()
      : Promise.resolve(undefined);
    const [tasks, sample] = await Promise.all([Promise.all(taskResults), sampleEfficiency]);
    // Report tasks in the plan's order, not the scheduling order.
    tasks.sort((a, b) => plan.tasks.indexOf(a.task) - plan.tasks.indexOf(b.task));
    return {
      kind: "lossmith.reproduction",
      createdAt: new Date().toISOString(),
      plan,
      backend: pool.backend,
      workers: opts.workers,
      versions: { lossmith: LOSSMITH_VERSION, deno: Deno.version.deno, v8: Deno.version.v8 },
      wallMs: performance.now() - t0,
      cachedUnits,
      tasks,
      sampleEfficiency: sample,
    };
  } finally {
    pool.close();
  }
}

/** Rough relative cost of a task, for scheduling only. */
function cost(t: TaskPlan): number {
  const perStep = t.model === "lenet5" ? 20 : 1;
  return perStep *
    (t.population * t.generations * (t.metaSteps * 3 + t.fitnessSteps) + t.finalSteps * 40);
}
