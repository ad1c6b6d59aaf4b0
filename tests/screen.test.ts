/**
 * The rejection screen in prediction space (cpu backend, bundled data): optimised under the
 * loss, regression predictions must approach the targets, not merely lower the metric, and
 * classification predictions must end with the largest probability on the true class.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";
import type { BundledName } from "../core/data/mod.ts";

await tf.setBackend("cpu");

async function screener(name: BundledName, steps?: number) {
  const base = smallConfig(1, { dataset: { kind: "bundled", name } });
  const config = {
    ...base,
    evaluation: {
      ...base.evaluation,
      // The default screen (1,000 Adam steps; MNIST's preset 100), or fewer.
      screen: { ...base.evaluation.screen, steps: steps ?? (name === "mnist" ? 100 : 1000) },
    },
  };
  const { data, spec } = await prepared(config);
  const ev = new CandidateEvaluator(data, spec, config.evaluation, config.seed);
  return {
    screen: (infix: string) => ev.screen(parseInfix(infix)),
    dispose: () => ev.dispose(),
  };
}

Deno.test("regression: f (f - y), smallest at f = y/2, is rejected; squared and absolute error pass", async () => {
  for (const steps of [1000, 100]) {
    const s = await screener("boston", steps);
    try {
      for (const good of ["square(f(x) - y)", "abs(f(x) - y)", "log(1 + abs(y - f(x)))"]) {
        const r = await s.screen(good);
        assertEquals(r.rejected, false, `${good}, ${steps} steps: ${r.reason}`);
      }
      const biased = await s.screen("f(x) * (f(x) - y)");
      // Its MSE improves (the predictions move from about 0 towards y/2), so the metric alone
      // would pass it.
      assert(biased.metricAfter < biased.metricBefore, JSON.stringify(biased));
      assert(biased.rejected, `f (f - y) passed with ${steps} steps`);
      assert(/targets/.test(biased.reason ?? ""), biased.reason);
      // Scaled targets, smallest at f = 2y: the same.
      assert((await s.screen("square(f(x) - (y + y))")).rejected, `2y, ${steps} steps`);
    } finally {
      s.dispose();
    }
  }
});

Deno.test("classification: the true class must end with the largest probability, or still be gaining", async () => {
  const s = await screener("mnist");
  try {
    for (const good of ["-1 * y * log(f(x))", "square(f(x) - y)", "abs(f(x) - y)"]) {
      const r = await s.screen(good);
      assertEquals(r.rejected, false, `${good}: ${r.reason}`);
    }
    // tanh(f - y) saturates: after a first gain it stops with most examples still wrong.
    const stalls = await s.screen("tanh(f(x) - y)");
    assert(stalls.metricAfter < stalls.metricBefore, JSON.stringify(stalls));
    assert(stalls.rejected && /no longer gain/.test(stalls.reason ?? ""), stalls.reason);
    // Rewarding the true class's probability the wrong way round makes the error worse.
    const wrong = await s.screen("y * f(x)");
    assert(wrong.rejected && /did not improve/.test(wrong.reason ?? ""), wrong.reason);
  } finally {
    s.dispose();
  }
});
