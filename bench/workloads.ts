/**
 * The workloads of bench/README.md, run through the engine's own code (models,
 * train, metaloss, evaluator, batches): nothing here re-implements a step. Each factory sets up
 * its tensors and returns one repetition plus a teardown. A repetition reads its result back with
 * `await data()`, so on an asynchronous backend the work is really done when it returns.
 */
import { tf } from "../engine/tensor/tf.ts";
import { compileLoss } from "../engine/metaloss.ts";
import { initialValues, type ModelSpec, type Params, toParams } from "../engine/models.ts";
import {
  DEFAULT_INNER_OPTIMIZER,
  hypergradient,
  lossGradients,
  sgdUpdate,
  standardLoss,
  tidyKeep,
  unrolledTaskLoss,
} from "../engine/train.ts";
import { BatchSource, type LabeledRows } from "../engine/batches.ts";
import { CandidateEvaluator, type TrainingData } from "../engine/evaluator.ts";
import { FusedDense } from "../engine/webgpu/dense.ts";
import { fusedDevice } from "../engine/webgpu/device.ts";
import { searchConfig } from "../core/search.ts";

/** The published MNIST settings (plain SGD, a 100-step screen), as a search on MNIST resolves them. */
const MNIST_EVALUATION = searchConfig({ kind: "bundled", name: "mnist" }).evaluation;
import type { EvaluationSettings } from "../core/settings.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";

export const B = 128, D = 784, H = 100, C = 10;
/** Rows of training data, as the PyTorch reference (8 batches). */
export const TRAIN_ROWS = 8 * B;
export const SPEC: ModelSpec = { kind: "mlp", inputs: D, outputs: C, hidden: [H] };
/** LeNet-5 of bench/README.md on 28x28 grey images. */
export const LENET_SPEC: ModelSpec = {
  kind: "lenet5",
  inputs: D,
  outputs: C,
  hidden: [],
  imageShape: [28, 28, 1],
};
/** ResNet-18 (engine/models.ts) on CIFAR-shaped 32x32x3 images: its cost is recorded, no
 * reference (the engine's group normalisation has no PyTorch counterpart here). */
export const RESNET_SPEC: ModelSpec = {
  kind: "resnet18",
  inputs: 32 * 32 * 3,
  outputs: C,
  hidden: [],
  imageShape: [32, 32, 3],
};
export const OPT = DEFAULT_INNER_OPTIMIZER; // plain SGD, lr 0.01

/**
 * The learned loss of bench/README.md as a tree: sum_c[-y * log|f|] + 0.1 * sum_c[(f - y)^2].
 * Node 7 (square) carries weight 0.1 as it is passed up to `add`; every other weight is 1.
 */
export const LEARNED_TREE: Tree = [
  "add",
  "mul",
  -1,
  "mul",
  "y",
  "log",
  "fx",
  "square",
  "sub",
  "fx",
  "y",
];
export const LEARNED_PHI: number[] = LEARNED_TREE.map((_, i) => (i === 7 ? 0.1 : 1));

/** Settings of `mlp_candidate`: MNIST's (screen 100 steps, 250 meta-steps with T = 1, 500 fitness
 * steps, batch 128, plain SGD lr 0.01). The gradient-signature probe is off: the reference has no
 * counterpart (it is one gradient of a 100x10 batch, negligible either way). */
export const CANDIDATE_SETTINGS: EvaluationSettings = {
  ...MNIST_EVALUATION,
  gradientEquivalence: { ...MNIST_EVALUATION.gradientEquivalence, enabled: false },
  batchSize: B,
};

export interface Repetition {
  run: () => Promise<void>;
  dispose: () => void;
  /** The repetition's numeric result, where it has one: to check that a faster variant still
   * computes the same thing (bench/experiments.ts). */
  result?: () => Promise<number[]>;
  /** Steps a repetition counts as one (the fused workloads report per step); default 1. */
  steps?: number;
  /** Figures of the workload besides its time (the fused engine's dispatch counts). */
  figures?: () => Promise<Record<string, number | string>>;
}
export type WorkloadFactory = () => Repetition | Promise<Repetition>;

