/**
 * The paired statistics of a final comparison. Both losses of a seed train from the same initial
 * weights on the same batches (engine/final_runs.ts), so the seeds give pairs, and the question is
 * whether the mean of the differences (learned - standard) is zero: a paired t-test, with the
 * confidence interval of the mean difference, and from WILCOXON_FROM pairs on the Wilcoxon
 * signed-rank test, which does not assume normal differences. The distributions are stdlib's
 * (@stdlib/stats-ttest, @stdlib/stats-wilcoxon): exact signed-rank probabilities below 50 pairs
 * without ties or zeros, the normal approximation with continuity and tie corrections otherwise,
 * as R's t.test and wilcox.test compute them.
 */
import ttest from "@stdlib/stats-ttest";
import wilcoxon from "@stdlib/stats-wilcoxon";

/** Fewer pairs than this get no signed-rank test: with 5, its smallest two-sided p is 0.0625. */
export const WILCOXON_FROM = 6;

export interface PairedTest {
  /** Pairs tested: the seeds where neither loss diverged. */
  n: number;
  /** Mean of learned - standard over the pairs; negative favours the learned loss. */
  meanDifference: number | null;
  /** Confidence interval of the mean difference, at level `confidence` (Student t). */
  ci: [number, number] | null;
  /** 1 - the significance level: the interval excludes 0 exactly when the t-test rejects. */
  confidence: number;
  /** Two-sided; null with fewer than 2 pairs or when every difference is the same. */
  tTest: { t: number; df: number; p: number } | null;
  /** Two-sided; null below WILCOXON_FROM pairs. `v` is the sum of the positive ranks. */
  wilcoxon: { v: number; p: number; exact: boolean } | null;
  /** Why a test is missing, in words. */
  note?: string;
}

/**
 * Differences to 12 significant digits: error rates are counts over the same test rows, and
 * differences that are equal as fractions must tie as ranks, not differ in their last bit.
 */
const rounded = (d: number) => Number(d.toPrecision(12));

/** The paired tests of two losses' per-seed metrics (null: that run diverged). */
export function pairedTest(
  learned: readonly (number | null)[],
  standard: readonly (number | null)[],
  significance: number,
): PairedTest {
  const diffs = learned.flatMap((l, i) => {
    const s = standard[i];
    return l === null || s === null ? [] : [rounded(l - s)];
  });
  const n = diffs.length;
  const confidence = 1 - significance;
  const mean = n ? diffs.reduce((a, d) => a + d, 0) / n : null;
  const none = { n, meanDifference: mean, ci: null, confidence, tTest: null, wilcoxon: null };
  if (n < 2) return { ...none, note: `${n} pair${n === 1 ? "" : "s"}: too few to test` };
  if (diffs.every((d) => d === diffs[0])) {
    // No spread: the t statistic is 0/0 or infinite. Equal runs are no difference at all.
    if (diffs[0] === 0) {
      return {
        ...none,
        ci: [0, 0],
        tTest: { t: 0, df: n - 1, p: 1 },
        wilcoxon: n >= WILCOXON_FROM ? { v: 0, p: 1, exact: true } : null,
        note: "both losses gave the same metric on every seed",
      };
    }
    return { ...none, note: "every seed gave the same difference: the t-test is undefined" };
  }
  const t = ttest(diffs, { alpha: significance });
  return {
    n,
    meanDifference: mean,
    ci: [t.ci[0], t.ci[1]],
    confidence,
    tTest: { t: t.statistic, df: t.df, p: Math.min(1, t.pValue) },
    wilcoxon: n >= WILCOXON_FROM ? signedRank(diffs) : null,
  };
}

function signedRank(diffs: number[]): PairedTest["wilcoxon"] {
  if (diffs.every((d) => d === 0)) return { v: 0, p: 1, exact: true };
  const w = wilcoxon(diffs);
  // stdlib's rule (as R's): exact below 50 non-zero differences without zeros or ties.
  const nonZero = diffs.filter((d) => d !== 0).map(Math.abs);
  const exact = nonZero.length === diffs.length && nonZero.length <= 50 &&
    new Set(nonZero).size === nonZero.length;
  return { v: w.statistic, p: Math.min(1, w.pValue), exact };
}
