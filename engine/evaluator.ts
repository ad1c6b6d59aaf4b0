/**
 * The tensor work for one candidate loss: rejection screen and gradient signature, local search
 * of phi by unrolled differentiation, and fitness by partial training. Each result depends only
 * on the tree, the settings, the data and the search seed, never on which worker ran it or in
 * what order, so a search gives the same answer however its candidates are scheduled.
 */
import { tf } from "./tensor/tf.ts";
import { compute, read } from "./tensor/backend.ts";
import { type BatchLoss, compileLoss, initialPhi } from "./metaloss.ts";
import { forward, initialValues, type ModelSpec, type Params, toParams } from "./models.ts";
import {
  type Batch,
  hypergradient,
  lossGradients,
  standardLoss,
  taskLoss,
  taskMetric,
  tidyKeep,
  trainSgd,
  unrolledTaskLoss,
} from "./train.ts";
import { BatchSource, type LabeledRows, outputCount } from "./batches.ts";
import { stackedFitness, stackedHypergradients } from "./stacked.ts";
import {
  type FitnessResult,
  type LocalSearchResult,
  type ScreenResult,
  WORST_FITNESS,
} from "../core/runner.ts";
import type { EvaluationSettings } from "../core/settings.ts";
import type { Task } from "../core/data/dataset.ts";
import type { Tree } from "../core/expr/tree.ts";
import { Rng } from "../core/rng.ts";
import { concatRows, foldIndices, foldSplits } from "../core/data/folds.ts";

/**
 * Where fitness trains and validates: the training split and the validation split, or, for a
 * small validation split (`evaluation.folds`), each of k folds of the two pooled.
 */
interface FitnessSet {
  train: BatchSource;
  validation: Batch;
  n: number;
}

export interface TrainingData {
  task: Task;
  nClasses?: number;
  train: LabeledRows;
  validation: LabeledRows;
}

/** Adam's defaults; phi has a few dozen entries, so its update runs on the host. */
class HostAdam {
  #m: Float64Array;
  #v: Float64Array;
  #t = 0;
  constructor(size: number, private lr: number) {
    this.#m = new Float64Array(size);
    this.#v = new Float64Array(size);
  }
  step(params: number[], grad: ArrayLike<number>): number[] {
    const b1 = 0.9, b2 = 0.999, eps = 1e-8;
    this.#t++;
    return params.map((p, i) => {
      this.#m[i] = b1 * this.#m[i] + (1 - b1) * grad[i];
      this.#v[i] = b2 * this.#v[i] + (1 - b2) * grad[i] * grad[i];
      const mHat = this.#m[i] / (1 - b1 ** this.#t);
      const vHat = this.#v[i] / (1 - b2 ** this.#t);
      return p - this.lr * mHat / (Math.sqrt(vHat) + eps);
    });
  }
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/** Where the screen's optimised predictions stand at the start, at 3/4 and at the end. */
interface ScreenMarks {
  start: number;
  late: number;
  end: number;
}

/**
 * Regression: the predictions must cover at least this share of the distance the steps could
 * cover (all of it, or about the learning rate per step when that is less).
 */
const SCREEN_MARGIN = 0.25;
/** Within this share of the starting distance, the predictions have arrived. */
const SCREEN_ARRIVED = 0.1;
/**
 * Until they arrive, the last quarter of the steps must gain at least this share of what an
 * earlier quarter gained on average: a biased loss stops gaining where its minimum is, while an
 * unbiased one is still approaching when the steps run out (Adam moves each prediction by about
 * its learning rate per step, so a short screen ends before the targets).
 */
const SCREEN_STALL = 0.1;

/** No longer gaining: the last quarter's gain is small against the earlier quarters'. */
const stalled = (m: ScreenMarks) => m.late - m.end < (SCREEN_STALL * (m.start - m.late)) / 3;

/**
 * Why a classification loss is biased, if it is: the optimised predictions must put the largest
 * probability on the true class of every example, or still be getting there (the MNIST preset's
 * 100 steps leave a third of them wrong even under cross-entropy).
 */
function classificationBias(m: ScreenMarks, errorAfter: number): string | undefined {
  if (errorAfter === 0 || !stalled(m)) return undefined;
  return `optimised predictions put the largest probability on the true class of only ${
    Number((100 * (1 - errorAfter)).toPrecision(3))
  }% of the examples, and no longer gain`;
}

export class CandidateEvaluator {
  readonly task: Task;
  readonly spec: ModelSpec;
  readonly settings: EvaluationSettings;
  readonly seed: number;
  readonly train: BatchSource;
  readonly validation: BatchSource;
  /** The one initialisation every candidate's fitness training starts from. */
  readonly #fitnessInit: Params;
  readonly #fitnessSets: FitnessSet[];
  /** The standard loss's gradient norm at the shared initialisation (probe batch), once. */
  #standardNorm?: number;

