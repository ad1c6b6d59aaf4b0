// deno-lint-ignore-file no-explicit-any
/**
 * The exports train models as their frameworks train them, and reach what the service reported.
 *
 * A small search on the bundled MNIST digits (an MLP 784-32-10, SGD with Nesterov momentum and
 * weight decay) runs through the API; its best loss's final comparison reports the test error of
 * 5 seeds trained with it. The test then trains the same model from scratch with each export,
 * under the settings the export says it was validated with (VALIDATED_WITH: optimiser, learning
 * rate, momentum, weight decay, batch size, steps, initialisation), on the same split and input
 * scaling:
 * - PyTorch (Debian's python3-torch): `LearnedLoss()` on the logits of an nn.Sequential, class
 *   indices as targets, torch.optim.SGD with its weight_decay;
 * - TF.js in Deno: a tf.sequential ending in a softmax, `model.compile({loss: learnedLoss})`
 *   (probabilities, Keras's default) and `model.fit` on one-hot targets, tf.train.momentum with
 *   L2 regularisers of half the weight decay (the same gradient as PyTorch's weight_decay).
 * Each trains 8 seeds, on the service's batch schedule (rows shuffled once per seed, batch i the
 * slice at (i * B) mod (n - B + 1)) with its own random initialisations and shuffles.
 *
 * Tolerance: the seeds are the noise. Each mean is over independent seeds of the same training
 * procedure, so their difference has a standard error sqrt(s1^2 / n1 + s2^2 / n2) from the two
 * seed spreads; the test allows three of them (a false alarm about 0.3% of the time under
 * normality), plus two test images' worth (0.1%) for the spread of too few seeds to estimate.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { finished, postJson, startTestService, waitFor } from "./support/service.ts";
import { PYTHON, pythonHas } from "./support/python.ts";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { loadAndPrepare, type PreparedData } from "../core/prepare.ts";
import { searchConfig } from "../core/search.ts";
import { Rng } from "../core/rng.ts";

const hasTorch = await pythonHas("torch");
if (!hasTorch) {
  console.log(`export_training: the PyTorch half skipped, ${PYTHON} cannot import torch`);
}

const HIDDEN = 32;
const SEEDS = 8;

/** The search: what the service reports, and what the exports will be trained under. */
const REQUEST = {
  dataset: "mnist",
  model: { kind: "mlp", hidden: [HIDDEN] },
  budget: { population: 12, generations: 2 },
  evaluation: {
    localSearch: { metaSteps: 10 },
    fitnessSteps: 100,
    batchSize: 32,
    inner: { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  },
  final: { steps: 300, seeds: 5, tuneLr: false },
  // A seed whose search ranks first a loss that trains stably (a scaled squared error): its
  // seeds spread by a few tenths of a point, so that the comparison can tell.
  seed: 1,
};

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

/** The service's batch schedule for one seed: row indices of each step's batch. */
function schedule(n: number, batch: number, steps: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out = new Int32Array(steps * batch);
  for (let s = 0; s < steps; s++) {
    const offset = (s * batch) % (n - batch + 1);
    for (let b = 0; b < batch; b++) out[s * batch + b] = order[offset + b];
  }
  return out;
}

interface Run {
  search: any;
  losses: any;
  data: PreparedData;
  pytorch: string;
  tfjs: string;
}

let run: Run | undefined;

/** The search, once for both tests. */
async function searched(): Promise<Run> {
  if (run) return run;
  const t = await startTestService({ workers: 2 });
  try {
    const created = await t.json("/v1/searches", postJson(REQUEST));
    assertEquals(created.status, 202, JSON.stringify(created.body));
    const search = await waitFor(t, created.body.id, finished, 600_000);
    assertEquals(search.state, "succeeded", JSON.stringify(search.error));
    const losses = (await t.json(`/v1/searches/${search.id}/losses`)).body;
    const pytorch = await (await t.request(`/v1/searches/${search.id}/losses/1/pytorch`)).text();
    const tfjs = await (await t.request(`/v1/searches/${search.id}/losses/1/tfjs`)).text();
    // The same split and scaling as the service's, from the same request.
    const { model: _m, ...settings } = REQUEST;
    const config = searchConfig({ kind: "bundled", name: "mnist" }, {
      request: { ...settings, model: { kind: "mlp", hidden: [HIDDEN] } } as any,
    });
    const data = await loadAndPrepare(config, config.seed, config.split, config.preprocessing);
    run = { search, losses, data, pytorch, tfjs };
    return run;
  } finally {
    await t.close();
  }
}

/** The service's reported test errors of the best loss, and what the exports were tuned with. */
function reported(r: Run) {
  const learned = r.losses.final.learned;
  assert(learned.values.every((v: number | null) => v !== null), "no seed diverged");
  return { values: learned.values as number[], mean: learned.mean as number };
}

function withinNoise(what: string, service: number[], exported: number[], nTest: number) {
  const se = Math.sqrt(std(service) ** 2 / service.length + std(exported) ** 2 / exported.length);
  const tolerance = 3 * se + 2 / nTest;
  const diff = mean(exported) - mean(service);
  console.log(
    `${what}: test error ${(100 * mean(exported)).toFixed(2)}% ± ${
      (100 * std(exported)).toFixed(2)
    } (${exported.length} seeds) against the service's ${(100 * mean(service)).toFixed(2)}% ± ${
      (100 * std(service)).toFixed(2)
    } (${service.length}); difference ${(100 * diff).toFixed(2)} points, tolerance ${
      (100 * tolerance).toFixed(2)
    }`,
  );
  assert(Math.abs(diff) <= tolerance, `${what}: ${diff} beyond ${tolerance}`);
}

const TORCH_TRAIN = `
import importlib.util, json, sys
import torch
meta = json.load(open(sys.argv[1]))
spec = importlib.util.spec_from_file_location("learned_loss", meta["export"])
exported = importlib.util.module_from_spec(spec)
spec.loader.exec_module(exported)
v = exported.VALIDATED_WITH
opt = v["optimizer"]
def floats(name, cols):
    return torch.frombuffer(bytearray(open(meta[name], "rb").read()), dtype=torch.float32).view(-1, cols)
def ints(name):
    return torch.frombuffer(bytearray(open(meta[name], "rb").read()), dtype=torch.int32).long()
d, k = meta["inputs"], meta["classes"]
xtr, ytr = floats("xtrain", d), ints("ytrain")
xte, yte = floats("xtest", d), ints("ytest")
batch, steps = v["batchSize"], v["steps"]["final"]
assert v["init"] == "xavier-uniform", v["init"]
errors = []
for seed in range(meta["seeds"]):
    torch.manual_seed(1000 + seed)
    model = torch.nn.Sequential(torch.nn.Linear(d, meta["hidden"]), torch.nn.ReLU(), torch.nn.Linear(meta["hidden"], k))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    sgd = torch.optim.SGD(model.parameters(), lr=opt["lr"], momentum=opt["momentum"],
                          nesterov=opt["nesterov"], weight_decay=opt["weightDecay"])
    loss_fn = exported.LearnedLoss()  # logits and class indices, PyTorch's convention
    order = torch.randperm(xtr.shape[0])
    n = xtr.shape[0]
    for s in range(steps):
        offset = (s * batch) % (n - batch + 1)
        rows = order[offset:offset + batch]
        sgd.zero_grad()
        loss_fn(model(xtr[rows]), ytr[rows]).backward()
        sgd.step()
    with torch.no_grad():
        errors.append((model(xte).argmax(1) != yte).float().mean().item())
print(json.dumps(errors))
`;

async function writeRows(dir: string, data: PreparedData) {
  const f32 = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const i32 = (a: Float32Array) => {
    const out = Int32Array.from(a);
    return new Uint8Array(out.buffer);
  };
  await Deno.writeFile(`${dir}/xtrain`, f32(data.train.x));
  await Deno.writeFile(`${dir}/ytrain`, i32(data.train.y));
  await Deno.writeFile(`${dir}/xtest`, f32(data.test.x));
  await Deno.writeFile(`${dir}/ytest`, i32(data.test.y));
}

Deno.test({
  name:
    "the PyTorch export, as LearnedLoss() with torch.optim.SGD, trains to the service's test error",
  ignore: !hasTorch,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const r = await searched();
    const service = reported(r);
    const dir = await Deno.makeTempDir({ prefix: "lossmith_export_training_" });
    try {
      await writeRows(dir, r.data);
      await Deno.writeTextFile(`${dir}/learned_loss.py`, r.pytorch);
      await Deno.writeTextFile(`${dir}/train.py`, TORCH_TRAIN);
      await Deno.writeTextFile(
        `${dir}/meta.json`,
        JSON.stringify({
          export: `${dir}/learned_loss.py`,
          xtrain: `${dir}/xtrain`,
          ytrain: `${dir}/ytrain`,
          xtest: `${dir}/xtest`,
          ytest: `${dir}/ytest`,
          inputs: r.data.inputs,
          classes: r.data.nClasses,
          hidden: HIDDEN,
          seeds: SEEDS,
        }),
      );
      const out = await new Deno.Command(PYTHON, {
        args: [`${dir}/train.py`, `${dir}/meta.json`],
        env: { OMP_NUM_THREADS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const errors: number[] = JSON.parse(new TextDecoder().decode(out.stdout));
      assertEquals(errors.length, SEEDS);
      withinNoise("PyTorch export", service.values, errors, r.data.test.n);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the TF.js export, in model.compile and model.fit, trains to the service's test error",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const r = await searched();
    const service = reported(r);
    await initBackend("wasm");
    const dir = await Deno.makeTempDir({ prefix: "lossmith_export_training_" });
    try {
      await Deno.writeTextFile(`${dir}/learned_loss.js`, r.tfjs);
      const module = await import(new URL(`file://${dir}/learned_loss.js`).href);
      const v = module.VALIDATED_WITH;
      // The export says how it was validated; the data is scaled as it says.
      assertEquals(v.preprocessing, r.data.preprocessing);
      assertEquals(v.init, "xavier-uniform");
      const { lr, momentum, nesterov, weightDecay } = v.optimizer;
      const batch: number = v.batchSize, steps: number = v.steps.final;
      const { train, test } = r.data;
      const d = r.data.inputs, k = r.data.nClasses!;
      const errors: number[] = [];
      for (let seed = 0; seed < SEEDS; seed++) {
        const layer = (units: number, activation: "relu" | "softmax", inputs?: number) =>
          tf.layers.dense({
            units,
            activation,
            ...(inputs ? { inputShape: [inputs] } : {}),
            kernelInitializer: tf.initializers.glorotUniform({ seed: 100 * seed + units }),
            biasInitializer: "zeros",
            // PyTorch's weight_decay w adds w * p to the gradient: an L2 penalty of w / 2.
            kernelRegularizer: tf.regularizers.l2({ l2: weightDecay / 2 }),
            biasRegularizer: tf.regularizers.l2({ l2: weightDecay / 2 }),
          });
        const model = tf.sequential({
          layers: [layer(HIDDEN, "relu", d), layer(k, "softmax")],
        });
        model.compile({
          optimizer: momentum > 0 ? tf.train.momentum(lr, momentum, nesterov) : tf.train.sgd(lr),
          loss: module.learnedLoss, // as it is: probabilities from the softmax, Keras's default
        });
        // The steps' batches one after another: fit's batches are then exactly them.
        const rows = schedule(train.n, batch, steps, 2000 + seed);
        const x = tf.tidy(() => tf.gather(tf.tensor2d(train.x, [train.n, d]), rows));
        // One-hot targets: TF.js's fit checks targets against the outputs' shape for any loss
        // function but its own sparse cross-entropy (the export takes class indices elsewhere).
        const y = tf.tidy(() =>
          tf.oneHot(tf.gather(tf.tensor1d(Int32Array.from(train.y), "int32"), rows), k)
        );
        const history = await model.fit(x, y, {
          batchSize: batch,
          epochs: 1,
          shuffle: false,
          verbose: 0,
        });
        assert(Number.isFinite(history.history.loss[0] as number), "training did not diverge");
        const error = tf.tidy(() => {
          const p = model.predict(tf.tensor2d(test.x, [test.n, d])) as tf.Tensor;
          const wrong = tf.notEqual(tf.argMax(p, 1), tf.tensor1d(Int32Array.from(test.y), "int32"));
          return tf.mean(tf.cast(wrong, "float32")).dataSync()[0];
        });
        errors.push(error);
        tf.dispose([x, y]);
        model.dispose();
      }
      withinNoise("TF.js export", service.values, errors, test.n);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
