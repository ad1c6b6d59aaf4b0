/** Warnings about splits too small for their metric to tell losses apart. */
import { assert, assertEquals } from "./support/assert.ts";
import { splitWarnings } from "../core/warnings.ts";

const rows = (validation: number, test = 2000) => ({ train: 7200, validation, test });
const ranked = (...fitness: number[]) => fitness.map((f) => ({ fitness: f }));

Deno.test("validation error rates: ties, a spread of a few rows, a best of zero", () => {
  // 800 rows: steps of 1/800 = 0.125%; these span 40 rows and do not tie at the best.
  assertEquals(splitWarnings("classification", rows(800), ranked(0.0688, 0.0712, 0.1188)), []);
  const tied = splitWarnings("classification", rows(800), ranked(0.0688, 0.0688, 0.1188));
  assertEquals(tied.length, 1);
  assert(/2 ranked losses tie .* steps of 0.125%/.test(tied[0]), tied[0]);
  // Within two rows of 800 from first to last: too close to rank.
  const close = splitWarnings("classification", rows(800), ranked(0.0688, 0.07, 0.07125));
  assert(close.some((w) => /span 2 validation row/.test(w)), close.join("\n"));
  const zero = splitWarnings("classification", rows(12), ranked(0, 0, 0.0833));
  assert(zero.some((w) => /validation split has 12 rows/.test(w)));
  assert(zero.some((w) => /best validation error rate is 0 on 12 rows/.test(w)));
  // Regression: MSE has no row steps; only too few rows are warned about.
  assertEquals(splitWarnings("regression", rows(40), ranked(0.2, 0.2, 0.21)), []);
  assertEquals(splitWarnings("regression", rows(14), ranked(0.2, 0.3)).length, 1);
});
