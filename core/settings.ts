/**
 * Every setting of a search, declared once: its place in the configuration, type, bounds, default,
 * description and command-line flag. Everything else is derived from this table: the defaults, the
 * `Settings` type, the JSON Schema of API requests (core/settings_schema.ts), the CLI's flags and
 * usage (cli/args.ts) and docs/settings.md. Defaults are the published method's (docs/method.md);
 * named profiles (`quick`, `paper`) change the budget, and a bundled dataset may carry the
 * settings its paper used (MNIST: plain SGD). A request, from the API or the CLI, is a partial of
 * the same configuration, resolved by `resolveSettings` with the same layers everywhere.
 */
import { INIT_SETTINGS, MODEL_KIND_NAMES, MODEL_KINDS } from "./model_kinds.ts";
import type { Layer } from "./layers.ts";
import { ALL_OPS } from "./expr/primitives.ts";
import { BINARY_OPS, type Op } from "./expr/tree.ts";

/** What a setting's values are; the JSON Schema and the CLI parser are derived from it. */
export type SettingType =
  | { type: "integer"; min: number; max: number }
  | { type: "number"; min: number; max: number; exclusive?: boolean }
  | { type: "boolean" }
  | { type: "enum"; values: readonly string[] }
  | { type: "integers"; min: number; max: number; maxItems: number }
  /** A list of positive numbers (min exclusive). */
  | { type: "numbers"; min: number; max: number; minItems: number; maxItems: number }
  | { type: "stack"; max: number }
  /** A subset of `values`, each at most once, at least `minItems`. */
  | { type: "names"; values: readonly string[]; minItems: number }
  /** A sequential model's layer list (core/layers.ts). */
  | { type: "layers" };

export interface Setting<V> {
  readonly value: SettingType;
  /** Absent for the optional settings (the budget's stopping rules). */
  readonly default: V;
  readonly description: string;
  /** The CLI flag, without dashes; booleans also get `--no-<flag>`. */
  readonly flag: string;
  /**
   * What a stored configuration written before this setting existed meant by leaving it out,
   * where that differs from `default`: old searches resume and read back as they ran.
   */
  readonly legacy?: V;
}

const setting = <V>(
  value: SettingType,
  dflt: V,
  description: string,
  flag: string,
  legacy?: V,
): Setting<V> => ({
  value,
  default: dflt,
  description,
  flag,
  ...(legacy === undefined ? {} : { legacy }),
});

const integer = (
  min: number,
  max: number,
  dflt: number,
  description: string,
  flag: string,
  legacy?: number,
) => setting<number>({ type: "integer", min, max }, dflt, description, flag, legacy);
const optionalInteger = (min: number, max: number, description: string, flag: string) =>
  setting<number | undefined>({ type: "integer", min, max }, undefined, description, flag);
const number = (min: number, max: number, dflt: number, description: string, flag: string) =>
  setting<number>({ type: "number", min, max }, dflt, description, flag);
const optionalNumber = (min: number, max: number, description: string, flag: string) =>
  setting<number | undefined>({ type: "number", min, max }, undefined, description, flag);
/** A fraction strictly between 0 and 1. */
const fraction = (dflt: number, description: string, flag: string) =>
  setting<number>({ type: "number", min: 0, max: 1, exclusive: true }, dflt, description, flag);
const boolean = (dflt: boolean, description: string, flag: string, legacy?: boolean) =>
  setting<boolean>({ type: "boolean" }, dflt, description, flag, legacy);
const oneOf = <const V extends string>(
  values: readonly V[],
  dflt: NoInfer<V>,
  description: string,
  flag: string,
  legacy?: NoInfer<V>,
) => setting<V>({ type: "enum", values }, dflt, description, flag, legacy);

/** How a generation's candidates are computed: `off` one at a time, K stacked, `auto` measured. */
export type CandidateStack = "auto" | "off" | number;
/** The largest K: each stacked candidate holds its own copy of the model. */
export const MAX_CANDIDATE_STACK = 64;

export const UNROLL_MODES = ["exact", "truncated", "first-order"] as const;
export type UnrollMode = typeof UNROLL_MODES[number];

