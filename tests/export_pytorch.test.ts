/**
 * The PyTorch export, run by real Python: for trees that use every primitive, the constants
 * +1, -1 and a folded 2.5, and both tasks, the generated `learned_loss` must give the engine's
 * value (compileLoss on the tfjs cpu backend) and the engine's gradient with respect to the
 * logits; its `LearnedLoss` module the same; `reduction` 'sum' and 'none' as PyTorch's losses
 * reduce; from probabilities (from_logits=False); and classes along dim 1 of (N, C, H, W). All cases go through one Python process, since importing torch takes a second or two.
 */
import { assert, assertEquals, assertLess } from "./support/assert.ts";
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss, type Task } from "../engine/metaloss.ts";
import { parseInfix } from "../core/expr/parse.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";
import { exportPytorch } from "../core/export.ts";
import { randomTrees } from "./support/random_trees.ts";
import { PYTHON, pythonHas } from "./support/python.ts";

await tf.setBackend("cpu");

const hasTorch = await pythonHas("torch");
if (!hasTorch) console.log(`export_pytorch: skipped, ${PYTHON} cannot import torch`);

// Together these use every primitive, the constants 1, -1 and 2.5, and both inputs, with each
// primitive at least once on a path that depends on the logits (so gradients test it too).
const CLASSIFICATION = [
  "-1 * y * log(f(x))",
  "div(y - f(x), 1 + abs(f(x) - 2.5))",
  "max(square(y - f(x)), tanh(f(x)) * sign(y + -1))",
  "min(sqrt(f(x)), y + f(x)) - sqrt(y * f(x))",
  "sign(f(x) - 0.25) * f(x) + y",
  "2.5", // no input at all: a constant loss with a zero gradient
];
const REGRESSION = [
  "square(f(x) - y)",
  "log(1 + abs(y - f(x))) + div(tanh(f(x)), y)",
  "max(min(f(x), y), -1) * sqrt(abs(y - f(x))) + sign(y) * square(f(x))",
  "div(2.5, square(f(x)) + -1) - tanh(y * f(x))",
];

const BATCH = 12; // two examples of 2 x 3 pixels, for the (N, C, H, W) layout
const CLASSES = 4;
const OUTPUTS = 2;

interface Case {
  tree: Tree;
  task: Task;
  phi: number[];
  logits: number[][];
  /** One-hot rows (classification) or targets, the layout the engine takes. */
  target: number[][];
  /** The other accepted layout: class indices, or regression targets flattened. */
  alternative: number[];
}

function makeCase(rng: Rng, tree: Tree, task: Task): Case {
  // Weights far from 1 so that a weight applied to the wrong node shows; every fourth exactly 1,
  // which the export leaves out.
  const phi = tree.map((_, k) => k % 4 === 1 ? 1 : Math.fround(0.5 + rng.next()));
  const width = task === "classification" ? CLASSES : OUTPUTS;
  const matrix = () =>
    Array.from({ length: BATCH }, () => Array.from({ length: width }, () => 2 * rng.normal()));
  const logits = matrix();
  if (task === "regression") {
    const target = matrix();
    return { tree, task, phi, logits, target, alternative: target.flat() };
  }
  const labels = Array.from({ length: BATCH }, () => rng.int(CLASSES));
  const target = labels.map((c) => Array.from({ length: CLASSES }, (_, j) => j === c ? 1 : 0));
  return { tree, task, phi, logits, target, alternative: labels };
}

/** The engine's loss and its gradient with respect to the logits. */
function engine(c: Case): { value: number; grad: number[] } {
  return tf.tidy(() => {
    const loss = compileLoss(c.tree, c.task);
    const target = tf.tensor2d(c.target);
    const phi = tf.tensor1d(c.phi);
    const f = (z: tf.Tensor) => loss(z as tf.Tensor2D, target, phi);
    const logits = tf.tensor2d(c.logits);
    return {
      value: f(logits).dataSync()[0],
      // tf.grad throws when nothing leads from the logits to the loss (a tree without fx).
      grad: c.tree.includes("fx")
        ? Array.from(tf.grad(f)(logits).dataSync())
        : Array(logits.size).fill(0),
    };
  });
}

