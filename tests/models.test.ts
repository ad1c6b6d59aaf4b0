/**
 * The models: parameter counts (counted by hand below), shapes, initial values, errors for
 * unusable image shapes, LeNet-5 learning MNIST, and LeNet-5's gradient against PyTorch's.
 */
import { assert, assertEquals, assertLess, assertThrows } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import {
  describeModel,
  forward,
  initialValues,
  type ModelSpec,
  parameterCount,
  paramShapes,
  toParams,
} from "../engine/models.ts";
import { DEFAULT_INNER_OPTIMIZER, standardLoss, taskLoss, trainSgd } from "../engine/train.ts";
import { BatchSource } from "../engine/batches.ts";
import { loadBundled } from "../core/data/bundled.ts";
import { subsetRows } from "../core/data/dataset.ts";
import { Rng } from "../core/rng.ts";
import { PYTHON, pythonHas } from "./support/python.ts";
import { modelSpecFor } from "../core/model_kinds.ts";
import { defaultSettings, upgradeSettings } from "../core/settings.ts";

const MNIST_IMAGE: [number, number, number] = [28, 28, 1];
const CIFAR_IMAGE: [number, number, number] = [32, 32, 3];

function conv(kind: ModelSpec["kind"], imageShape: [number, number, number], outputs = 10) {
  const inputs = imageShape[0] * imageShape[1] * imageShape[2];
  return { kind, inputs, outputs, hidden: [], imageShape } satisfies ModelSpec;
}

const LENET = conv("lenet5", MNIST_IMAGE);

Deno.test("parameter counts", () => {
  assertEquals(parameterCount({ kind: "linear", inputs: 784, outputs: 10, hidden: [] }), 7_850);
  assertEquals(parameterCount({ kind: "mlp", inputs: 784, outputs: 10, hidden: [100] }), 79_510);
  // conv 5x5x1x6 + 6 = 156; conv 5x5x6x16 + 16 = 2,416; after two conv/pool stages a 28x28
  // image is 4x4x16 = 256 features: 256x120 + 120 = 30,840; 120x84 + 84 = 10,164; 84x10 + 10 = 850.
  assertEquals(parameterCount(LENET), 156 + 2_416 + 30_840 + 10_164 + 850);
  assertEquals(parameterCount(LENET), 44_426);
  // 32x32x3: conv 5x5 -> 28, pool -> 14, conv 5x5 -> 10, pool -> 5: 400 features.
  assertEquals(
    parameterCount(conv("lenet5", CIFAR_IMAGE)),
    456 + 2_416 + 400 * 120 + 120 + 10_164 + 850,
  );
  // 3x3 convs 3->16, 16->16 (stride 2), 16->32, 32->32 (stride 2), 32->32 (valid), 1x1 32->32,
  // 1x1 32->10, each with a bias.
  assertEquals(
    parameterCount(conv("allconv", CIFAR_IMAGE)),
    (27 + 1) * 16 + (144 + 1) * 16 + (144 + 1) * 32 + 2 * (288 + 1) * 32 + 33 * 32 + 33 * 10,
  );
  // ResNet-18 without batch norm and without conv biases: stem 3x3x3x64; stage 1 four 3x3x64x64;
  // stages 2-4: 3x3 in->out, three 3x3 out->out, a 1x1 in->out shortcut; fc 512x10 + 10.
  const stage = (i: number, o: number) => 9 * i * o + 3 * 9 * o * o + i * o;
  const resnet = 9 * 3 * 64 + 4 * 9 * 64 * 64 + stage(64, 128) + stage(128, 256) +
    stage(256, 512) + 512 * 10 + 10;
  assertEquals(parameterCount(conv("resnet18", CIFAR_IMAGE)), resnet);
  assertEquals(resnet, 11_164_362); // torchvision-style CIFAR ResNet-18 has 11,173,962 with its BN
});