/**
 * How input features are scaled, with statistics of the training rows: `per-channel` is one mean
 * and standard deviation per image channel over all its pixels (one for all values when the data
 * has no image shape), as image pipelines normalise; `none-for-images` is what every search did
 * before this setting: images as they are, other data per feature.
 */
export const INPUT_SCALINGS = [
  "auto",
  "per-feature",
  "per-channel",
  "none",
  "none-for-images",
] as const;
export type InputScaling = typeof INPUT_SCALINGS[number];

/** Learning rates the tuned comparison chooses from: a factor of 100 around the default 0.01. */
export const DEFAULT_LR_GRID = [0.001, 0.003, 0.01, 0.03, 0.1];

/** The table. Groups nest as the configuration does; a leaf is one setting. */
export const SETTINGS = {
  model: {
    kind: oneOf(MODEL_KIND_NAMES, "mlp", "The model trained under each loss.", "model"),
    hidden: setting<number[]>(
      { type: "integers", min: 1, max: 4096, maxItems: 8 },
      [100],
      "Hidden layer widths of the MLP.",
      "hidden",
    ),
    layers: setting<Layer[]>(
      { type: "layers" },
      [],
      "The layers of a `sequential` model, in order, as a Keras or TF.js Sequential model's: " +
        "`Dense`, `Conv2D`, `MaxPooling2D`, `AveragePooling2D`, `GlobalAveragePooling2D`, " +
        "`Flatten`, `Activation`, each an object with its `type` and fields, e.g. " +
        '`{"type": "Conv2D", "filters": 8, "kernelSize": 3, "activation": "relu"}`. Images ' +
        "are read [height, width, channels]; the last layer gives the logits (one per class) " +
        "or the prediction, with no softmax. On the command line, the list as JSON.",
      "layers",
    ),
    init: oneOf(
      INIT_SETTINGS,
      "auto",
      "Initial weights: `auto` is the published code's for the kind (Xavier uniform for " +
        "linear, mlp and lenet5, Kaiming normal for allconv and resnet18), `pytorch` is " +
        "PyTorch's default layer initialisation.",
      "init",
      "pytorch",
    ),
  },
  preprocessing: {
    inputs: oneOf(
      INPUT_SCALINGS,
      "auto",
      "Scaling of the inputs, fitted on the training rows: `auto` is `per-channel` for image " +
        "data (one mean and standard deviation per channel, as the published MNIST transform) " +
        "and `per-feature` otherwise; `none-for-images` is what searches did before this " +
        "setting (images unscaled, other data per feature).",
      "input-scaling",
      "none-for-images",
    ),
  },
  budget: {
    population: integer(1, 10_000, 25, "Individuals per generation.", "population"),
    generations: integer(1, 100_000, 50, "Generations.", "generations"),
    maxEvaluations: optionalInteger(
      1,
      1e9,
      "Stop before a generation once this many candidates went through local search.",
      "max-evaluations",
    ),
    maxSeconds: optionalNumber(
      1,
      1e9,
      "Time limit in seconds: stop before a generation that would, at the last one's pace, " +
        "end past it (with `reserveFinal`, leaving the final evaluation's estimated time).",
      "max-seconds",
    ),
    reserveFinal: boolean(
      true,
      "`maxSeconds` bounds the whole job: the search stops early enough for the final " +
        "evaluation, estimated from the search's own training speed, to end within it.",
      "reserve-final",
      false,
    ),
  },
  gp: {
    tournamentSize: integer(1, 1000, 4, "Candidates per selection tournament.", "tournament"),
    crossoverProb: number(0, 1, 0.7, "Probability of one-point subtree crossover.", "crossover"),
    mutationProb: number(
      0,
      1,
      0.25,
      "Probability of uniform subtree mutation; reproduction takes the rest.",
      "mutation",
    ),
    initMinHeight: integer(0, 10, 2, "Least height of the initial trees.", "init-min-height"),
    initMaxHeight: integer(0, 10, 4, "Greatest height of the initial trees.", "init-max-height"),
    maxHeight: integer(1, 17, 10, "Taller offspring are replaced by their parent.", "max-height"),
    mutationMinHeight: integer(
      0,
      10,
      0,
      "Least height of a subtree grafted by mutation.",
      "mutation-min-height",
    ),
    mutationMaxHeight: integer(
      0,
      10,
      2,
      "Greatest height of a subtree grafted by mutation.",
      "mutation-max-height",
    ),
    elites: integer(
      0,
      10_000,
      1,
      "Best individuals copied unchanged into the next generation.",
      "elites",
    ),
    hallOfFameSize: integer(1, 100, 10, "Distinct best losses kept and ranked.", "hall-of-fame"),
    primitives: setting<Op[]>(
      { type: "names", values: ALL_OPS, minItems: 1 },
      [...ALL_OPS],
      "The primitives trees are built from: a subset of the primitive set, with at least one " +
        "binary primitive (a loss combines y and f(x)). Initial trees, mutation and the repair " +
        "of trees that miss an input draw only these, and the canonical form that is evaluated " +
        "introduces no other.",
      "primitives",
    ),
  },
  evaluation: {
    screen: {
      enabled: boolean(true, "Run the rejection screen before local search.", "screen"),
      examples: integer(
        1,
        100_000,
        100,
        "Training examples whose predictions the screen optimises.",
        "screen-examples",
      ),
      steps: integer(1, 100_000, 1000, "Adam steps of the screen.", "screen-steps"),
      lr: number(0, 10, 0.01, "Adam learning rate of the screen.", "screen-lr"),
    },
    gradientEquivalence: {
      enabled: boolean(
        true,
        "Reuse the fitness of a loss whose per-example gradient norms are equal.",
        "equivalence",
      ),
      probeSize: integer(1, 100_000, 100, "Examples in the probe batch.", "probe-size"),
      decimals: integer(0, 10, 2, "Decimals the gradient norms are compared to.", "decimals"),
    },
    localSearch: {
      enabled: boolean(
        true,
        "Tune the loss's weights by unrolled differentiation (off: GP-LFL).",
        "local-search",
      ),
      metaSteps: integer(1, 100_000, 250, "Meta-steps per candidate.", "meta-steps"),
      unrollSteps: integer(
        1,
        100,
        1,
        "Differentiable SGD steps per meta-step (T).",
        "unroll-steps",
      ),
      metaLr: number(0, 10, 0.001, "Adam learning rate on the loss's weights.", "meta-lr"),
      unroll: {
        mode: oneOf(
          UNROLL_MODES,
          "exact",
          "Hypergradient through all T steps, the last `truncateTo`, or first-order.",
          "unroll",
        ),
        truncateTo: integer(
          1,
          100,
          1,
          "Steps differentiated when the unroll is truncated.",
          "truncate-to",
        ),
      },
    },
    inner: {
      lr: number(0, 10, 0.01, "SGD learning rate of every training.", "lr"),
      momentum: number(0, 1, 0.9, "SGD momentum.", "momentum"),
      nesterov: boolean(true, "Nesterov momentum.", "nesterov"),
      weightDecay: number(0, 1, 5e-4, "L2 weight decay.", "weight-decay"),
    },
    fitnessSteps: integer(
      1,
      1_000_000,
      500,
      "SGD steps of the partial training that measures fitness.",
      "fitness-steps",
    ),
    batchSize: integer(1, 65_536, 128, "Mini-batch size of every training.", "batch-size"),
    multiFidelity: {
      enabled: boolean(
        false,
        "Successive halving (ASHA): the best share of each training length's results is " +
          "trained again for longer, in rungs up to `maxSteps`; candidates rank by the " +
          "longest training they reached, then by fitness there.",
        "multi-fidelity",
        false,
      ),
      fraction: fraction(
        1 / 3,
        "Share of a rung's results promoted to the next rung.",
        "promote-fraction",
      ),
      factor: integer(2, 100, 4, "Each rung trains this many times longer.", "rung-factor"),
      maxSteps: optionalInteger(
        1,
        1_000_000,
        "Training steps of the top rung (absent: `final.steps`).",
        "rung-max-steps",
      ),
    },
    normalizeScale: boolean(
      false,
      "Scale each tuned loss so that its gradient at the shared initialisation, on the probe " +
        "batch, has the standard loss's norm: scale no longer acts as a learning rate. The " +
        "scale is part of the loss, in its formula and its exports.",
      "normalize-scale",
      false,
    ),
    tieBreak: boolean(
      true,
      "Rank equal fitness by the trained model's validation task loss (cross-entropy or " +
        "squared error): a continuous tie-breaker where the metric is discrete.",
      "tie-break",
      false,
    ),
    folds: {
      belowRows: integer(
        0,
        1_000_000,
        0,
        "A validation split of fewer rows measures fitness by k-fold validation over the " +
          "training and validation rows (0: never).",
        "folds-below",
        0,
      ),
      k: integer(2, 20, 5, "Folds of that validation.", "folds"),
    },
  },
  split: {
    testFraction: fraction(0.2, "Share of the rows held out for the final test.", "test-fraction"),
    validationFraction: fraction(
      0.1,
      "Share of the remaining rows held out for validation (fitness, local search).",
      "validation-fraction",
    ),
  },
  final: {
    steps: integer(
      1,
      1_000_000,
      10_000,
      "Training steps from scratch in the final comparison.",
      "final-steps",
    ),
    seeds: integer(0, 100, 5, "Seeds of the final comparison (0 skips it).", "final-seeds"),
    tuneLr: setting<boolean>(
      { type: "boolean" },
      true,
      "Add the tuned comparison: each loss at its own best learning rate of `lrGrid`, chosen " +
        "on the validation split, beside the paper's comparison at `evaluation.inner.lr`.",
      "tune-lr",
      false,
    ),
    lrGrid: setting<number[]>(
      { type: "numbers", min: 0, max: 10, minItems: 1, maxItems: 12 },
      DEFAULT_LR_GRID,
      "Learning rates the tuned comparison chooses from, for each loss on its own.",
      "lr-grid",
    ),
    lrExtend: integer(
      0,
      6,
      2,
      "Rounds that extend the grid past its edge: while a loss's best trial rate is the " +
        "largest (or smallest) tried, the next rate beyond it is tried for both losses, one " +
        "grid step further (its outer ratio), so that neither loss is held to a grid that cuts " +
        "its best rate off.",
      "lr-extend",
      0,
    ),
    selectionSteps: optionalInteger(
      1,
      1_000_000,
      "Training steps of each learning-rate trial; absent, `final.steps` (a shorter trial " +
        "favours large learning rates).",
      "lr-selection-steps",
    ),
    significance: fraction(
      0.05,
      "Significance level of the paired tests behind the verdict.",
      "significance",
    ),
  },
  execution: {
    candidateStack: setting<CandidateStack>(
      { type: "stack", max: MAX_CANDIDATE_STACK },
      "auto",
      "A speed setting: local search and fitness of up to K candidates stacked in one " +
        "computation (dense models), `off` one at a time, `auto` stacked when a short " +
        "calibration on the search's own model and data measures it faster. The cpu backend " +
        "computes the same either way; wasm and WebGPU may differ in the last bits.",
      "candidate-stack",
    ),
  },
  seed: integer(
    0,
    2 ** 31 - 1,
    1,
    "Seed of the split, the search and the trainings: the same settings give the same result.",
    "seed",
  ),
} as const;

