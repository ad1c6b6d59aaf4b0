/**
 * Every export carries what its loss was tuned and validated with (optimiser, learning rate,
 * momentum, steps, batch size, initialisation, input scaling, a regression target's scaling) and
 * its verdict: read back from the JSON document, from the PyTorch module by real Python, and from
 * the TensorFlow.js module imported as a real module.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { exportJson, exportPytorch, exportTfjs, lossDocument } from "../core/export.ts";
import { type Provenance, provenanceOf } from "../core/export/provenance.ts";
import { searchConfig } from "../core/search.ts";
import { loadDataset, prepare } from "../core/prepare.ts";
import type { Tree } from "../core/expr/tree.ts";
import { PYTHON, pythonHas } from "./support/python.ts";

const TREE: Tree = ["square", "sub", "fx", "y"];
const PHI = [1, 1.25, 0.75, 1];

/** A finished regression search on Boston as its result would describe it. */
async function bostonProvenance(rank = 1): Promise<Provenance> {
  const config = searchConfig({ kind: "bundled", name: "boston" }, {
    request: {
      evaluation: { inner: { lr: 0.02, momentum: 0.5, nesterov: false }, batchSize: 64 },
      final: { steps: 3000 },
    },
  });
  const data = prepare(await loadDataset(config.dataset), config.seed);
  return provenanceOf({
    config,
    outcome: "no-significant-difference",
    conclusion: "No significant difference from squared error (MSE) at the 0.05 level (...). " +
      "Keep the standard loss, squared error (MSE).",
    dataset: {
      name: "boston",
      task: "regression",
      inputs: 13,
      rows: { train: 364, validation: 40, test: 102 },
      preprocessing: data.preprocessing,
    },
  }, rank);
}

function checkProvenance(p: Provenance) {
  assertEquals(p.optimizer, {
    name: "SGD",
    lr: 0.02,
    momentum: 0.5,
    nesterov: false,
    weightDecay: 5e-4,
  });
  assertEquals([p.batchSize, p.steps], [64, { fitness: 500, final: 3000 }]);
  assertEquals([p.model, p.init], ["mlp 100", "xavier-uniform"]);
  assertEquals(p.preprocessing?.inputs.scaling, "per-feature");
  assertEquals(p.preprocessing?.inputs.mean.length, 13);
  // Boston's median values: about 22.5 thousand dollars, sd about 9.
  assert(Math.abs(p.preprocessing!.targets!.mean - 22.5) < 1.5, JSON.stringify(p.preprocessing));
  assert(Math.abs(p.preprocessing!.targets!.std - 9.2) < 1, JSON.stringify(p.preprocessing));
  assertEquals([p.verdict.outcome, p.verdict.keepStandard], ["no-significant-difference", true]);
}

Deno.test("the JSON export states what the loss was validated with, and its verdict", async () => {
  const validatedWith = await bostonProvenance();
  checkProvenance(validatedWith);
  const doc = JSON.parse(exportJson({ tree: TREE, phi: PHI, task: "regression", validatedWith }));
  const { verdict, ...rest } = validatedWith;
  assertEquals(doc.validatedWith, JSON.parse(JSON.stringify(rest)));
  assertEquals(doc.verdict, verdict);
  // Without one, no such fields: a loss exported on its own claims nothing.
  const bare = lossDocument({ tree: TREE, phi: PHI, task: "regression" });
  assert(!("validatedWith" in bare) && !("verdict" in bare));
  // Only the best loss was compared: the others say so.
  const second = await bostonProvenance(2);
  assertEquals([second.verdict.outcome, second.verdict.keepStandard], ["not-compared", true]);
  assert(second.verdict.words.includes("Only the rank-1 loss was compared"));
});

Deno.test("the TensorFlow.js export exports VALIDATED_WITH and says it in its comment", async () => {
  const validatedWith = await bostonProvenance();
  const source = exportTfjs({ tree: TREE, phi: PHI, task: "regression", validatedWith });
  for (
    const text of [
      "optimiser: SGD, learning rate 0.02, momentum 0.5, weight decay 0.0005",
      "batch size 64; fitness after 500 steps; final runs of 3000 steps",
      "model: mlp 100, initialisation xavier-uniform",
      "inputs scaled per-feature",
      "targets standardised, y' = (y - ",
      "Keep the standard loss, squared error (MSE).",
    ]
  ) assert(source.includes(text), text);
  const dir = await Deno.makeTempDir({ prefix: "lossmith_provenance_" });
  try {
    await Deno.writeTextFile(`${dir}/loss.js`, source);
    const module = await import(new URL(`file://${dir}/loss.js`).href);
    assertEquals(module.VALIDATED_WITH, JSON.parse(JSON.stringify(validatedWith)));
    assertEquals(typeof module.learnedLoss, "function");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "the PyTorch export defines VALIDATED_WITH and says it in its docstring",
  ignore: !(await pythonHas("torch")),
  fn: async () => {
    const validatedWith = await bostonProvenance();
    const source = exportPytorch({ tree: TREE, phi: PHI, task: "regression", validatedWith });
    const imports = source.split("\n").filter((l) => /^\s*(import|from)\s/.test(l));
    assertEquals(imports, ["import torch"]);
    const script = `${source}\nimport json\nprint(json.dumps(VALIDATED_WITH))\n` +
      `print(json.dumps(learned_loss.__doc__))\n`;
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const [value, doc] = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assertEquals(value, JSON.parse(JSON.stringify(validatedWith)));
    for (
      const text of [
        "Validated with",
        "learning rate 0.02, momentum 0.5",
        "initialisation xavier-uniform",
        "Verdict: No significant difference",
      ]
    ) assert(doc.includes(text), text);
  },
});