Deno.test("shapes and initial values agree, within PyTorch's default bounds", () => {
  for (const spec of [LENET, conv("allconv", CIFAR_IMAGE)]) {
    const shapes = paramShapes(spec);
    const rng = new Rng(1);
    const values = initialValues(spec, () => rng.next());
    assertEquals(values.length, shapes.length);
    values.forEach((v, i) => assertEquals(v.length, shapes[i].reduce((a, b) => a * b, 1)));
    assertEquals(values.reduce((n, v) => n + v.length, 0), parameterCount(spec));
  }
  // Bounds 1/sqrt(fan-in): conv1 and its bias 1/5 (fan-in 5x5x1), conv2 1/sqrt(150), fc1 1/16.
  const shapes = paramShapes(LENET);
  assertEquals(shapes.slice(0, 5), [[5, 5, 1, 6], [6], [5, 5, 6, 16], [16], [256, 120]]);
  const values = initialValues(LENET, Math.random);
  for (const [i, bound] of [[0, 1 / 5], [1, 1 / 5], [2, 1 / Math.sqrt(150)], [4, 1 / 16]]) {
    const max = values[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert(max <= bound, `param ${i}: max ${max}, bound ${bound}`);
    // Enough draws in the weights to come close to the bound.
    if (values[i].length > 100) assert(max > 0.9 * bound, `param ${i}: max ${max}`);
  }
});

Deno.test("the MLP draws its initial values as before: each layer's weights, then its bias", () => {
  const spec: ModelSpec = { kind: "mlp", inputs: 3, outputs: 2, hidden: [4] };
  let i = 0;
  const values = initialValues(spec, () => (i++ % 10) / 10);
  assertEquals(values.map((v) => v.length), [12, 4, 8, 2]);
  const bound = 1 / Math.sqrt(3);
  assertLess(Math.abs(values[0][0] - -bound), 1e-6); // the first draw, 0, is the low bound
  assertLess(Math.abs(values[1][0] - (2 * 0.2 - 1) * bound), 1e-6); // draw 12: the bias
  assertLess(Math.abs(values[2][0] - (2 * 0.6 - 1) * 0.5), 1e-6); // draw 16: layer 2, fan-in 4
});

Deno.test("the published initialisations: Xavier uniform and Kaiming normal weights", () => {
  const rng = new Rng(5);
  const draw = () => rng.next();
  // Xavier (Glorot) uniform: bound sqrt(6 / (fanIn + fanOut)); dense biases zero.
  const mlp: ModelSpec = {
    kind: "mlp",
    inputs: 784,
    outputs: 10,
    hidden: [100],
    init: "xavier-uniform",
  };
  const [w1, b1, w2, b2] = initialValues(mlp, draw);
  const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const std = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);
  const bound1 = Math.sqrt(6 / (784 + 100)), bound2 = Math.sqrt(6 / (100 + 10));
  assert(maxAbs(w1) <= bound1 && maxAbs(w1) > 0.99 * bound1, `${maxAbs(w1)} vs ${bound1}`);
  assert(maxAbs(w2) <= bound2 && maxAbs(w2) > 0.9 * bound2, `${maxAbs(w2)} vs ${bound2}`);
  // A uniform variable in +-b has standard deviation b / sqrt(3).
  assertLess(Math.abs(std(w1) / (bound1 / Math.sqrt(3)) - 1), 0.01);
  assertEquals([maxAbs(b1), maxAbs(b2)], [0, 0]);
  // LeNet-5 (Xavier): a convolution's fans count its kernel; its bias keeps PyTorch's default,
  // as in the published code, which zeroes only the dense layers' biases.
  const lenet = initialValues({ ...LENET, init: "xavier-uniform" }, draw);
  const convBound = Math.sqrt(6 / (25 * 1 + 25 * 6));
  assert(maxAbs(lenet[0]) <= convBound && maxAbs(lenet[0]) > 0.9 * convBound);
  assert(maxAbs(lenet[1]) <= 1 / 5 && maxAbs(lenet[1]) > 0);
  assertEquals(maxAbs(lenet[5]), 0); // fc1's bias
  // Kaiming normal (fan-in, gain sqrt(2)): standard deviation sqrt(2 / fanIn), mean 0.
  const kaiming = initialValues({ ...conv("allconv", CIFAR_IMAGE), init: "kaiming-normal" }, draw);
  const w = kaiming[2]; // 3x3x16x16: fan-in 144, 2,304 values
  assertEquals(w.length, 2_304);
  // The sample standard deviation of 2,304 normal draws is within 5% of the truth (about 3.4
  // of its standard errors, 1/sqrt(2n)); the mean within 4 standard errors.
  assertLess(Math.abs(std(w) / Math.sqrt(2 / 144) - 1), 0.05);
  assertLess(Math.abs(w.reduce((a, x) => a + x, 0) / w.length), 4 * Math.sqrt(2 / 144 / w.length));
  // Its tails are normal ones: about 4.6% of the draws beyond two standard deviations.
  const beyond = w.filter((x) => Math.abs(x) > 2 * Math.sqrt(2 / 144)).length / w.length;
  assert(beyond > 0.03 && beyond < 0.065, String(beyond));
  const resnet = initialValues({ ...conv("resnet18", CIFAR_IMAGE), init: "kaiming-normal" }, draw);
  assertEquals(maxAbs(resnet[resnet.length - 1]), 0); // the dense layer's bias
});

