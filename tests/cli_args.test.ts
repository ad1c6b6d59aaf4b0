/** Command-line flags into a SearchConfig: the candidate-stack speed setting and the run flags. */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { parseCli } from "../cli/args.ts";

function configOf(argv: string[]) {
  const opts = parseCli(argv);
  assert(opts !== "help");
  return opts.config;
}

Deno.test("--candidate-stack takes auto, off or K >= 2; absent means auto", () => {
  const stack = (argv: string[]) => configOf(argv).execution.candidateStack;
  assertEquals(stack([]), "auto");
  assertEquals(stack(["--dataset", "iris"]), "auto");
  assertEquals(stack(["--candidate-stack", "auto"]), "auto");
  assertEquals(stack(["--candidate-stack", "off"]), "off");
  assertEquals(stack(["--candidate-stack", "2"]), 2);
  assertEquals(stack(["--candidate-stack=16"]), 16);
});

Deno.test("--candidate-stack refuses anything else, saying what it takes", () => {
  for (const bad of ["1", "0", "-4", "4.5", "1e1", "65", "on", "", " 4"]) {
    const e = assertThrows(() => parseCli([`--candidate-stack=${bad}`]));
    assert(
      e.message.startsWith("--candidate-stack must be auto, off or a whole number of candidates"),
      `${bad}: ${e.message}`,
    );
  }
});

Deno.test("run flags: workers, out, report, and --no-final", () => {
  const opts = parseCli(["--workers", "0", "--out", "r.json", "--no-final"]);
  assert(opts !== "help");
  assertEquals([opts.workers, opts.out, opts.reportDir], [0, "r.json", "r-report"]);
  assertEquals(opts.config.final.seeds, 0);
  assertThrows(() => parseCli(["--workers", "two"]), /\-\-workers\ must\ be\ an\ integer/);
  assertThrows(() => parseCli(["--backend", "tpu"]), /\-\-backend\ must\ be\ one\ of/);
  assertThrows(() => parseCli(["--bogus"]));
});