export interface WorkloadInfo {
  /** Slow workloads get max(1, repeats / 10) repetitions, as in the reference. */
  slow: boolean;
  /** Target ratio ours / PyTorch from the issue, where one is set. */
  target?: number;
  /** Absent: not runnable yet; `note` says why. */
  make?: WorkloadFactory;
  note?: string;
  /** Whether torch_reference.py knows this workload. */
  torch: boolean;
  /** A workload of the fused WebGPU engine: it needs a WebGPU adapter, whatever the backend. */
  fused?: boolean;
}

/** Random data with a fixed seed: features uniform in [0, 1), labels uniform over classes. */
export function randomRows(n: number, seed: number, d = D): LabeledRows {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * d }, () => rng.next());
  const y = Float32Array.from({ length: n }, () => rng.int(C));
  return { x, y, n, d };
}

function freshParams(seed: number, spec = SPEC): Params {
  const rng = new Rng(seed);
  return toParams(spec, initialValues(spec, () => rng.next()));
}

/** Unshuffled batches: batch t is rows [tB, (t+1)B) for t < 7, as the reference slices. */
function batchSource(spec: ModelSpec = SPEC): BatchSource {
  return new BatchSource("classification", randomRows(TRAIN_ROWS, 1, spec.inputs), C, B);
}

/** One SGD step under cross-entropy; the parameters persist across repetitions. */
export function trainStep(spec: ModelSpec): Repetition {
  const source = batchSource(spec);
  const loss = standardLoss("classification");
  const phi = tf.tensor1d([1]); // ignored by the standard loss
  let params = freshParams(2, spec);
  return {
    run: async () => {
      const batch = source.batch(0);
      const next = tidyKeep(() =>
        sgdUpdate({ params, velocity: [] }, lossGradients(spec, loss, phi, params, batch), OPT)
          .params
      );
      tf.dispose([...params, batch.x, batch.y]);
      params = next;
      await params[params.length - 1].data();
    },
    dispose: () => {
      tf.dispose([...params, phi]);
      source.dispose();
    },
  };
}

/** d CE(validation batch) / d phi through `inner` differentiable SGD steps from fixed weights. */
export function unroll(spec: ModelSpec, inner: number): Repetition {
  const source = batchSource();
  const loss = compileLoss(LEARNED_TREE, "classification");
  const phi = tf.tensor1d(LEARNED_PHI);
  const theta0 = freshParams(2, spec);
  const once = async () => {
    const { value, grad } = tidyKeep(() => {
      const batches = Array.from({ length: inner }, (_, t) => source.batch(t));
      const validation = source.batch(inner);
      const f = unrolledTaskLoss(spec, "classification", loss, OPT, theta0, batches, validation);
      return hypergradient(f, phi);
    });
    const g = await grad.data();
    tf.dispose([value, grad]);
    return Array.from(g);
  };
  return {
    run: async () => void (await once()),
    result: once,
    dispose: () => {
      tf.dispose([...theta0, phi]);
      source.dispose();
    },
  };
}

/** The evaluator of the MNIST-shaped candidate workloads (and bench/fused.ts's). */
export function evaluator(): CandidateEvaluator {
  const data: TrainingData = {
    task: "classification",
    nClasses: C,
    train: randomRows(TRAIN_ROWS, 1),
    validation: randomRows(B, 3),
  };
  return new CandidateEvaluator(data, SPEC, CANDIDATE_SETTINGS, 0);
}

/** One candidate's fitness: 500 SGD steps under the learned loss, then the validation error. */
export function mlpFitness500(): Repetition {
  const ev = evaluator();
  return {
    run: async () => void (await ev.fitness(LEARNED_TREE, LEARNED_PHI)),
    dispose: () => ev.dispose(),
  };
}

/** One whole candidate: screen, local search, fitness with the tuned phi. All three always run
 * (as in the reference), whatever the screen decides. */
export function mlpCandidate(): Repetition {
  const ev = evaluator();
  return {
    run: async () => {
      await ev.screen(LEARNED_TREE);
      const { phi } = await ev.localSearch(LEARNED_TREE, 11);
      await ev.fitness(LEARNED_TREE, phi);
    },
    dispose: () => ev.dispose(),
  };
}

/** Stacks the fused workloads train: one candidate, and K of a generation. */
export const STACKS = [1, 4, 16, 25, 64];
/** Meta-steps and SGD steps per repetition of the fused workloads (as torch_reference.py). */
export const FUSED_META_STEPS = 5;
export const FUSED_FITNESS_STEPS = 10;