Deno.test("a search's model takes its kind's published initialisation unless told otherwise", () => {
  const data = { task: "classification" as const, inputs: 784, nClasses: 10 };
  const images = { ...data, imageShape: MNIST_IMAGE };
  assertEquals(modelSpecFor({ kind: "mlp", hidden: [100] }, data).init, "xavier-uniform");
  assertEquals(
    modelSpecFor({ kind: "linear", hidden: [], init: "auto" }, data).init,
    "xavier-uniform",
  );
  assertEquals(modelSpecFor({ kind: "lenet5", hidden: [] }, images).init, "xavier-uniform");
  assertEquals(
    modelSpecFor({ kind: "allconv", hidden: [], init: "auto" }, images).init,
    "kaiming-normal",
  );
  assertEquals(modelSpecFor({ kind: "resnet18", hidden: [] }, images).init, "kaiming-normal");
  assertEquals(modelSpecFor({ kind: "mlp", hidden: [100], init: "pytorch" }, data).init, "pytorch");
  // A configuration stored before the setting ran with PyTorch's default.
  assertEquals(upgradeSettings({ model: { kind: "mlp", hidden: [100] } }).model.init, "pytorch");
  assertEquals(defaultSettings().model.init, "auto");
});

Deno.test("forward: logits of shape [B, outputs] for every kind", async () => {
  await initBackend("wasm");
  const specs: ModelSpec[] = [
    { kind: "linear", inputs: 5, outputs: 3, hidden: [] },
    { kind: "mlp", inputs: 5, outputs: 3, hidden: [7, 4] },
    LENET,
    conv("lenet5", CIFAR_IMAGE, 4),
    conv("allconv", CIFAR_IMAGE),
    conv("allconv", [16, 12, 1], 3),
    conv("resnet18", CIFAR_IMAGE),
  ];
  for (const spec of specs) {
    const rng = new Rng(2);
    tf.tidy(() => {
      const params = toParams(spec, initialValues(spec, () => rng.next()));
      const x = tf.randomUniform([2, spec.inputs], 0, 1, "float32", 3) as tf.Tensor2D;
      const y = forward(spec, params, x);
      assertEquals(y.shape, [2, spec.outputs], describeModel(spec));
      assert(y.dataSync().every(Number.isFinite), describeModel(spec));
      // A pure function of its parameters: the same call gives the same logits.
      assertEquals(forward(spec, params, x).dataSync(), y.dataSync());
    });
  }
});

Deno.test("convolutional models need a usable image shape", () => {
  assertThrows(() => parameterCount({ ...LENET, imageShape: undefined }), /image shape/);
  assertThrows(() => parameterCount({ ...LENET, inputs: 780 }), /does not hold 780 inputs/);
  assertThrows(() => parameterCount(conv("lenet5", [12, 12, 1])), /too small/);
  assertThrows(() => parameterCount(conv("allconv", [6, 6, 1])), /too small/);
});

Deno.test("describeModel", () => {
  assertEquals(describeModel(LENET), "lenet5 28x28x1-10");
  assertEquals(
    describeModel({ kind: "mlp", inputs: 784, outputs: 10, hidden: [100] }),
    "mlp 784-100-10",
  );
  assertEquals(describeModel({ kind: "linear", inputs: 4, outputs: 3, hidden: [9] }), "linear 4-3");
});