const DRIVER = `
import importlib.util, json, math, sys
import torch

def finite(x):
    return x if math.isfinite(x) else None

out = []
for i, c in enumerate(json.load(open(sys.argv[1]))):
    spec = importlib.util.spec_from_file_location(f"loss_{i}", c["path"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logits = torch.tensor(c["logits"], dtype=torch.float32, requires_grad=True)
    loss = module.learned_loss(logits, torch.tensor(c["target"], dtype=torch.float32))
    # A loss that ignores the logits has no graph: its gradient is zero.
    grad = torch.autograd.grad(loss, logits)[0] if loss.requires_grad else torch.zeros_like(logits)
    alt = torch.tensor(c["alternative"], dtype=torch.long if c["task"] == "classification" else torch.float32)
    z = logits.detach()
    none = module.learned_loss(z, alt, reduction="none")
    extra = {
        # The module is the function; 'sum' and 'none' reduce as PyTorch's losses do.
        "module": finite(module.LearnedLoss()(z, alt).item()),
        "sum": finite(module.learned_loss(z, alt, reduction="sum").item()),
        "none_shape": list(none.shape),
        "none_mean": finite(none.mean().item()),
    }
    if c["task"] == "classification":
        # From probabilities, and with the classes along dim 1 of an (N, C, H, W) layout:
        # the rows become the pixels of a 2 x 3 image per example.
        extra["probabilities"] = finite(module.learned_loss(torch.softmax(z, -1), alt, from_logits=False).item())
        n, k = z.shape
        image = z.reshape(n // 6, 6, k).permute(0, 2, 1).reshape(n // 6, k, 2, 3)
        labels = alt.reshape(n // 6, 2, 3)
        extra["nchw"] = finite(module.LearnedLoss(dim=1)(image, labels).item())
        extra["nchw_none_shape"] = list(module.learned_loss(image, labels, reduction="none").shape)
        try:
            module.learned_loss(z, alt[:-1])
            extra["refused"] = False
        except ValueError:
            extra["refused"] = True
    out.append({
        "value": finite(loss.item()),
        "grad": [finite(g) for g in grad.flatten().tolist()],
        "alternative": finite(module.learned_loss(z, alt).item()),
        "float64": finite(module.learned_loss(z.double(), alt).item()),
        **extra,
    })
print(json.dumps(out))
`;

interface TorchResult {
  value: number | null;
  grad: (number | null)[];
  alternative: number | null;
  float64: number | null;
  module: number | null;
  sum: number | null;
  none_shape: number[];
  none_mean: number | null;
  probabilities?: number | null;
  nchw?: number | null;
  nchw_none_shape?: number[];
  refused?: boolean;
}

