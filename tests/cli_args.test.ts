/** Command-line flags into a SearchConfig: the candidate-batch speed setting. */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { parseCli } from "../cli/args.ts";

function evaluationOf(argv: string[]) {
  const opts = parseCli(argv);
  assert(opts !== "help");
  return opts.config.evaluation;
}

Deno.test("--candidate-batch takes auto, off or K >= 2; absent means auto", () => {
  assertEquals(evaluationOf([]).candidateBatch, "auto");
  assertEquals(evaluationOf(["--dataset", "iris"]).candidateBatch, "auto");
  assertEquals(evaluationOf(["--candidate-batch", "auto"]).candidateBatch, "auto");
  assertEquals(evaluationOf(["--candidate-batch", "off"]).candidateBatch, "off");
  assertEquals(evaluationOf(["--candidate-batch", "2"]).candidateBatch, 2);
  assertEquals(evaluationOf(["--candidate-batch=16"]).candidateBatch, 16);
});

Deno.test("--candidate-batch refuses anything else, saying what it takes", () => {
  for (const bad of ["1", "0", "-4", "4.5", "1e1", "65", "on", "", " 4"]) {
    const e = assertThrows(() => parseCli([`--candidate-batch=${bad}`]));
    assertEquals(
      e.message,
      `--candidate-batch must be auto, off or a whole number of candidates from 2 to 64, ` +
        `got '${bad}'`,
    );
  }
});
