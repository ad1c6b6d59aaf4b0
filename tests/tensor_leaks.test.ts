/** No tensor outlives a candidate evaluation: the live count is flat over 20 evaluations. */
import { assertEquals } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { Rng } from "../core/rng.ts";
import { initialPopulation } from "../core/gp/mod.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";

await tf.setBackend("cpu");

Deno.test("live tensors are the same before and after 20 candidate evaluations", async () => {
  const config = smallConfig(1);
  const { data, spec } = await prepared(config);
  const evaluator = new CandidateEvaluator(data, spec, config.evaluation, config.seed);
  const trees = initialPopulation(new Rng(9), 20, config.gp);
  const before = tf.memory().numTensors;
  let tuned = 0;
  for (const tree of trees) {
    const screen = await evaluator.screen(tree);
    const local = await evaluator.localSearch(tree, 1);
    await evaluator.fitness(tree, local.phi);
    if (!screen.rejected) tuned++;
  }
  assertEquals(tf.memory().numTensors, before);
  evaluator.dispose();
  console.log(
    `20 candidates (${tuned} passed the screen); live tensors ${before} before and after`,
  );
});
