/**
 * Command-line flags of `lossmith search`. The setting flags, their parsing, their bounds and the
 * usage text are derived from the settings table (core/settings.ts); the flags make a partial of
 * the configuration that is checked against the same schema as an API request and resolved by the
 * same function, so `--dataset iris --population 10` and `{"dataset": "iris", "budget":
 * {"population": 10}}` run the same search.
 */
import { parseArgs } from "node:util";
import { BACKEND_CHOICES, type BackendChoice } from "../core/backends.ts";
import { parseDatasetRef } from "../core/prepare.ts";
import { type SearchConfig, searchConfig } from "../core/search.ts";
import {
  DEFAULT_PROFILE,
  dotted,
  PROFILE_NAMES,
  type ProfileName,
  PROFILES,
  type Setting,
  SETTING_LIST,
  type SettingEntry,
  SettingsError,
  type SettingsPatch,
} from "../core/settings.ts";
import {
  compileSchema,
  flagAt,
  pathPointer,
  settingsPatchSchema,
} from "../core/settings_schema.ts";
import { describeFormats } from "../core/data/formats.ts";
import { BUNDLED_NAMES } from "../core/data/mod.ts";

export interface CliOptions {
  config: SearchConfig;
  /** The profile the budget came from. */
  profile: ProfileName;
  backend: BackendChoice;
  /** 0 evaluates in the main thread. */
  workers: number;
  out: string;
  reportDir?: string;
  quiet: boolean;
  /** Allow dataset URLs on loopback, private or link-local hosts. */
  allowPrivateUrls: boolean;
}

/** Flags that are not settings: what to read, and how to run. */
const OTHER_FLAGS = [
  [
    "dataset",
    "NAME|FILE",
    `a bundled dataset (${BUNDLED_NAMES.join(", ")}; default mnist) or a file`,
  ],
  ["target", "COLUMN", "target column of a CSV file, target key of JSON rows"],
  ["labels", "FILE", "labels file of a features (.npy) or images (IDX) file"],
  ["task", "classification|regression", "how to read the target (inferred when absent)"],
  ["validation", "FILE", "own validation set, in place of the split (same format rules, features)"],
  ["validation-labels", "FILE", "labels file of the validation features or images"],
  ["test", "FILE", "own test set, in place of the split (same format rules, features)"],
  ["test-labels", "FILE", "labels file of the test features or images"],
  ["profile", PROFILE_NAMES.join("|"), `named budget (default ${DEFAULT_PROFILE})`],
  ["backend", BACKEND_CHOICES.join("|"), "tensor backend (default auto)"],
  ["workers", "N", "evaluation workers (default: number of cores; 0 = main thread)"],
  ["out", "FILE", "result file (default result.json)"],
  ["report", "DIR", "HTML report with SVG charts (default FILE-report/)"],
] as const;
const OTHER_BOOLEANS = [
  ["paper", "same as --profile paper"],
  ["no-final", "same as --final-seeds 0"],
  ["no-report", "write no report"],
  ["quiet", "no progress line"],
  ["allow-private-urls", "allow dataset URLs on loopback, private or link-local hosts"],
  ["help", "this text"],
] as const;

function valueHint(s: Setting<unknown>): string {
  const t = s.value;
  switch (t.type) {
    case "integer":
      return "N";
    case "number":
      return "X";
    case "boolean":
      return "";
    case "enum":
      return t.values.join("|");
    case "integers":
      return "N[,N...]";
    case "numbers":
      return "X[,X...]";
    case "stack":
      return "auto|off|K";
    case "names":
      return "NAME[,NAME...]";
    case "layers":
      return "JSON";
  }
}

function settingLine({ setting }: SettingEntry): string {
  const flag = setting.value.type === "boolean"
    ? `--${setting.flag}, --no-${setting.flag}`
    : `--${setting.flag} ${valueHint(setting)}`;
  const d = setting.default;
  const dflt = d === undefined ? "" : ` (default ${Array.isArray(d) ? d.join(",") : d})`;
  return `  ${flag.padEnd(34)} ${setting.description}${dflt}`;
}

function usage(): string {
  const groups = new Map<string, SettingEntry[]>();
  for (const e of SETTING_LIST) {
    const group = e.path.length > 1 ? e.path[0] : "run";
    groups.set(group, [...(groups.get(group) ?? []), e]);
  }
  const other = [
    ...OTHER_FLAGS.map(([f, v, what]) => `  ${`--${f} ${v}`.padEnd(34)} ${what}`),
    ...OTHER_BOOLEANS.map(([f, what]) => `  ${`--${f}`.padEnd(34)} ${what}`),
  ];
  const profiles = PROFILE_NAMES.map((p) => `  ${p.padEnd(34)} ${PROFILES[p].description}`);
  return [
    "Usage: deno task search [flags]",
    "",
    "Data, profile and run",
    ...other,
    "",
    `Dataset files (the format by the file name): ${describeFormats()}.`,
    "Files may be http(s) URLs: downloaded once (60 s, 512 MiB), never from loopback or private",
    "hosts unless --allow-private-urls.",
    "",
    "Profiles",
    ...profiles,
    "",
    ...[...groups].flatMap(([group, entries]) => [
      `Settings: ${group} (docs/settings.md)`,
      ...entries.map(settingLine),
      "",
    ]),
  ].join("\n");
}

export const USAGE = usage();

