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

export class CandidateEvaluator {
  readonly task: Task;
  readonly spec: ModelSpec;
  readonly settings: EvaluationSettings;
  readonly seed: number;
  readonly train: BatchSource;
  readonly validation: BatchSource;
  /** The one initialisation every candidate's fitness training starts from. */
  readonly #fitnessInit: Params;

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
      const [metricBefore] = await compute(() => taskMetric(this.task, z0, y));
      const z = tf.variable(z0);
      const optimizer = tf.train.adam(screen.lr);
      for (let i = 0; i < screen.steps; i++) {
        optimizer.minimize(() => loss(z as tf.Tensor2D, y, ones));
      }
      const [metricAfter] = await compute(() => taskMetric(this.task, z as tf.Tensor2D, y));
      optimizer.dispose();
      tf.dispose([z, z0, y]);
      const improved = Number.isFinite(metricAfter) && metricAfter < metricBefore;
      return {
        rejected: !improved,
        reason: improved
          ? undefined
          : "optimising predictions under this loss did not improve the task metric",
        metricBefore,
        metricAfter,
        gradientSignature,
      };
    } finally {
      tf.dispose([ones, probe.x, probe.y, start]);
    }
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
   * Fitness (method.md, step 5): partial training from the shared initialisation. `steps` other
   * than the setting's is for timing (the stacking calibration), not for a search's fitness.
   */
  fitness(tree: Tree, phi: number[], steps = this.settings.fitnessSteps): Promise<FitnessResult> {
    return this.fitnessOf(compileLoss(tree, this.task), phi, steps);
  }

  /**
   * `fitness` of several candidates trained together (engine/stacked.ts): the same results, for
   * the stackable model kinds (core/model_kinds.ts).
   */
  fitnessStacked(
    trees: Tree[],
    phis: number[][],
    steps = this.settings.fitnessSteps,
  ): Promise<FitnessResult[]> {
    return stackedFitness(
      this.spec,
      this.task,
      trees,
      phis,
      this.#fitnessInit,
      this.train,
      this.validation.all,
      steps,
      this.settings.inner,
    );
  }

  /** Fitness of any parameterised loss, as `fitness` measures a tree's. */
  async fitnessOf(
    loss: BatchLoss,
    phi: number[],
    steps = this.settings.fitnessSteps,
  ): Promise<FitnessResult> {
    const phiT = tf.tensor1d(phi);
    const run = await trainSgd(
      this.spec,
      loss,
      phiT,
      this.#fitnessInit,
      this.train,
      steps,
      this.settings.inner,
    );
    phiT.dispose();
    if (run.diverged) {
      tf.dispose(run.params);
      return { fitness: WORST_FITNESS, diverged: true };
    }
    const metric = tf.tidy(() =>
      taskMetric(
        this.task,
        forward(this.spec, run.params, this.validation.all.x),
        this.validation.all.y,
      )
    );
    const value = (await read(metric))[0];
    tf.dispose([metric, ...run.params]);
    return Number.isFinite(value)
      ? { fitness: value, diverged: false }
      : { fitness: WORST_FITNESS, diverged: true };
  }

  dispose(): void {
    this.train.dispose();
    this.validation.dispose();
    tf.dispose(this.#fitnessInit);
  }
}