Deno.test("LeNet-5 learns bundled MNIST with a few hundred SGD steps (wasm)", async () => {
  await initBackend("wasm");
  const ds = await loadBundled("mnist");
  const rng = new Rng(5);
  const order = Array.from({ length: ds.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const test = new BatchSource("classification", subsetRows(ds, order.slice(0, 1000)), 10, 1000);
  const train = new BatchSource("classification", subsetRows(ds, order.slice(1000)), 10, 32, 6);
  const init = toParams(LENET, initialValues(LENET, () => rng.next()));
  const heldOutLoss = (params: tf.Tensor[]) =>
    tf.tidy(() => taskLoss("classification", forward(LENET, params, test.all.x), test.all.y))
      .dataSync()[0];
  const before = heldOutLoss(init);
  const phi = tf.tensor1d([1]);
  const opt = { ...DEFAULT_INNER_OPTIMIZER, lr: 0.1 };
  const t0 = performance.now();
  const run = await trainSgd(LENET, standardLoss("classification"), phi, init, train, 300, opt);
  const seconds = (performance.now() - t0) / 1000;
  const after = heldOutLoss(run.params);
  const error = tf.tidy(() => {
    const predicted = tf.argMax(forward(LENET, run.params, test.all.x), 1);
    return tf.mean(tf.cast(tf.notEqual(predicted, tf.argMax(test.all.y, 1)), "float32"));
  }).dataSync()[0];
  tf.dispose([...init, ...run.params, phi]);
  test.dispose();
  train.dispose();
  assert(!run.diverged);
  assertLess(after, 0.5 * before, `held-out loss ${before} -> ${after}`);
  assertLess(error, 0.2, `held-out error ${error} after ${seconds.toFixed(1)} s`);
});

// ---------------------------------------------------------------------------------------------
// Against PyTorch (Debian's python3-torch), when it is installed.

/** LeNet-5 in PyTorch with our layouts: filters [kh, kw, in, out], features flattened h, w, c. */
const TORCH_LENET = `
import json, sys, torch
import torch.nn.functional as F
d = json.load(sys.stdin)
p = [torch.tensor(v).view(s).requires_grad_() for v, s in zip(d["params"], d["shapes"])]
x = torch.tensor(d["x"]).view(-1, 28, 28, 1).permute(0, 3, 1, 2)
conv = lambda h, w, b: F.conv2d(h, w.permute(3, 2, 0, 1), b)
h = F.max_pool2d(torch.relu(conv(x, p[0], p[1])), 2)
h = F.max_pool2d(torch.relu(conv(h, p[2], p[3])), 2)
h = h.permute(0, 2, 3, 1).flatten(1)
h = torch.relu(h @ p[4] + p[5])
h = torch.relu(h @ p[6] + p[7])
logits = h @ p[8] + p[9]
loss = -(torch.tensor(d["y"]).view(-1, 10) * torch.log_softmax(logits, 1)).sum(1).mean()
grads = torch.autograd.grad(loss, p)
print(json.dumps({"loss": loss.item(), "grads": [g.flatten().tolist() for g in grads]}))
`;

Deno.test({
  name: "LeNet-5's cross-entropy gradient matches PyTorch's (cpu and wasm)",
  ignore: !(await pythonHas("torch")),
  fn: async () => {
    const rng = new Rng(8);
    const values = initialValues(LENET, () => rng.next());
    const b = 6;
    const x = Float32Array.from({ length: b * 784 }, () => rng.next());
    const y = Float32Array.from({ length: b * 10 }, (_, i) => (i % 10 === (i / 10 | 0) ? 1 : 0));
    const child = new Deno.Command(PYTHON, {
      args: ["-c", TORCH_LENET],
      stdin: "piped",
      stdout: "piped",
    })
      .spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify({
      params: values.map((v) => Array.from(v)),
      shapes: paramShapes(LENET),
      x: Array.from(x),
      y: Array.from(y),
    })));
    await writer.close();
    const out = await child.output();
    assert(out.success, "python failed");
    const torch = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      loss: number;
      grads: number[][];
    };
    for (const backend of ["cpu", "wasm"] as const) {
      await initBackend(backend);
      const { loss, grads } = tf.tidy(() => {
        const params = toParams(LENET, values);
        const xs = tf.tensor2d(x, [b, 784]), ys = tf.tensor2d(y, [b, 10]);
        const f = (...p: tf.Tensor[]) => taskLoss("classification", forward(LENET, p, xs), ys);
        const { value, grads } = tf.valueAndGrads(f)(params);
        return { loss: value.dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
      });
      assertLess(Math.abs(loss - torch.loss), 1e-5, `${backend} loss`);
      grads.forEach((g, i) => {
        const diff = Math.hypot(...g.map((v, k) => v - torch.grads[i][k]));
        const scale = Math.hypot(...torch.grads[i]);
        assertLess(diff / scale, 1e-4, `${backend}, gradient of parameter ${i}`);
      });
    }
  },
});
