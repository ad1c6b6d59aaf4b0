/**
 * A user's own validation and test sets in place of the internal split: the checks that they
 * are the training set's kind of data, the renumbering of their classes, and the command line's
 * `--validation FILE --test FILE` through a whole (small) search.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { asSplitOf, shapeMismatch } from "../core/data/given.ts";
import { loadDataset, parseDatasetRef, prepare } from "../core/prepare.ts";
import type { Dataset } from "../core/data/dataset.ts";
import { main, NO_USABLE_LOSS_STATUS } from "../cli/search.ts";
import { parseCli } from "../cli/args.ts";
import { irisParts } from "./support/iris_parts.ts";

const shape = { task: "classification" as const, features: 4, classNames: ["a", "b", "c"] };

Deno.test("a given split must be the training set's kind of data, said in words", () => {
  assertEquals(shapeMismatch(shape, { ...shape, classNames: ["c", "a"] }, "test"), undefined);
  const cases: [object, RegExp][] = [
    [{ task: "regression" }, /the validation set is a regression dataset/],
    [{ features: 5 }, /has 5 features; the training set has 4/],
    [{ classNames: ["a", "d"] }, /classes the training set lacks: d/],
    [{ imageShape: [2, 2, 1] }, /image shape 2x2x1; the training set has none/],
  ];
  for (const [change, pattern] of cases) {
    const problem = shapeMismatch(shape, { ...shape, ...change }, "validation");
    assert(problem && pattern.test(problem), `${JSON.stringify(change)}: ${problem}`);
  }
  const named = { ...shape, featureNames: ["w", "x", "y", "z"] };
  const swapped = { ...shape, featureNames: ["w", "y", "x", "z"] };
  assert(
    /feature 2 is 'y'; the training set's is 'x'/.test(shapeMismatch(named, swapped, "test")!),
  );
});

Deno.test("a given split's classes are renumbered to the training set's, by name", () => {
  const ds = (classNames: string[], y: number[]): Dataset => ({
    name: "t",
    task: "classification",
    x: new Float32Array(y.length),
    y: Float32Array.from(y),
    n: y.length,
    d: 1,
    nClasses: classNames.length,
    classNames,
  });
  const train = ds(["ant", "bee", "cat"], [0, 1, 2]);
  // The file numbers its own classes: without bee, cat is its class 1.
  const given = asSplitOf(train, ds(["ant", "cat"], [1, 0, 1]), "test");
  assertEquals(Array.from(given.y), [2, 0, 2]);
  assertEquals([given.nClasses, given.classNames], [3, ["ant", "bee", "cat"]]);
  assertThrows(() => asSplitOf(train, ds(["ant", "dog"], [1]), "test"), /lacks: dog/);
});

Deno.test("prepare: given splits replace the internal ones, and their rows stay out of training", async () => {
  const parts = await irisParts();
  const dir = await Deno.makeTempDir({ prefix: "lossmith-given-" });
  try {
    for (const [name, text] of Object.entries(parts).filter(([k]) => k !== "rows")) {
      await Deno.writeTextFile(`${dir}/${name}.csv`, text as string);
    }
    const load = (name: string) =>
      loadDataset(parseDatasetRef(`${dir}/${name}.csv`, { target: "species" }));
    const [train, validation, test] = await Promise.all(
      ["train", "validation", "test"].map(load),
    );
    const split = { testFraction: 0.2, validationFraction: 0.1 };
    const both = prepare(train, 1, split, undefined, { validation, test });
    assertEquals(
      [both.train.n, both.validation.n, both.test.n],
      [parts.rows.train, parts.rows.validation, parts.rows.test],
    );
    assertEquals(both.sources, { validation: "validation.csv", test: "test.csv" });
    // With only a test set, validation is still split off the training rows.
    const one = prepare(train, 1, split, undefined, { test });
    assertEquals(one.test.n, parts.rows.test);
    assertEquals(one.train.n + one.validation.n, parts.rows.train);
    assert(one.validation.n > 0);
    assertEquals(one.sources, { validation: "split", test: "test.csv" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CLI's --validation and --test: a search on them, and a clear refusal", async () => {
  const parts = await irisParts();
  const dir = await Deno.makeTempDir({ prefix: "lossmith-given-cli-" });
  try {
    for (const name of ["train", "validation", "test"] as const) {
      await Deno.writeTextFile(`${dir}/${name}.csv`, parts[name]);
    }
    // Fewer features: refused before any training, with the reason.
    await Deno.writeTextFile(
      `${dir}/narrow.csv`,
      parts.test.split("\n").map((l) => l.split(",").slice(1).join(",")).join("\n"),
    );
    const tiny = [
      "--target",
      "species",
      "--hidden",
      "8",
      "--population",
      "4",
      "--generations",
      "1",
      "--screen-steps",
      "20",
      "--meta-steps",
      "3",
      "--fitness-steps",
      "20",
      "--final-steps",
      "30",
      "--final-seeds",
      "1",
      "--workers",
      "0",
      "--backend",
      "cpu",
      "--quiet",
      "--no-report",
    ];
    assertThrows(
      () => parseCli(["--dataset", `${dir}/train.csv`, "--validation-labels", "x", ...tiny]),
      /--validation-labels needs --validation FILE/,
    );
    const out = `${dir}/result.json`;
    const status = await main([
      "--dataset",
      `${dir}/train.csv`,
      "--validation",
      `${dir}/validation.csv`,
      "--test",
      `${dir}/test.csv`,
      "--out",
      out,
      ...tiny,
    ]);
    assert(status === 0 || status === NO_USABLE_LOSS_STATUS, `exit status ${status}`);
    const result = JSON.parse(await Deno.readTextFile(out));
    assertEquals(result.dataset.rows, parts.rows);
    assertEquals(result.dataset.sources, { validation: "validation.csv", test: "test.csv" });
    assertEquals(result.config.validation.path, `${dir}/validation.csv`);
    const errors: string[] = [];
    const error = console.error;
    console.error = (s: string) => void errors.push(s);
    try {
      const refused = await main([
        "--dataset",
        `${dir}/train.csv`,
        "--test",
        `${dir}/narrow.csv`,
        "--out",
        `${dir}/no.json`,
        ...tiny,
      ]);
      assertEquals(refused, 1);
    } finally {
      console.error = error;
    }
    assert(
      errors.some((e) => /the test set has 3 features; the training set has 4/.test(e)),
      errors.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