/** The keys of a group whose settings have no default: optional in the values. */
type OptionalKeys<S> = {
  [K in keyof S]: S[K] extends Setting<infer V> ? (undefined extends V ? K : never) : never;
}[keyof S];
type Flat<T> = { [K in keyof T]: T[K] };

/** The values a settings (sub)tree stands for. */
export type ValuesOf<S> = S extends Setting<infer V> ? V
  : Flat<
    & { -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: ValuesOf<S[K]> }
    & { -readonly [K in OptionalKeys<S>]?: Exclude<ValuesOf<S[K]>, undefined> }
  >;

/** Every setting's value. A search's configuration is these plus its dataset. */
export type Settings = ValuesOf<typeof SETTINGS>;

/** A partial of the settings, group by group: what a request, a profile or a preset says. */
export type SettingsPatch = { [K in keyof Settings]?: Patch<Settings[K]> };
type Patch<T> = T extends unknown[] ? T
  : T extends object ? { [K in keyof T]?: Patch<T[K]> }
  : T;

export type EvaluationSettings = Settings["evaluation"];
export type GpSettings = Settings["gp"];
export type InnerOptimizer = Settings["evaluation"]["inner"];
export type UnrollOptions = Settings["evaluation"]["localSearch"]["unroll"];

export function isSetting(node: unknown): node is Setting<unknown> {
  return typeof node === "object" && node !== null && "value" in node && "flag" in node;
}