  constructor(data: TrainingData, spec: ModelSpec, settings: EvaluationSettings, seed: number) {
    this.task = data.task;
    this.spec = spec;
    this.settings = settings;
    this.seed = seed;
    const outputs = outputCount(data.task, data.nClasses);
    this.train = new BatchSource(data.task, data.train, outputs, settings.batchSize, seed);
    this.validation = new BatchSource(
      data.task,
      data.validation,
      outputs,
      settings.batchSize,
      seed + 1,
    );
    this.#fitnessInit = toParams(spec, initialValues(spec, this.#uniform(seed)));
    this.#fitnessSets = this.#foldSets(data, outputs) ??
      [{ train: this.train, validation: this.validation.all, n: data.validation.n }];
  }

  /** The k folds when the validation split is smaller than `folds.belowRows`, else none. */
  #foldSets(data: TrainingData, outputs: number): FitnessSet[] | undefined {
    const folds = this.settings.folds;
    if (!folds || data.validation.n >= folds.belowRows) return undefined;
    const pooled = concatRows(data.train, data.validation);
    if (pooled.n < 2 * folds.k) return undefined;
    const labels = data.task === "classification" ? pooled.y : undefined;
    const splits = foldSplits(pooled, foldIndices(labels, pooled.n, folds.k, this.seed + 31));
    return splits.map((s, f) => ({
      train: new BatchSource(data.task, s.train, outputs, this.settings.batchSize, this.seed + f),
      validation: new BatchSource(data.task, s.validation, outputs, s.validation.n).all,
      n: s.validation.n,
    }));
  }

  /** Fitness is measured on k folds (small validation split), not on the validation split. */
  get folds(): number {
    return this.#fitnessSets.length > 1 ? this.#fitnessSets.length : 0;
  }

