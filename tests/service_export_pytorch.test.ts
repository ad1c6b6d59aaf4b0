/**
 * The PyTorch export, downloaded from the service over HTTP, runs as it is with Debian's
 * python3-torch (installed by .ci/run) and gives the engine's loss values on sample inputs,
 * for a classification (Iris) and a regression (Boston) search.
 */
// deno-lint-ignore-file no-explicit-any
import { assert, assertAlmostEquals, assertEquals } from "./support/assert.ts";
import { finished, postJson, startTestService, tinySearch, waitFor } from "./support/service.ts";
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { Rng } from "../core/rng.ts";

await tf.setBackend("cpu");

function engineLoss(loss: any, task: string, logits: number[][], targets: number[][]): number {
  return tf.tidy(() => {
    const f = compileLoss(loss.tree, task as "classification" | "regression");
    return f(tf.tensor2d(logits), tf.tensor2d(targets), tf.tensor1d(loss.phi)).dataSync()[0];
  });
}

async function torchLoss(code: string, logits: number[][], target: unknown): Promise<number> {
  const script = `${code}\n
import json, sys
args = json.loads(sys.stdin.read())
logits = torch.tensor(args["logits"], dtype=torch.float32)
target = torch.tensor(args["target"])
print(repr(float(learned_loss(logits, target))))
`;
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ logits, target })));
  await writer.close();
  const out = await child.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test({
  name: "the PyTorch export from the API gives the engine's loss values (Iris and Boston)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService({ workers: 2 });
    try {
      const rng = new Rng(7);
      for (const [dataset, classes] of [["iris", 3], ["boston", 1]] as const) {
        const created = await t.json(
          "/v1/searches",
          postJson(tinySearch(dataset, { final: { seeds: 0 } })),
        );
        const done = await waitFor(t, created.body.id, finished);
        assertEquals(done.state, "succeeded");
        const { losses, task } = (await t.json(`/v1/searches/${done.id}/losses`)).body;
        assert(losses.length > 0);
        for (const rank of [1, losses.length]) {
          const code = await (await t.request(`/v1/searches/${done.id}/losses/${rank}/pytorch`))
            .text();
          const n = 16;
          const logits = Array.from(
            { length: n },
            () => Array.from({ length: classes }, () => 3 * rng.normal()),
          );
          let targets: number[][], torchTarget: unknown;
          if (task === "classification") {
            const labels = Array.from({ length: n }, (_, i) => i % classes);
            targets = labels.map((k) =>
              Array.from({ length: classes }, (_, j) => (j === k ? 1 : 0))
            );
            torchTarget = labels; // class indices: the export one-hot encodes them
          } else {
            targets = logits.map(() => [rng.normal()]);
            torchTarget = targets.map((r) => r[0]);
          }
          // What it was tuned with comes along: the search's settings and data scaling.
          assert(code.includes('"lr": 0.01') && code.includes('"batchSize": 128'), code);
          assert(
            code.includes(task === "regression" ? '"targets": {' : '"scaling": "per-feature"'),
          );
          assert(code.includes("Keep the standard loss"), "not compared: keep the standard loss");
          const expected = engineLoss(losses[rank - 1], task, logits, targets);
          const actual = await torchLoss(code, logits, torchTarget);
          assert(Number.isFinite(expected), `engine value ${expected}`);
          assertAlmostEquals(
            actual,
            expected,
            1e-5 * Math.max(1, Math.abs(expected)),
            `${dataset} rank ${rank}`,
          );
        }
      }
    } finally {
      await t.close();
    }
  },
});
