/** Command-line flags into a SearchConfig: the fitness-batch speed setting. */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { parseCli } from "../cli/args.ts";

function evaluationOf(argv: string[]) {
  const opts = parseCli(argv);
  assert(opts !== "help");
  return opts.config.evaluation;
}

Deno.test("--fitness-batch takes auto, off or K >= 2; absent means auto", () => {
  assertEquals(evaluationOf([]).fitnessBatch, "auto");
  assertEquals(evaluationOf(["--dataset", "iris"]).fitnessBatch, "auto");
  assertEquals(evaluationOf(["--fitness-batch", "auto"]).fitnessBatch, "auto");
  assertEquals(evaluationOf(["--fitness-batch", "off"]).fitnessBatch, "off");
  assertEquals(evaluationOf(["--fitness-batch", "2"]).fitnessBatch, 2);
  assertEquals(evaluationOf(["--fitness-batch=16"]).fitnessBatch, 16);
});

Deno.test("--fitness-batch refuses anything else, saying what it takes", () => {
  for (const bad of ["1", "0", "-4", "4.5", "1e1", "65", "on", "", " 4"]) {
    const e = assertThrows(() => parseCli([`--fitness-batch=${bad}`]));
    assertEquals(
      e.message,
      `--fitness-batch must be auto, off or a whole number of candidates from 2 to 64, ` +
        `got '${bad}'`,
    );
  }
});