/** Writes each case's export and runs them all in one Python process. */
async function runTorch(cases: Case[]): Promise<TorchResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "lossmith_export_pytorch_" });
  try {
    const inputs = await Promise.all(cases.map(async (c, i) => {
      const path = `${dir}/loss_${i}.py`;
      await Deno.writeTextFile(path, exportPytorch(c));
      return { path, task: c.task, logits: c.logits, target: c.target, alternative: c.alternative };
    }));
    await Deno.writeTextFile(`${dir}/cases.json`, JSON.stringify(inputs));
    await Deno.writeTextFile(`${dir}/driver.py`, DRIVER);
    const { success, stdout, stderr } = await new Deno.Command(PYTHON, {
      args: [`${dir}/driver.py`, `${dir}/cases.json`],
      env: { OMP_NUM_THREADS: "1" }, // torch's thread pool start-up costs more than it saves here
    }).output();
    const text = new TextDecoder();
    assert(success, `python failed:\n${text.decode(stderr)}`);
    return JSON.parse(text.decode(stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** |a - b| relative to |b|, with |b| floored at `floor`: near zero a relative error measures
 * float32 noise (a sum that cancels, a gradient entry of 1e-9), not a mismatch. */
function relErr(a: number | null, b: number, floor: number): number {
  return a === null ? Infinity : Math.abs(a - b) / Math.max(floor, Math.abs(b));
}

function allCases(): Case[] {
  const rng = new Rng(2024);
  const cases = [
    ...CLASSIFICATION.map((t) => makeCase(rng, parseInfix(t), "classification")),
    ...REGRESSION.map((t) => makeCase(rng, parseInfix(t), "regression")),
  ];
  // Random trees as well, for combinations nobody thought of; height 5 keeps them in float32
  // range, and the few that still overflow are dropped below.
  for (const [i, tree] of randomTrees(7, 40, 5).entries()) {
    cases.push(makeCase(rng, tree, i % 2 === 0 ? "classification" : "regression"));
  }
  return cases;
}

Deno.test({
  name: "PyTorch export: value and gradient equal the engine's, every primitive, both tasks",
  ignore: !hasTorch,
  fn: async () => {
    const cases = allCases();
    const want = cases.map(engine);
    const got = await runTorch(cases);
    let compared = 0;
    cases.forEach((c, i) => {
      const { value, grad } = want[i];
      const finite = [value, ...grad].every((v) => Number.isFinite(v) && Math.abs(v) < 1e6);
      const hand = i < CLASSIFICATION.length + REGRESSION.length;
      if (!finite) {
        assert(!hand, `hand-written case ${i} overflowed in the engine`);
        return; // float32 overflow territory, where agreement means nothing
      }
      compared++;
      const what = `${c.task} ${JSON.stringify(c.tree)}`;
      const { value: v, float64 } = got[i];
      assertLess(relErr(v, value, 1e-3), 1e-5, `value of ${what}: ${v} vs ${value}`);
      // Entries relative to the largest one: the small ones are sums that cancel.
      const scale = Math.max(1e-3, ...grad.map(Math.abs));
      grad.forEach((g, j) => {
        assertLess(relErr(got[i].grad[j], g, scale), 1e-4, `gradient ${j} of ${what}`);
      });
      // Class indices and flattened regression targets give the same loss.
      assertEquals(got[i].alternative, v, `alternative target layout of ${what}`);
      // In float64 the export computes the same function with other roundings.
      assertLess(relErr(float64, value, 1e-3), 1e-4, `float64 value of ${what}`);
      const r = got[i];
      assertEquals(r.module, v, `LearnedLoss() is learned_loss, ${what}`);
      // 'sum' adds what 'mean' averages: the examples, or every element for regression.
      const elements = c.task === "classification" ? BATCH : BATCH * OUTPUTS;
      assertLess(relErr(r.sum, elements * value, 1e-3), 1e-5, `reduction='sum' of ${what}`);
      assertEquals(r.none_shape, c.task === "classification" ? [BATCH] : [BATCH, OUTPUTS]);
      assertLess(relErr(r.none_mean, value, 1e-3), 1e-5, `reduction='none' of ${what}`);
      if (c.task === "classification") {
        assertLess(relErr(r.probabilities!, value, 1e-3), 1e-4, `from probabilities, ${what}`);
        assertLess(relErr(r.nchw!, value, 1e-3), 1e-5, `(N, C, H, W) layout of ${what}`);
        assertEquals(r.nchw_none_shape, [BATCH / 6, 2, 3]);
        assertEquals(r.refused, true, "a target that fits no layout is refused");
      }
    });
    assertLess(cases.length - compared, 5, "too many random trees overflowed to test anything");
  },
});

Deno.test("PyTorch export: only torch is imported; every weight is written in full", () => {
  const tree = parseInfix("div(y * log(f(x)), max(sqrt(f(x)), 2.5))");
  const phi = tree.map((_, k) => Math.fround(1 + 0.001 * k));
  const source = exportPytorch({ tree, phi, task: "classification" });
  const imports = source.split("\n").filter((l) => /^\s*(import|from)\s/.test(l));
  assertEquals(imports, ["import torch"]);
  // String() of the float64 holding a float32 is its shortest round-trip spelling, as repr.
  for (const w of phi.slice(1)) assert(source.includes(` * ${String(w)}`), `weight ${w}`);
  assert(source.includes("torch.full_like(fx, 2.5)"));
  assert(source.includes(`# L = div(`), "the formula as a comment");
});