  #uniform(seed: number): () => number {
    const rng = new Rng(seed);
    return () => rng.next();
  }

  /**
   * Rejection screen (method.md, step 2): the untrained model's predictions on a few training
   * examples become free parameters, optimised under the plain loss with Adam. If the task metric
   * does not improve, the loss cannot teach anything. The same predictions give the gradient
   * signature for the equivalence check (step 3).
   */
  async screen(tree: Tree): Promise<ScreenResult> {
    const { screen, gradientEquivalence } = this.settings;
    const loss = compileLoss(tree, this.task);
    const ones = tf.ones([tree.length]) as tf.Tensor1D;
    const probe = this.train.head(Math.max(screen.examples, gradientEquivalence.probeSize));
    const start = tf.tidy(() => forward(this.spec, this.#fitnessInit, probe.x));
    try {
      let gradientSignature: string | undefined;
      if (gradientEquivalence.enabled) {
        const norms = await compute(() => {
          const z = tf.slice(start, 0, gradientEquivalence.probeSize);
          const y = tf.slice(probe.y, 0, gradientEquivalence.probeSize);
          // The batch mean scales every example's gradient alike; scale back to per-example.
          const g = tf.grad((zz: tf.Tensor) => loss(zz as tf.Tensor2D, y, ones))(z);
          return tf.mul(tf.norm(g, "euclidean", 1), z.shape[0]);
        });
        if (!allFinite(norms)) {
          return {
            rejected: true,
            reason: "gradient not finite",
            metricBefore: NaN,
            metricAfter: NaN,
          };
        }
        gradientSignature = Array.from(norms, (v) => v.toFixed(gradientEquivalence.decimals)).join(
          ",",
        );
      }
      if (!screen.enabled) {
        return { rejected: false, metricBefore: NaN, metricAfter: NaN, gradientSignature };
      }
      const z0 = tf.slice(start, 0, screen.examples) as tf.Tensor2D;
      const y = tf.slice(probe.y, 0, screen.examples) as tf.Tensor2D;
      try {
        const [metricBefore] = await compute(() => taskMetric(this.task, z0, y));
        const path = await this.#screenPath(loss, ones, z0, y);
        const [metricAfter] = await compute(() => taskMetric(this.task, path.end, y));
        path.end.dispose();
        const improved = Number.isFinite(metricAfter) &&
          (metricAfter < metricBefore || (metricBefore === 0 && metricAfter === 0));
        const reason = !improved
          ? "optimising predictions under this loss did not improve the task metric"
          : this.task === "regression"
          ? await this.#regressionBias(loss, ones, y, path.marks)
          : classificationBias(path.marks, metricAfter);
        return {
          rejected: reason !== undefined,
          reason,
          metricBefore,
          metricAfter,
          gradientSignature,
        };
      } finally {
        tf.dispose([z0, y]);
      }
    } finally {
      tf.dispose([ones, probe.x, probe.y, start]);
    }
  }

  /**
   * Adam on the predictions z under the plain loss, from `z0`, for the screen's steps. `marks`
   * is how far they are from where they should be, at the start, at 3/4 of the steps and at the
   * end: for regression their RMS distance from the targets, for classification the mean
   * shortfall of the true class's logit below the largest other one (0 where the true class is
   * the most probable), which keeps moving where the error rate, counted in whole examples, may
   * not.
   */
  async #screenPath(
    loss: BatchLoss,
    ones: tf.Tensor1D,
    z0: tf.Tensor2D,
    y: tf.Tensor2D,
  ): Promise<{ end: tf.Tensor2D; marks: ScreenMarks }> {
    const { steps, lr } = this.settings.screen;
    const where = async (z: tf.Tensor2D) =>
      (await compute(() => {
        if (this.task === "regression") return tf.sqrt(tf.mean(tf.square(tf.sub(z, y))));
        const own = tf.sum(tf.mul(z, y), 1);
        // The true class masked out of the largest logit by pushing it far below the rest.
        const others = tf.max(tf.sub(z, tf.mul(y, 1e9)), 1);
        return tf.mean(tf.relu(tf.sub(others, own)));
      }))[0];
    const z = tf.variable(z0);
    const optimizer = tf.train.adam(lr);
    const marks = { start: await where(z0), late: NaN, end: NaN };
    const late = Math.floor((3 * steps) / 4);
    if (late === 0) marks.late = marks.start;
    for (let i = 1; i <= steps; i++) {
      optimizer.minimize(() => loss(z as tf.Tensor2D, y, ones));
      if (i === late) marks.late = await where(z);
    }
    marks.end = await where(z);
    optimizer.dispose();
    const end = tf.clone(z) as tf.Tensor2D;
    z.dispose();
    return { end, marks };
  }

  /**
   * Why a regression loss is biased, if it is: predictions optimised under it must end closer
   * to the targets by a real margin, and keep approaching them until they have arrived; and
   * predictions that start at the targets must stay there. `f (f - y)`, smallest at f = y/2,
   * fails all three; squared and absolute error pass.
   */
  async #regressionBias(
    loss: BatchLoss,
    ones: tf.Tensor1D,
    y: tf.Tensor2D,
    m: ScreenMarks,
  ): Promise<string | undefined> {
    const rms = (v: number) => Number(v.toPrecision(3));
    // Adam moves each prediction by about its learning rate per step: the screen's steps can
    // cover at most that much of the distance.
    const { steps, lr } = this.settings.screen;
    const reachable = Math.min(m.start, steps * lr);
    if (!(m.start - m.end >= SCREEN_MARGIN * reachable)) {
      return `optimised predictions did not approach the targets: RMS distance ${
        rms(m.start)
      } at the start, ${rms(m.end)} at the end`;
    }
    if (m.end > SCREEN_ARRIVED * m.start && stalled(m)) {
      return `optimised predictions stopped short of the targets, at RMS distance ${
        rms(m.end)
      } (from ${rms(m.start)})`;
    }
    const fromTargets = await this.#screenPath(loss, ones, y, y);
    fromTargets.end.dispose();
    if (fromTargets.marks.end > SCREEN_ARRIVED * m.start) {
      return `predictions started at the targets move away from them (RMS distance ${
        rms(fromTargets.marks.end)
      }): the loss is not smallest at the targets`;
    }
    return undefined;
  }

  /**
   * Local search (method.md, step 4): each meta-step starts a freshly initialised model, takes
   * T differentiable SGD steps under L_phi, measures the task loss on a validation batch and
   * moves phi by Adam along the hypergradient. Initialisations and batches depend on the meta-step
   * number only, so every candidate sees the same sequence.
   */
  async localSearch(tree: Tree, phiSeed: number): Promise<LocalSearchResult> {
    const phi = this.initialPhi(tree, phiSeed);
    if (!this.settings.localSearch.enabled) {
      return { phi: phi.map(() => 1), metaLosses: [], steps: 0 };
    }
    return await this.localSearchOf(compileLoss(tree, this.task), phi);
  }

  /** A candidate's weights before local search, from its seed (method.md). */
  initialPhi(tree: Tree, phiSeed: number): number[] {
    const noise = new Rng(phiSeed);
    return Array.from(initialPhi(tree.length, () => noise.normal()));
  }

  /**
   * The model, training batches and validation batch of meta-step s, the same for every
   * candidate. The caller disposes them.
   */
  #metaStepData(s: number): { theta0: Params; batches: Batch[]; validation: Batch } {
    const T = this.settings.localSearch.unrollSteps;
    return {
      theta0: toParams(
        this.spec,
        initialValues(this.spec, this.#uniform(this.seed + 7919 * (s + 1))),
      ),
      batches: Array.from({ length: T }, (_, t) => this.train.batch(s * T + t)),
      validation: this.validation.batch(s),
    };
  }

  /**
   * The local search loop for any parameterised loss (a symbolic tree's weights, or ML3's
   * network): `metaSteps` hypergradient steps of Adam on phi from `phi0`, whatever
   * `localSearch.enabled` says. Shared so that every learned loss is tuned the same way.
   */
  async localSearchOf(
    loss: BatchLoss,
    phi0: number[],
    metaSteps?: number,
  ): Promise<LocalSearchResult> {
    const { localSearch, inner } = this.settings;
    let phi = phi0;
    const metaLosses: number[] = [];
    const adam = new HostAdam(phi.length, localSearch.metaLr);
    let steps = 0;
    for (let s = 0; s < (metaSteps ?? localSearch.metaSteps); s++) {
      const { value, grad } = tidyKeep(() => {
        const { theta0, batches, validation } = this.#metaStepData(s);
        const f = unrolledTaskLoss(
          this.spec,
          this.task,
          loss,
          inner,
          theta0,
          batches,
          validation,
          localSearch.unroll,
          tf.tensor1d(phi),
        );
        return hypergradient(f, tf.tensor1d(phi));
      });
      const [v, g] = [(await read(value))[0], await read(grad)];
      tf.dispose([value, grad]);
      if (!Number.isFinite(v) || !allFinite(g)) break;
      metaLosses.push(v);
      phi = adam.step(phi, g);
      steps++;
    }
    return { phi, metaLosses, steps };
  }

  /**
   * `localSearch` of several candidates at once, their unrolled steps stacked
   * (engine/stacked.ts): the same results, for the stackable model kinds (core/model_kinds.ts). A candidate
   * whose hypergradient is not finite stops there, as alone, and leaves the stack.
   */
  async localSearchStacked(trees: Tree[], phiSeeds: number[]): Promise<LocalSearchResult[]> {
    const { localSearch, inner } = this.settings;
    const results: LocalSearchResult[] = trees.map((tree, i) => ({
      phi: this.initialPhi(tree, phiSeeds[i]),
      metaLosses: [],
      steps: 0,
    }));
    if (!localSearch.enabled) {
      return results.map((r) => ({ ...r, phi: r.phi.map(() => 1) }));
    }
    const losses = trees.map((tree) => compileLoss(tree, this.task));
    const adams = trees.map((tree) => new HostAdam(tree.length, localSearch.metaLr));
    let alive = trees.map((_, i) => i);
    for (let s = 0; s < localSearch.metaSteps && alive.length > 0; s++) {
      const { values, grads } = tidyKeep(() => {
        const { theta0, batches, validation } = this.#metaStepData(s);
        const r = stackedHypergradients(
          this.task,
          alive.map((c) => losses[c]),
          alive.map((c) => tf.tensor1d(results[c].phi)),
          inner,
          theta0,
          batches,
          validation,
          localSearch.unroll,
        );
        return { values: r.values, grads: tf.concat(r.grads) };
      });
      const [v, g] = [await read(values), await read(grads)];
      tf.dispose([values, grads]);
      let offset = 0;
      alive = alive.filter((c, j) => {
        const r = results[c];
        const gj = g.subarray(offset, offset + r.phi.length);
        offset += r.phi.length;
        if (!Number.isFinite(v[j]) || !allFinite(gj)) return false;
        r.metaLosses.push(v[j]);
        r.phi = adams[c].step(r.phi, gj);
        r.steps++;
        return true;
      });
    }
    return results;
  }

  /**
   * The scale that gives a tuned loss the standard loss's gradient norm (over all the model's
   * parameters) at the shared fitness initialisation, on the probe batch: `normalizeScale`
   * multiplies the loss by it, so that a larger scale cannot act as a larger learning rate.
   * Undefined where the loss's gradient there is zero or not finite: nothing to normalise.
   */
  async lossScale(tree: Tree, phi: number[]): Promise<number | undefined> {
    const probe = this.train.head(this.settings.gradientEquivalence.probeSize);
    const phiT = tf.tensor1d(phi);
    const norm = (loss: BatchLoss) =>
      compute(() => {
        const g = lossGradients(this.spec, loss, phiT, this.#fitnessInit, probe);
        return tf.sqrt(tf.addN(g.map((gi) => tf.sum(tf.square(gi)))));
      }).then((v) => v[0]);
    try {
      this.#standardNorm ??= await norm(standardLoss(this.task));
      const own = await norm(compileLoss(tree, this.task));
      const scale = Math.fround(this.#standardNorm / own);
      return Number.isFinite(scale) && scale > 0 ? scale : undefined;
    } finally {
      tf.dispose([phiT, probe.x, probe.y]);
    }
  }

  /**
   * Fitness (method.md, step 5): partial training from the shared initialisation, `steps` long
   * (the setting's, a longer rung's, or the stacking calibration's).
   */
  fitness(tree: Tree, phi: number[], steps = this.settings.fitnessSteps): Promise<FitnessResult> {
    return this.fitnessOf(compileLoss(tree, this.task), phi, steps);
  }

  /**
   * `fitness` of several candidates trained together (engine/stacked.ts): the same results, for
   * the stackable model kinds (core/model_kinds.ts).
   */
  async fitnessStacked(
    trees: Tree[],
    phis: number[][],
    steps = this.settings.fitnessSteps,
  ): Promise<FitnessResult[]> {
    const perSet: FitnessResult[][] = [];
    for (const set of this.#fitnessSets) {
      perSet.push(
        await stackedFitness(
          this.spec,
          this.task,
          trees,
          phis,
          this.#fitnessInit,
          set.train,
          set.validation,
          steps,
          this.settings.inner,
        ),
      );
    }
    return trees.map((_, c) => this.#pooled(perSet.map((r) => r[c])));
  }

  /** Fitness of any parameterised loss, as `fitness` measures a tree's. */
  async fitnessOf(
    loss: BatchLoss,
    phi: number[],
    steps = this.settings.fitnessSteps,
  ): Promise<FitnessResult> {
    const results: FitnessResult[] = [];
    for (const set of this.#fitnessSets) {
      const r = await this.#fitnessOn(set, loss, phi, steps);
      results.push(r);
      if (r.diverged) break;
    }
    return this.#pooled(results);
  }

  /**
   * One result from the sets' results: the validation split's own, or the folds' averages
   * weighted by their rows (so an error rate is the share of all pooled rows misclassified).
   */
  #pooled(results: FitnessResult[]): FitnessResult {
    if (results.length === 1) return results[0];
    const steps = results.reduce((a, r) => a + (r.steps ?? 0), 0);
    if (results.length < this.#fitnessSets.length || results.some((r) => r.diverged)) {
      return { fitness: WORST_FITNESS, diverged: true, steps };
    }
    const total = this.#fitnessSets.reduce((a, s) => a + s.n, 0);
    const mean = (f: (r: FitnessResult) => number | undefined) =>
      results.reduce((a, r, i) => a + (f(r) ?? NaN) * this.#fitnessSets[i].n, 0) / total;
    const lossValue = mean((r) => r.taskLoss);
    return {
      fitness: mean((r) => r.fitness),
      diverged: false,
      ...(Number.isFinite(lossValue) ? { taskLoss: lossValue } : {}),
      steps,
    };
  }

  async #fitnessOn(
    set: FitnessSet,
    loss: BatchLoss,
    phi: number[],
    steps: number,
  ): Promise<FitnessResult> {
    const phiT = tf.tensor1d(phi);
    const run = await trainSgd(
      this.spec,
      loss,
      phiT,
      this.#fitnessInit,
      set.train,
      steps,
      this.settings.inner,
    );
    phiT.dispose();
    if (run.diverged) {
      tf.dispose(run.params);
      return { fitness: WORST_FITNESS, diverged: true, steps };
    }
    const measured = tf.tidy(() => {
      const out = forward(this.spec, run.params, set.validation.x);
      return tf.stack([
        taskMetric(this.task, out, set.validation.y),
        taskLoss(this.task, out, set.validation.y),
      ]);
    });
    const [value, lossValue] = await read(measured);
    tf.dispose([measured, ...run.params]);
    if (!Number.isFinite(value)) return { fitness: WORST_FITNESS, diverged: true, steps };
    return Number.isFinite(lossValue)
      ? { fitness: value, diverged: false, taskLoss: lossValue, steps }
      : { fitness: value, diverged: false, steps };
  }

  dispose(): void {
    this.train.dispose();
    this.validation.dispose();
    if (this.#fitnessSets.length > 1) {
      for (const set of this.#fitnessSets) {
        set.train.dispose();
        tf.dispose([set.validation.x, set.validation.y]);
      }
    }
    tf.dispose(this.#fitnessInit);
  }
}