export interface SettingEntry {
  /** Keys from the root of the configuration, e.g. ["evaluation", "inner", "lr"]. */
  path: string[];
  setting: Setting<unknown>;
}

/** The table as a list, in declaration order. */
export const SETTING_LIST: readonly SettingEntry[] = (() => {
  const out: SettingEntry[] = [];
  const walk = (node: Record<string, unknown>, path: string[]) => {
    for (const [key, child] of Object.entries(node)) {
      if (isSetting(child)) out.push({ path: [...path, key], setting: child });
      else walk(child as Record<string, unknown>, [...path, key]);
    }
  };
  walk(SETTINGS, []);
  const flags = new Set<string>();
  for (const { setting } of out) {
    const names = setting.value.type === "boolean" ? [setting.flag, `no-${setting.flag}`] : [
      setting.flag,
    ];
    for (const name of names) {
      if (flags.has(name)) throw new Error(`flag --${name} is declared twice`);
      flags.add(name);
    }
  }
  return out;
})();

export const dotted = (path: readonly string[]) => path.join(".");

/** The setting at a path, if there is one. */
export function settingAt(path: readonly string[]): Setting<unknown> | undefined {
  const key = dotted(path);
  return SETTING_LIST.find((e) => dotted(e.path) === key)?.setting;
}

