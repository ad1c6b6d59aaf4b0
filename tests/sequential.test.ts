/**
 * The user's own model, a layer list (`sequential`): against TF.js's own Sequential model built
 * from the same list (parameter count, output shape, and the forward pass on the same weights),
 * the shape checks with the path of the layer at fault, the dense stacks the dense engines take,
 * and the hypergradient through a small CNN with every layer type, against finite differences.
 */
import { assert, assertEquals, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { forward, initialValues, type ModelSpec, toParams } from "../engine/models.ts";
import { type Batch, type InnerOptimizer, unrolledTaskLoss } from "../engine/train.ts";
import type { ModelData } from "../core/model_kinds.ts";
import { fusedRefusal } from "../engine/webgpu/dense.ts";
import {
  denseHidden,
  describeModel,
  isDenseStack,
  modelIssues,
  modelSpecFor,
  parameterCount,
} from "../core/model_kinds.ts";
import {
  type Activation,
  ACTIVATIONS,
  type Layer,
  layerShapes,
  type Shape,
} from "../core/layers.ts";
import { defaultSettings } from "../core/settings.ts";
import { CandidateEvaluator } from "../engine/evaluator.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { prepared, smallConfig } from "./support/search_fixture.ts";
import { Rng } from "../core/rng.ts";
import {
  compareWithFiniteDifferences,
  FD_TOLERANCE,
  fixtureRandom,
  RICH_TREE,
  spreadPhi,
} from "./support/finite_differences.ts";

await initBackend("cpu");

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function specOf(layers: Layer[], input: Shape, outputs: number): ModelSpec {
  return {
    kind: "sequential",
    inputs: size(input),
    outputs,
    hidden: [],
    ...(input.length === 3 ? { imageShape: input as [number, number, number] } : {}),
    layers,
    init: "xavier-uniform",
  };
}

/** A random layer list on an input of this shape, ending with Dense(outputs); may be invalid. */
function randomLayers(rng: Rng, input: Shape, outputs: number): Layer[] {
  const layers: Layer[] = [];
  const act = (): Activation => ACTIVATIONS[rng.int(ACTIVATIONS.length)];
  const count = 1 + rng.int(5);
  let image = input.length === 3;
  for (let i = 0; i < count; i++) {
    const r = rng.next();
    if (image && r < 0.4) {
      const k = 1 + rng.int(4);
      layers.push({
        type: "Conv2D",
        filters: 1 + rng.int(6),
        kernelSize: rng.next() < 0.7 ? k : [k, 1 + rng.int(3)],
        ...(rng.next() < 0.4 ? { strides: 1 + rng.int(2) } : {}),
        ...(rng.next() < 0.5 ? { padding: rng.next() < 0.5 ? "same" : "valid" } : {}),
        ...(rng.next() < 0.8 ? { activation: act() } : {}),
      });
    } else if (image && r < 0.6) {
      const p = 1 + rng.int(3);
      layers.push({
        type: rng.next() < 0.5 ? "MaxPooling2D" : "AveragePooling2D",
        ...(rng.next() < 0.7 ? { poolSize: rng.next() < 0.7 ? p : [p, 1 + rng.int(2)] } : {}),
      });
    } else if (image && r < 0.7) {
      layers.push({ type: "GlobalAveragePooling2D" });
      image = false;
    } else if (image) {
      layers.push({ type: "Flatten" });
      image = false;
    } else if (r < 0.8) {
      layers.push({ type: "Dense", units: 1 + rng.int(12), activation: act() });
    } else {
      layers.push({ type: "Activation", activation: act() });
    }
  }
  if (image) layers.push({ type: "Flatten" });
  layers.push({
    type: "Dense",
    units: outputs,
    ...(rng.next() < 0.5 ? { activation: act() } : {}),
  });
  return layers;
}

/** The same list as a TF.js Sequential model, with Keras's own layers. */
function tfjsModel(layers: Layer[], input: Shape): tf.Sequential {
  const model = tf.sequential();
  for (const [i, l] of layers.entries()) {
    const first = i === 0 ? { inputShape: input } : {};
    switch (l.type) {
      case "Dense":
        model.add(tf.layers.dense({ units: l.units, activation: l.activation, ...first }));
        break;
      case "Conv2D":
        model.add(tf.layers.conv2d({
          filters: l.filters,
          kernelSize: l.kernelSize,
          strides: l.strides,
          padding: l.padding,
          activation: l.activation,
          ...first,
        }));
        break;
      case "MaxPooling2D":
      case "AveragePooling2D": {
        const make = l.type === "MaxPooling2D"
          ? tf.layers.maxPooling2d
          : tf.layers.averagePooling2d;
        model.add(make({ poolSize: l.poolSize ?? 2, padding: "valid", ...first }));
        break;
      }
      case "GlobalAveragePooling2D":
        model.add(tf.layers.globalAveragePooling2d({ ...first }));
        break;
      case "Flatten":
        model.add(tf.layers.flatten({ ...first }));
        break;
      case "Activation":
        model.add(tf.layers.activation({ activation: l.activation, ...first }));
        break;
    }
  }
  return model;
}

Deno.test("a layer list has TF.js's parameter count, output shape and outputs, on random lists", () => {
  const rng = new Rng(11);
  const inputs: Shape[] = [[9, 8, 2], [12, 12, 1], [6, 7, 3], [10]];
  let compared = 0, refused = 0;
  for (let trial = 0; trial < 120; trial++) {
    const input = inputs[trial % inputs.length];
    const outputs = 2 + rng.int(4);
    const layers = randomLayers(rng, input, outputs);
    const { issues } = layerShapes(layers, input, outputs);
    if (issues.length) {
      refused++;
      continue;
    }
    const spec = specOf(layers, input, outputs);
    const what = describeModel(spec);
    const model = tfjsModel(layers, input);
    try {
      assertEquals(parameterCount(spec), model.countParams(), `parameters of ${what}`);
      assertEquals(model.outputShape, [null, outputs], what);
      // Our initial weights in Keras's model: kernels and biases line up one to one.
      const values = initialValues(spec, () => rng.next());
      tf.tidy(() => {
        const params = toParams(spec, values);
        model.setWeights(params);
        const x = tf.randomNormal([3, spec.inputs], 0, 1, "float32", trial) as tf.Tensor2D;
        const ours = forward(spec, params, x).arraySync() as number[][];
        const theirs = (model.predict(tf.reshape(x, [3, ...input])) as tf.Tensor)
          .arraySync() as number[][];
        ours.flat().forEach((v, j) => {
          const w = theirs.flat()[j];
          assertLess(Math.abs(v - w), 1e-5 * Math.max(1, Math.abs(w)), `output ${j} of ${what}`);
        });
      });
      compared++;
    } finally {
      model.dispose();
    }
  }
  // Most random lists are valid; the shape checks refuse the rest (kernels and pools too large).
  assert(compared > 70, `only ${compared} of 120 compared (${refused} refused)`);
  assertEquals(compared + refused, 120);
  console.log(`${compared} random lists compared with TF.js, ${refused} refused by the checks`);
});

Deno.test("shape problems point at the layer and field at fault", () => {
  const mnist = {
    task: "classification" as const,
    inputs: 784,
    nClasses: 10,
    imageShape: [28, 28, 1] as [number, number, number],
  };
  const iris = { task: "classification" as const, inputs: 4, nClasses: 3 };
  const issues = (layers: Layer[], data: ModelData = mnist) =>
    modelIssues({ kind: "sequential", hidden: [], layers }, data).map((i) => i.path.join("/"));
  // A Dense layer on an image, before any Flatten.
  assertEquals(
    issues([{ type: "Conv2D", filters: 4, kernelSize: 3 }, { type: "Dense", units: 10 }]),
    [
      "model/layers/1/type",
    ],
  );
  // A kernel larger than its input: 28 -> 26 -> 13 -> 11 -> 5, then a 7x7 valid kernel.
  const deep: Layer[] = [
    { type: "Conv2D", filters: 4, kernelSize: 3 },
    { type: "MaxPooling2D" },
    { type: "Conv2D", filters: 4, kernelSize: 3 },
    { type: "MaxPooling2D" },
    { type: "Conv2D", filters: 4, kernelSize: 7 },
    { type: "Flatten" },
    { type: "Dense", units: 10 },
  ];
  assertEquals(issues(deep), ["model/layers/4/kernelSize"]);
  // ... which padding same accepts.
  assertEquals(issues(deep.map((l, i) => i === 4 ? { ...l, padding: "same" } as Layer : l)), []);
  // A convolution on flat rows (Iris has no image shape).
  assertEquals(
    issues([{ type: "Conv2D", filters: 2, kernelSize: 1 }, { type: "Dense", units: 3 }], iris),
    [
      "model/layers/0/type",
    ],
  );
  // The last layer must give one logit per class.
  assertEquals(issues([{ type: "Flatten" }, { type: "Dense", units: 12 }]), [
    "model/layers/1/units",
  ]);
  assertEquals(
    issues([{ type: "Dense", units: 3 }, { type: "Activation", activation: "tanh" }], {
      ...iris,
      nClasses: 4,
    }),
    ["model/layers"],
  );
  // An image left at the end.
  assertEquals(issues([{ type: "Conv2D", filters: 10, kernelSize: 28 }]), ["model/layers/0/type"]);
  // Overlapping pooling windows are refused: the engine differentiates twice through tiles only.
  assertEquals(
    issues([{ type: "MaxPooling2D", poolSize: 3, strides: 2 }, { type: "Flatten" }, {
      type: "Dense",
      units: 10,
    }]),
    ["model/layers/0/strides"],
  );
  assertEquals(issues([]), ["model/layers"]);
});

Deno.test("dense stacks are told apart: the dense engines take them, the fused engine refuses others", () => {
  const evaluation = defaultSettings().evaluation;
  const data = {
    task: "classification" as const,
    inputs: 784,
    nClasses: 10,
    imageShape: [28, 28, 1] as [number, number, number],
  };
  const mlpLike: Layer[] = [
    { type: "Flatten" },
    { type: "Dense", units: 32, activation: "relu" },
    { type: "Dense", units: 10 },
  ];
  const spec = modelSpecFor({ kind: "sequential", hidden: [], layers: mlpLike }, data);
  assertEquals(denseHidden(spec), [32]);
  assert(isDenseStack(spec));
  // With first-order unrolling the fused engine would run it, as an MLP 784-32-10 (on a
  // validation split of 800 rows: k-fold fitness, which it does not compute, does not apply).
  const firstOrder = {
    ...evaluation,
    localSearch: {
      ...evaluation.localSearch,
      unroll: { mode: "first-order" as const, truncateTo: 1 },
    },
  };
  assertEquals(fusedRefusal(spec, firstOrder, 800), undefined);
  assertEquals(
    parameterCount(spec),
    parameterCount({ kind: "mlp", inputs: 784, outputs: 10, hidden: [32] }),
  );
  for (
    const layers of [
      [{ type: "Flatten" }, { type: "Dense", units: 32, activation: "tanh" }, {
        type: "Dense",
        units: 10,
      }],
      [{ type: "Flatten" }, { type: "Dense", units: 10, activation: "relu" }],
      [{ type: "Conv2D", filters: 2, kernelSize: 3 }, { type: "Flatten" }, {
        type: "Dense",
        units: 10,
      }],
    ] as Layer[][]
  ) {
    const other = modelSpecFor({ kind: "sequential", hidden: [], layers }, data);
    assertEquals(isDenseStack(other), false);
    const refusal = fusedRefusal(other, firstOrder, 800);
    assert(refusal?.includes("dense stacks only"), String(refusal));
  }
});

Deno.test("the hypergradient through a sequential CNN with every layer type matches finite differences (cpu, wasm)", async () => {
  const layers: Layer[] = [
    { type: "Conv2D", filters: 3, kernelSize: 3, padding: "same", strides: 2, activation: "tanh" },
    { type: "AveragePooling2D", poolSize: 2 },
    { type: "Conv2D", filters: 4, kernelSize: [2, 1], activation: "softplus" },
    { type: "MaxPooling2D", poolSize: [1, 2] },
    { type: "Activation", activation: "sigmoid" },
    { type: "Flatten" },
    { type: "Dense", units: 5, activation: "relu" },
    { type: "Dense", units: 3 },
  ];
  const input: Shape = [12, 13, 2];
  const spec = specOf(layers, input, 3);
  assertEquals(layerShapes(layers, input, 3).issues, []);
  const opt: InnerOptimizer = { lr: 0.5, momentum: 0.9, nesterov: true, weightDecay: 1e-3 };
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    const random = fixtureRandom(5);
    const b = 6;
    const batch = (): Batch => ({
      x: tf.tensor2d(Float32Array.from({ length: b * spec.inputs }, () => 2 * random() - 1), [
        b,
        spec.inputs,
      ]),
      y: tf.oneHot(tf.tensor1d([0, 1, 2, 2, 1, 0], "int32"), 3).toFloat() as tf.Tensor2D,
    });
    const batches = [batch(), batch()], validation = batch();
    const theta0 = toParams(spec, initialValues(spec, random));
    try {
      for (const steps of [1, 2]) {
        const f = unrolledTaskLoss(
          spec,
          "classification",
          compileLoss(RICH_TREE, "classification"),
          opt,
          theta0,
          batches.slice(0, steps),
          validation,
        );
        const r = compareWithFiniteDifferences(f, spreadPhi(RICH_TREE.length));
        assertLess(r.relativeError, FD_TOLERANCE, `${backend}, T=${steps}: ${JSON.stringify(r)}`);
      }
    } finally {
      tf.dispose([...theta0, validation.x, validation.y, ...batches.flatMap((x) => [x.x, x.y])]);
    }
  }
  await initBackend("cpu");
});

Deno.test("a sequential dense stack trains, stacked or alone, as the MLP it is (the same bits)", async () => {
  await initBackend("cpu");
  const config = smallConfig(1);
  const { data, spec: mlp } = await prepared(config);
  const sequential = modelSpecFor({
    kind: "sequential",
    hidden: [],
    layers: [{ type: "Dense", units: 8, activation: "relu" }, { type: "Dense", units: 3 }],
  }, data);
  const trees = [parseInfix("square(f(x) - y)"), parseInfix("-1 * y * log(f(x))")];
  const results = [];
  for (const spec of [mlp, sequential]) {
    const ev = new CandidateEvaluator(data, spec, config.evaluation, config.seed);
    const alone = await ev.localSearch(trees[0], 5);
    const stacked = await ev.localSearchStacked(trees, [5, 6]);
    const fitness = await ev.fitnessStacked(trees, stacked.map((s) => s.phi));
    results.push({ alone, stacked, fitness });
    ev.dispose();
  }
  assertEquals(results[1], results[0]);
});