/** A flag's text as the setting's value; throws with the flag's name when it cannot be one. */
export function parseSettingValue(s: Setting<unknown>, text: string): unknown {
  const fail = (what: string): never => {
    throw new Error(`--${s.flag} must be ${what}, got '${text}'`);
  };
  const integer = (t: string, what: string) => (/^-?\d+$/.test(t) ? Number(t) : fail(what));
  const t = s.value;
  switch (t.type) {
    case "integer":
      return integer(text, "an integer");
    case "number": {
      const n = text.trim() === "" ? NaN : Number(text);
      return Number.isFinite(n) ? n : fail("a number");
    }
    case "boolean":
      return true;
    case "enum":
      return t.values.includes(text) ? text : fail(`one of ${t.values.join(", ")}`);
    case "integers":
      return text.split(",").map((part) => integer(part, "a comma-separated list of integers"));
    case "numbers":
      return text.split(",").map((part) => {
        const n = part.trim() === "" ? NaN : Number(part);
        return Number.isFinite(n) ? n : fail("a comma-separated list of numbers");
      });
    case "stack":
      return text === "auto" || text === "off"
        ? text
        : integer(text, `auto, off or a whole number of candidates from 2 to ${t.max}`);
    case "names":
      return text.split(",").map((part) => part.trim());
    case "layers": {
      try {
        return JSON.parse(text);
      } catch {
        return fail(
          'a JSON list of layers, e.g. \'[{"type": "Flatten"}, {"type": "Dense", "units": 10}]\'',
        );
      }
    }
  }
}

const checkPatch = compileSchema(settingsPatchSchema());

function set(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = obj;
  for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
  at[path[path.length - 1]] = value;
}

/** The settings the flags name, checked against the request schema (errors name the flag). */
export function settingsFromFlags(values: Record<string, unknown>): SettingsPatch {
  const patch: Record<string, unknown> = {};
  for (const { path, setting } of SETTING_LIST) {
    if (setting.value.type === "boolean") {
      const on = values[setting.flag] as boolean | undefined;
      const off = values[`no-${setting.flag}`] as boolean | undefined;
      if (on && off) throw new Error(`--${setting.flag} and --no-${setting.flag} contradict`);
      if (on || off) set(patch, path, Boolean(on));
      continue;
    }
    const text = values[setting.flag] as string | undefined;
    if (text !== undefined) set(patch, path, parseSettingValue(setting, text));
  }
  const issues = checkPatch(patch);
  if (issues.length) {
    throw new Error(
      issues.map((i) => `--${flagAt(i.pointer) ?? i.pointer} ${i.detail}`).join("; "),
    );
  }
  return patch as SettingsPatch;
}

function parseOptions() {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const { setting } of SETTING_LIST) {
    if (setting.value.type === "boolean") {
      options[setting.flag] = { type: "boolean" };
      options[`no-${setting.flag}`] = { type: "boolean" };
    } else options[setting.flag] = { type: "string" };
  }
  for (const [flag] of OTHER_FLAGS) options[flag] = { type: "string" };
  for (const [flag] of OTHER_BOOLEANS) options[flag] = { type: "boolean" };
  options.help.short = "h";
  return options;
}

export function parseCli(argv: string[]): CliOptions | "help" {
  const { values: v } = parseArgs({ args: argv, strict: true, options: parseOptions() });
  const str = (k: string) => v[k] as string | undefined;
  if (v.help) return "help";
  const task = str("task");
  if (task !== undefined && task !== "classification" && task !== "regression") {
    throw new Error(`--task must be classification or regression, got '${task}'`);
  }
  const dataset = parseDatasetRef(str("dataset") ?? "mnist", {
    target: str("target"),
    labels: str("labels"),
    task,
  });
  // The user's own splits are read with the training set's options, each with its own labels.
  const given = (role: "validation" | "test") => {
    const file = str(role);
    if (file === undefined) {
      if (str(`${role}-labels`)) throw new Error(`--${role}-labels needs --${role} FILE`);
      return {};
    }
    const ref = parseDatasetRef(file, {
      target: str("target"),
      labels: str(`${role}-labels`),
      task,
    });
    return { [role]: ref };
  };
  const givenSplits = { ...given("validation"), ...given("test") };
  const profileText = v.paper ? "paper" : str("profile") ?? DEFAULT_PROFILE;
  if (v.paper && str("profile") && str("profile") !== "paper") {
    throw new Error(`--paper contradicts --profile ${str("profile")}`);
  }
  if (!(PROFILE_NAMES as string[]).includes(profileText)) {
    throw new Error(`--profile must be one of ${PROFILE_NAMES.join(", ")}, got '${profileText}'`);
  }
  const profile = profileText as ProfileName;
  const request = settingsFromFlags(v);
  if (v["no-final"]) {
    if (request.final?.seeds) throw new Error("--no-final contradicts --final-seeds");
    request.final = { ...request.final, seeds: 0 };
  }
  let config: SearchConfig;
  try {
    config = { ...searchConfig(dataset, { profile, request }), ...givenSplits };
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    throw new Error(
      e.issues.map((i) => `--${flagAt(pathPointer(i.path)) ?? dotted(i.path)} ${i.detail}`)
        .join("; "),
    );
  }
  const backend = (str("backend") ?? "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend)) {
    throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${backend}'`);
  }
  const workersText = str("workers");
  if (workersText !== undefined && !/^\d+$/.test(workersText)) {
    throw new Error(`--workers must be an integer >= 0, got '${workersText}'`);
  }
  const out = str("out") ?? "result.json";
  return {
    config,
    profile,
    backend,
    workers: workersText === undefined ? navigator.hardwareConcurrency ?? 1 : Number(workersText),
    out,
    reportDir: v["no-report"] ? undefined : str("report") ?? out.replace(/\.json$/, "") + "-report",
    quiet: Boolean(v.quiet),
    // The service's variable works here too, so its refusal message holds for both.
    allowPrivateUrls: Boolean(v["allow-private-urls"]) ||
      /^(1|true|yes|on)$/i.test(Deno.env.get("LOSSMITH_ALLOW_PRIVATE_URLS") ?? ""),
  };
}