function get(obj: unknown, path: readonly string[]): unknown {
  let at = obj;
  for (const key of path) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Sets a value at a path, making the groups on the way; an undefined value is left out. */
function set(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (value === undefined) return;
  let at = obj;
  for (const key of path.slice(0, -1)) {
    at[key] ??= {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]] = value;
}

const copy = <T>(v: T): T => (Array.isArray(v) ? [...v] as T : v);

/** The defaults of every setting (optional ones absent). */
export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const { path, setting } of SETTING_LIST) set(out, path, copy(setting.default));
  return out as Settings;
}

/** Named budgets, the same on every entry point. */
export const PROFILES = {
  quick: {
    description: "a real search that finishes in minutes on two cores",
    settings: {
      budget: { population: 12, generations: 8 },
      final: { steps: 2000, seeds: 5 },
    },
  },
  paper: {
    description: "the published budget: population 25, 50 generations, 10,000 final steps",
    settings: {
      budget: { population: 25, generations: 50 },
      final: { steps: 10_000, seeds: 5 },
    },
  },
} as const satisfies Record<string, { description: string; settings: SettingsPatch }>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
/** A request that names no profile gets this one. */
export const DEFAULT_PROFILE: ProfileName = "quick";

/** Where a resolved setting's value came from, latest layer first. */
export interface SettingsLayers {
  /** Settings the dataset's paper used (a bundled dataset's preset). */
  preset?: SettingsPatch;
  profile?: ProfileName;
  /** What the user asked for. */
  request?: SettingsPatch;
}

/** A setting whose value is out of place, with the path of the field at fault. */
export interface SettingIssue {
  path: string[];
  detail: string;
}

export class SettingsError extends Error {
  constructor(readonly issues: SettingIssue[]) {
    super(issues.map((i) => `${dotted(i.path)} ${i.detail}`).join("; "));
    this.name = "SettingsError";
  }
}

/**
 * The settings a search runs with: defaults, then the dataset's preset, then the profile, then the
 * request, leaf by leaf. Throws SettingsError for values that no search could run with; each
 * value's own bounds are the schema's to check (core/settings_schema.ts), done before this.
 */
export function resolveSettings(layers: SettingsLayers = {}): Settings {
  const profile = PROFILES[layers.profile ?? DEFAULT_PROFILE].settings as SettingsPatch;
  const out = defaultSettings() as unknown as Record<string, unknown>;
  for (const patch of [layers.preset, profile, layers.request]) {
    if (!patch) continue;
    for (const { path } of SETTING_LIST) {
      const v = get(patch, path);
      if (v !== undefined) set(out, path, copy(v));
    }
  }
  const settings = out as unknown as Settings;
  const issues = checkSettings(settings, layers.request ?? {});
  if (issues.length) throw new SettingsError(issues);
  if (!modelHasHidden(settings.model.kind)) settings.model.hidden = [];
  // In the registry's order, whatever the request's: the same subset is the same search.
  settings.gp.primitives = ALL_OPS.filter((op) => settings.gp.primitives.includes(op));
  return settings;
}