/**
 * K candidates on the fused WebGPU engine (engine/webgpu/dense.ts): the first few meta-steps of
 * their local searches (`meta`), or SGD steps of their fitness trainings, all in one stack;
 * each candidate the stand-in loss. Timed per step of all K. Its figures: dispatches per step
 * (the same for every K), and, from runs of the same dispatches with no workgroups (so with no
 * GPU work at all), the CPU's cost of recording and submitting one dispatch and the host's whole
 * time per step.
 */
export async function fused(phase: "meta" | "fitness", k: number): Promise<Repetition> {
  const fd = await fusedDevice();
  if (!fd) throw new Error("no WebGPU adapter: the fused engine cannot run here");
  const ev = evaluator();
  const make = (dry: boolean, perSubmit?: number) =>
    new FusedDense(fd, SPEC, "classification", ev.train, ev.validation, CANDIDATE_SETTINGS, 0, {
      dry,
      ...(perSubmit ? { stepsPerSubmit: perSubmit, metaStepsPerSubmit: perSubmit } : {}),
    });
  const engine = make(false);
  const trees = Array.from({ length: k }, () => LEARNED_TREE);
  const phis = trees.map(() => LEARNED_PHI);
  const steps = phase === "meta" ? FUSED_META_STEPS : FUSED_FITNESS_STEPS;
  const once = async (e: FusedDense) => {
    if (phase === "meta") await e.localSearch(trees, phis, steps);
    else await e.fitness(trees, phis, steps);
  };
  return {
    run: () => once(engine),
    steps,
    figures: async () => {
      // The CPU's cost per dispatch from a long run with no workgroups, submitted every few
      // steps, its first submission left out: that is where the run's new buffers are zeroed.
      const dry = make(true, Math.ceil(steps / 2));
      await once(dry);
      const t0 = performance.now();
      await once(dry);
      const ms = performance.now() - t0;
      if (phase === "meta") await dry.localSearch(trees, phis, 8 * steps);
      else await dry.fitness(trees, phis, 8 * steps);
      const { dispatches, encodeMs, submitMs, firstSubmit } = dry.last;
      dry.dispose();
      const first = firstSubmit ?? { ms: 0, dispatches: 0 };
      const usPerDispatch = (1000 * (encodeMs + submitMs - first.ms)) /
        (dispatches - first.dispatches);
      const perStep = engine.dispatchesPerStep;
      return {
        adapter: fd.adapter,
        dispatches_per_step: phase === "meta" ? perStep.metaStep : perStep.fitnessStep,
        // Recording and submitting, GPU work none: what a dispatch costs the CPU anywhere.
        cpu_us_per_dispatch: Number(usPerDispatch.toFixed(1)),
        // All the host's work per step, a run's fixed costs and each meta-step's initial
        // parameters included.
        host_ms_per_step: Number((ms / steps).toFixed(2)),
        compile_ms: Math.round(engine.cache.compileMs),
      };
    },
    dispose: () => {
      engine.dispose();
      ev.dispose();
    },
  };
}

export const WORKLOADS: Record<string, WorkloadInfo> = {
  mlp_step: { slow: false, target: 2, make: () => trainStep(SPEC), torch: true },
  mlp_unroll5: { slow: false, target: 2, make: () => unroll(SPEC, 5), torch: true },
  mlp_fitness500: { slow: true, target: 2, make: mlpFitness500, torch: true },
  mlp_candidate: { slow: true, make: mlpCandidate, torch: true },
  lenet_step: { slow: false, target: 2, make: () => trainStep(LENET_SPEC), torch: true },
  lenet_unroll1: { slow: false, target: 2, make: () => unroll(LENET_SPEC, 1), torch: true },
  resnet18_step: { slow: true, make: () => trainStep(RESNET_SPEC), torch: false },
  ...Object.fromEntries(
    (["meta", "fitness"] as const).flatMap((phase) =>
      STACKS.map((k): [string, WorkloadInfo] => [
        `fused_${phase}_k${k}`,
        { slow: k > 1, make: () => fused(phase, k), torch: true, fused: true },
      ])
    ),
  ),
};

/** All but ResNet-18's step: seconds on a CPU, asked for by name (bench/device/fused.sh). */
export const DEFAULT_WORKLOADS = Object.keys(WORKLOADS).filter((w) => w !== "resnet18_step");
