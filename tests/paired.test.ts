/**
 * The paired statistics against published reference values. Each was also recomputed by hand
 * (Python with numpy only): the t tail by integrating Student's density, the exact signed-rank
 * probability by enumerating all 2^n sign assignments, the tied normal approximation from its
 * formula; they agree to the digits asserted here.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { pairedTest, WILCOXON_FROM } from "../core/paired.ts";

const close = (actual: number | undefined | null, expected: number, tol: number, what = "") =>
  assert(
    actual !== undefined && actual !== null && Math.abs(actual - expected) <= tol,
    `${what}: ${actual} vs ${expected}`,
  );

// Student's sleep data (Cushny and Peebles; Student 1908), R's `sleep`: extra hours of sleep of
// ten patients under two drugs. R's `t.test(extra ~ group, data = sleep, paired = TRUE)` prints
// t = -4.0621, df = 9, p-value = 0.002833, 95 percent confidence interval -2.4598858 -0.7001142,
// mean difference -1.58.
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

Deno.test("paired t-test and its interval: Student's sleep data as R gives them", () => {
  const r = pairedTest(SLEEP_1, SLEEP_2, 0.05);
  assertEquals([r.n, r.confidence, r.tTest?.df], [10, 0.95, 9]);
  close(r.meanDifference, -1.58, 1e-12, "mean");
  close(r.tTest?.t, -4.0621, 5e-5, "t");
  close(r.tTest?.p, 0.002833, 5e-7, "p");
  close(r.ci?.[0], -2.4598858, 5e-8, "ci low");
  close(r.ci?.[1], -0.7001142, 5e-8, "ci high");
  // R's `wilcox.test(extra ~ group, data = sleep, paired = TRUE)`: V = 0, p-value = 0.009091,
  // the normal approximation (one zero difference, dropped, and tied ranks), with continuity
  // correction: z = (0 - 22.5 + 0.5) / sqrt(71.25 - 6/48).
  assertEquals([r.wilcoxon?.v, r.wilcoxon?.exact], [0, false]);
  close(r.wilcoxon?.p, 0.009091, 5e-7, "signed-rank p");
});

Deno.test("the t quantile: 1, ..., 5 against 0, R's t.test(1:5) and the t table's 2.776", () => {
  // t = 4.2426, df = 4, p-value = 0.01324, 95 percent CI 1.036757 4.963243 (mean 3 +- 2.776445
  // * sqrt(2.5 / 5)); 2.776 is the tabulated 0.975 quantile of t with 4 degrees of freedom.
  const r = pairedTest([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], 0.05);
  close(r.tTest?.t, 4.2426, 5e-5, "t");
  close(r.tTest?.p, 0.01324, 5e-6, "p");
  close(r.ci?.[0], 1.036757, 5e-7, "ci low");
  close(r.ci?.[1], 4.963243, 5e-7, "ci high");
  close((r.ci![1] - 3) / Math.sqrt(0.5), 2.776, 5e-4, "quantile");
  assertEquals(r.wilcoxon, null, `fewer than ${WILCOXON_FROM} pairs get no signed-rank test`);
  // A 99% interval (significance 0.01) is wider: the 0.995 quantile with 4 df is 4.604.
  const wide = pairedTest([1, 2, 3, 4, 5], [0, 0, 0, 0, 0], 0.01);
  assertEquals(wide.confidence, 0.99);
  close((wide.ci![1] - 3) / Math.sqrt(0.5), 4.604, 5e-4, "0.995 quantile");
});

Deno.test("exact signed-rank test: Hollander and Wolfe's depression scores, as in R's help", () => {
  // R's ?wilcox.test: x and y are Hamilton depression scores before and after treatment;
  // `wilcox.test(x, y, paired = TRUE, alternative = "greater")` gives V = 40, p-value = 0.01953
  // (10 of the 512 sign assignments reach 40); the two-sided p is twice that, 0.0390625.
  const x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
  const y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
  const r = pairedTest(x, y, 0.05);
  assertEquals([r.wilcoxon?.v, r.wilcoxon?.exact], [40, true]);
  close(r.wilcoxon?.p, 20 / 512, 1e-12, "exact p");
  // Six differences of one sign: the smallest exact two-sided p of six pairs, 2 / 2^6.
  const six = pairedTest([1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0], 0.05);
  close(six.wilcoxon?.p, 2 / 64, 1e-12, "six of one sign");
});

Deno.test("differences equal as fractions tie; equal runs, diverged runs and single pairs", () => {
  // Error rates over 2,000 test rows: 0.0615 - 0.116 and 0.063 - 0.1175 are both -109/2000
  // as fractions, and tie once rounded (in float64 they differ in the last bits).
  assert(0.0615 - 0.116 !== 0.063 - 0.1175);
  const learned = [0.0615, 0.063, 0.061, 0.0625, 0.06, 0.0665];
  const standard = [0.116, 0.1175, 0.1175, 0.118, 0.114, 0.1165];
  const r = pairedTest(learned, standard, 0.05);
  assertEquals(r.wilcoxon?.exact, false, "a tie: the normal approximation");
  const same = pairedTest([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], 0.05);
  assertEquals([same.tTest?.p, same.ci], [1, [0, 0]]);
  // A diverged run (null) leaves its seed out of the pairs.
  const gaps = pairedTest([0.1, null, 0.3], [0.2, 0.2, 0.5], 0.05);
  assertEquals(gaps.n, 2);
  close(gaps.meanDifference, -0.15, 1e-12);
  const constant = pairedTest([0.1, 0.2, 0.3], [0.2, 0.3, 0.4], 0.05);
  assertEquals(constant.tTest, null);
  assert(/undefined/.test(constant.note ?? ""));
  assertEquals(pairedTest([0.1], [0.2], 0.05).tTest, null);
});