const modelHasHidden = (kind: Settings["model"]["kind"]) => MODEL_KINDS[kind].hasHidden;
const modelHasLayers = (kind: Settings["model"]["kind"]) => MODEL_KINDS[kind].hasLayers;

/** The rules between settings that a schema cannot state. */
export function checkSettings(s: Settings, request: SettingsPatch = {}): SettingIssue[] {
  const issues: SettingIssue[] = [];
  const { gp, budget } = s;
  if (gp.crossoverProb + gp.mutationProb > 1 + 1e-9) {
    issues.push({
      path: ["gp", "mutationProb"],
      detail: `and crossoverProb sum to ${
        gp.crossoverProb + gp.mutationProb
      }; they may sum to at most 1 (reproduction takes the rest)`,
    });
  }
  if (gp.elites > budget.population) {
    issues.push({
      path: ["gp", "elites"],
      detail: `(${gp.elites}) exceeds budget.population (${budget.population})`,
    });
  }
  if (gp.initMinHeight > gp.initMaxHeight) {
    issues.push({
      path: ["gp", "initMinHeight"],
      detail: `(${gp.initMinHeight}) exceeds gp.initMaxHeight (${gp.initMaxHeight})`,
    });
  }
  if (gp.mutationMinHeight > gp.mutationMaxHeight) {
    issues.push({
      path: ["gp", "mutationMinHeight"],
      detail: `(${gp.mutationMinHeight}) exceeds gp.mutationMaxHeight (${gp.mutationMaxHeight})`,
    });
  }
  if (request.model?.hidden !== undefined && !modelHasHidden(s.model.kind)) {
    issues.push({
      path: ["model", "hidden"],
      detail: `is for the mlp model; a ${s.model.kind} model has no hidden widths`,
    });
  }
  if (s.model.layers.length > 0 && !modelHasLayers(s.model.kind)) {
    issues.push({
      path: ["model", "layers"],
      detail: `is for the sequential model; a ${s.model.kind} model has its own architecture ` +
        '(set "kind": "sequential" to train these layers)',
    });
  }
  if (s.model.layers.length === 0 && modelHasLayers(s.model.kind)) {
    issues.push({
      path: ["model", "layers"],
      detail: "is required for a sequential model: a list of layers, the last giving the outputs",
    });
  }
  if (!s.gp.primitives.some((op) => (BINARY_OPS as readonly string[]).includes(op))) {
    issues.push({
      path: ["gp", "primitives"],
      detail: `has no binary primitive (${BINARY_OPS.join(", ")}): no tree of these could ` +
        "depend on both y and f(x), as every loss must",
    });
  }
  return issues;
}

/**
 * A configuration as stored by any version: older shapes are brought to today's, and settings
 * they predate take their `legacy` value (or the default), so that a search resumes as it ran.
 */
export function upgradeSettings(stored: Record<string, unknown>): Settings {
  const raw = structuredClone(stored) as Record<string, Record<string, unknown>>;
  // Before the settings table: population and generations under gp, the stack setting under
  // evaluation as candidateBatch, the hall of fame at the top, reproduction stated.
  if (raw.gp && "populationSize" in raw.gp) {
    raw.budget = {
      ...raw.budget,
      population: raw.gp.populationSize,
      generations: raw.gp.generations,
    };
    raw.gp.hallOfFameSize = raw.hallOfFameSize;
    raw.execution = { candidateStack: raw.evaluation?.candidateBatch ?? "auto" };
  }
  const out: Record<string, unknown> = {};
  for (const { path, setting } of SETTING_LIST) {
    const v = get(raw, path);
    set(out, path, copy(v !== undefined ? v : setting.legacy ?? setting.default));
  }
  return out as Settings;
}

/** The probability of reproduction: what crossover and mutation leave. */
export function reproductionProb(gp: Pick<GpSettings, "crossoverProb" | "mutationProb">): number {
  return Math.max(0, 1 - gp.crossoverProb - gp.mutationProb);
}
