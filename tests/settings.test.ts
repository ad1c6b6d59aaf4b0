/**
 * The settings table and everything derived from it: defaults, profiles, presets, the request
 * schema, the CLI flags and the settings page. The CLI and the API must resolve one request to
 * one configuration, and report a bad value at the setting's path (pointer or flag).
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import {
  defaultSettings,
  PROFILES,
  resolveSettings,
  SETTING_LIST,
  upgradeSettings,
} from "../core/settings.ts";
import {
  compileSchema,
  flagAt,
  settingsPatchSchema,
  settingsSchema,
} from "../core/settings_schema.ts";
import { searchConfig } from "../core/search.ts";
import { parseCli, parseSettingValue, settingsFromFlags, USAGE } from "../cli/args.ts";
import { resolveSearchConfig, type SearchRequest } from "../service/search_request.ts";
import { ServiceError } from "../service/errors.ts";
import { SETTINGS_DOC, settingsMarkdown } from "../cli/settings_doc.ts";
import { presetFor } from "../core/data/mod.ts";

const IRIS = { kind: "bundled", name: "iris" } as const;

function cli(argv: string[]) {
  const opts = parseCli(argv);
  assert(opts !== "help");
  return opts.config;
}

Deno.test("defaults: the method's published ones, one value per setting of the table", () => {
  const d = defaultSettings();
  assertEquals(d.budget, { population: 25, generations: 50, reserveFinal: true });
  assertEquals([d.gp.tournamentSize, d.gp.crossoverProb, d.gp.mutationProb], [4, 0.7, 0.25]);
  assertEquals([d.gp.initMinHeight, d.gp.initMaxHeight, d.gp.maxHeight], [2, 4, 10]);
  assertEquals(d.evaluation.localSearch.metaSteps, 250);
  // The search objective the study chose (docs/reproduction.md): the tie-breaker alone.
  assertEquals(
    [d.evaluation.multiFidelity.enabled, d.evaluation.normalizeScale, d.evaluation.tieBreak],
    [false, false, true],
  );
  assertEquals(d.evaluation.folds, { belowRows: 0, k: 5 });
  assertEquals(d.evaluation.inner, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  assertEquals(d.final, {
    steps: 10_000,
    seeds: 5,
    tuneLr: true,
    lrGrid: [0.001, 0.003, 0.01, 0.03, 0.1],
    lrExtend: 2,
    significance: 0.05,
  });
  assertEquals([d.model.init, d.preprocessing.inputs], ["auto", "auto"]);
  // The full schema accepts the defaults, and rejects them with any one setting removed.
  const whole = compileSchema(settingsSchema());
  assertEquals(whole(d), []);
  let removed = 0;
  for (const { path, setting } of SETTING_LIST) {
    if (setting.default === undefined) continue;
    const copy = structuredClone(d) as unknown as Record<string, Record<string, unknown>>;
    let at: Record<string, unknown> = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
    delete at[path[path.length - 1]];
    assert(whole(copy).length > 0, path.join("."));
    removed++;
  }
  assertEquals(removed, SETTING_LIST.filter((e) => e.setting.default !== undefined).length);
});

Deno.test("every setting's flag parses its default back, and booleans turn off", () => {
  let checked = 0;
  for (const { path, setting } of SETTING_LIST) {
    if (setting.default === undefined) continue;
    if (setting.value.type === "boolean") {
      const off = settingsFromFlags({ [`no-${setting.flag}`]: true });
      const on = settingsFromFlags({ [setting.flag]: true });
      let a: unknown = off, b: unknown = on;
      for (const key of path) {
        a = (a as Record<string, unknown>)[key];
        b = (b as Record<string, unknown>)[key];
      }
      assertEquals([a, b], [false, true], setting.flag);
    } else {
      const d = setting.default;
      const text = setting.value.type === "layers"
        ? JSON.stringify(d)
        : Array.isArray(d)
        ? d.join(",")
        : String(d);
      assertEquals(parseSettingValue(setting, text), d, setting.flag);
    }
    assert(USAGE.includes(`--${setting.flag}`), `usage lacks --${setting.flag}`);
    checked++;
  }
  assertEquals(checked, SETTING_LIST.filter((e) => e.setting.default !== undefined).length);
  assertEquals(cli(["--dataset", "iris", "--no-nesterov"]).evaluation.inner.nesterov, false);
  assertEquals(
    cli(["--dataset", "iris", "--no-local-search"]).evaluation.localSearch.enabled,
    false,
  );
  assertThrows(() => cli(["--nesterov", "--no-nesterov"]), /contradict/);
});

Deno.test("one request, one configuration: the CLI and the API resolve it alike", () => {
  const cases: [string[], SearchRequest][] = [
    [["--dataset", "iris"], { dataset: "iris" }],
    [["--dataset", "mnist"], { dataset: "mnist" }],
    [["--dataset", "iris", "--paper"], { dataset: "iris", profile: "paper" }],
    [
      ["--dataset", "iris", "--population", "7", "--meta-steps", "9", "--lr", "0.05"],
      {
        dataset: "iris",
        budget: { population: 7 },
        evaluation: { localSearch: { metaSteps: 9 }, inner: { lr: 0.05 } },
      },
    ],
    [
      ["--dataset", "iris", "--model", "linear", "--candidate-stack", "off", "--no-screen"],
      {
        dataset: "iris",
        model: { kind: "linear" },
        execution: { candidateStack: "off" },
        evaluation: { screen: { enabled: false } },
      },
    ],
    [
      ["--dataset", "iris", "--unroll", "truncated", "--truncate-to", "2", "--unroll-steps", "4"],
      {
        dataset: "iris",
        evaluation: {
          localSearch: { unrollSteps: 4, unroll: { mode: "truncated", truncateTo: 2 } },
        },
      },
    ],
  ];
  for (const [argv, request] of cases) {
    const ref = request.dataset === "mnist"
      ? { kind: "bundled" as const, name: "mnist" as const }
      : IRIS;
    assertEquals(cli(argv), resolveSearchConfig(request, ref), argv.join(" "));
  }
  // Without a profile, both get the quick one; the paper's budget is a profile of its own.
  assertEquals(cli(["--dataset", "iris"]).budget, {
    ...PROFILES.quick.settings.budget,
    reserveFinal: true,
  });
  const paperFinal = cli(["--dataset", "iris", "--paper"]).final;
  assertEquals({ steps: paperFinal.steps, seeds: paperFinal.seeds }, PROFILES.paper.settings.final);
  // MNIST's preset (plain SGD) applies on both, and a request can still override it.
  assertEquals(cli([]).evaluation.inner.momentum, 0);
  assertEquals(presetFor("mnist").evaluation?.inner?.momentum, 0);
  assertEquals(cli(["--momentum", "0.5"]).evaluation.inner.momentum, 0.5);
});

Deno.test("bad values are reported at the setting: a pointer for the API, a flag for the CLI", () => {
  const check = compileSchema(settingsPatchSchema());
  assertEquals(check({ evaluation: { inner: { momentum: 2 } } }), [
    { pointer: "/evaluation/inner/momentum", detail: "must be at most 1" },
  ]);
  assertEquals(check({ execution: { candidateStack: 1 } }).map((i) => i.pointer), [
    "/execution/candidateStack",
  ]);
  assertThrows(() => cli(["--momentum", "2"]), /--momentum must be at most 1/);
  assertThrows(() => cli(["--meta-steps", "x"]), /--meta-steps must be an integer, got 'x'/);
  assertThrows(() => cli(["--candidate-stack=1"]), /--candidate-stack must be auto, off/);
  // Rules between settings come back at the field at fault, on both entry points.
  const rules: [string[], SearchRequest, string][] = [
    [["--elites", "9", "--population", "4"], {
      dataset: "iris",
      gp: { elites: 9 },
      budget: { population: 4 },
    }, "/gp/elites"],
    [["--crossover", "0.8", "--mutation", "0.5"], {
      dataset: "iris",
      gp: { crossoverProb: 0.8, mutationProb: 0.5 },
    }, "/gp/mutationProb"],
    [
      ["--init-min-height", "5"],
      { dataset: "iris", gp: { initMinHeight: 5 } },
      "/gp/initMinHeight",
    ],
    [["--model", "linear", "--hidden", "5"], {
      dataset: "iris",
      model: { kind: "linear", hidden: [5] },
    }, "/model/hidden"],
  ];
  for (const [argv, request, pointer] of rules) {
    assertThrows(() => cli(["--dataset", "iris", ...argv]), new RegExp(`--${flagAt(pointer)} `));
    try {
      resolveSearchConfig(request, IRIS);
      throw new Error(`${pointer}: accepted`);
    } catch (e) {
      assert(e instanceof ServiceError, String(e));
      assertEquals(e.errors.map((x) => x.pointer), [pointer]);
    }
  }
});

Deno.test("reproduction takes what crossover and mutation leave; there is no third rule", () => {
  const s = resolveSettings({ request: { gp: { crossoverProb: 0.5, mutationProb: 0.5 } } });
  assertEquals([s.gp.crossoverProb, s.gp.mutationProb], [0.5, 0.5]);
  assert(!("reproductionProb" in s.gp));
  assertThrows(
    () => resolveSettings({ request: { gp: { crossoverProb: 0.9 } } }),
    /sum to/,
  );
});

Deno.test("a configuration stored before the table reads back as it ran", () => {
  const d = searchConfig(IRIS);
  // A search stored before the search-objective settings existed has none of them.
  const {
    multiFidelity: _mf,
    normalizeScale: _ns,
    tieBreak: _tb,
    folds: _folds,
    ...publishedEvaluation
  } = d.evaluation;
  const stored = {
    dataset: IRIS,
    model: { kind: "mlp", hidden: [100] },
    gp: {
      populationSize: 12,
      generations: 8,
      tournamentSize: 4,
      crossoverProb: 0.7,
      mutationProb: 0.25,
      reproductionProb: 0.05,
      initMinHeight: 2,
      initMaxHeight: 4,
      maxHeight: 10,
      mutationMinHeight: 0,
      mutationMaxHeight: 2,
      elites: 1,
    },
    evaluation: {
      ...publishedEvaluation,
      localSearch: { ...d.evaluation.localSearch, unroll: { mode: "exact" } },
      candidateBatch: 4,
    },
    split: d.split,
    budget: { maxSeconds: 60 },
    final: { steps: 2000, seeds: 5 },
    hallOfFameSize: 10,
    seed: 3,
  };
  const up = upgradeSettings(stored);
  // Its time limit bounded the search alone: it resumes with that meaning (the legacy value).
  assertEquals(up.budget, { population: 12, generations: 8, maxSeconds: 60, reserveFinal: false });
  assertEquals(up.evaluation.multiFidelity.enabled, false);
  assertEquals([up.evaluation.normalizeScale, up.evaluation.tieBreak], [false, false]);
  assertEquals(up.evaluation.folds.belowRows, 0);
  assertEquals(up.execution.candidateStack, 4);
  assertEquals(up.gp.hallOfFameSize, 10);
  assertEquals(up.evaluation.localSearch.unroll, { mode: "exact", truncateTo: 1 });
  assertEquals(up.seed, 3);
  // Settings added since: the values these searches ran with.
  assertEquals(up.model.init, "pytorch");
  assertEquals(up.preprocessing.inputs, "none-for-images");
  assertEquals(up.final.tuneLr, false);
  assertEquals(up.final.lrExtend, 0);
  assertEquals(compileSchema(settingsSchema())(up), []);
});

Deno.test("docs/settings.md is the table's", async () => {
  assertEquals(
    await Deno.readTextFile(SETTINGS_DOC),
    settingsMarkdown(),
    "docs/settings.md is stale: run deno task settings-doc",
  );
});

Deno.test("the learning-rate grid is a list of positive numbers, on both entry points", () => {
  assertEquals(cli(["--dataset", "iris", "--lr-grid", "0.01,0.1"]).final.lrGrid, [0.01, 0.1]);
  assertEquals(cli(["--dataset", "iris", "--lr-selection-steps", "500"]).final.selectionSteps, 500);
  assertEquals(cli(["--dataset", "iris", "--no-tune-lr"]).final.tuneLr, false);
  assertThrows(() => cli(["--lr-grid", "0.01,x"]), /--lr-grid must be a comma-separated list/);
  assertThrows(() => cli(["--lr-grid", "0.1,0"]), /--lr-grid value 2 must be above 0/);
  assertThrows(() => cli(["--hidden", "8,0"]), /--hidden value 2 must be at least 1/);
  assertThrows(() => cli(["--significance", "1"]), /--significance must be below 1/);
  const check = compileSchema(settingsPatchSchema());
  assertEquals(check({ final: { lrGrid: [] } }), [
    { pointer: "/final/lrGrid", detail: "must have at least 1 item" },
  ]);
});
