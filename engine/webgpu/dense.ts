/**
 * The fused WebGPU engine for dense models (linear and MLP): local search and fitness of a whole
 * stack of K candidates, each meta-step and each SGD step a fixed sequence of dispatches whose
 * number does not depend on K.
 *
 * Everything lives on the device: the job's training and validation rows (uploaded once), the
 * stack's parameters, gradients, velocities, loss weights, Adam state, divergence flags and the
 * values a search reads (meta-losses, loss checks, fitness). Pipelines are compiled once per
 * engine (the network's kernels) or per stack (its loss kernels), bind groups are made once per
 * stack, each step's constants sit in one uniform buffer at a slot chosen by a dynamic offset,
 * many steps go into one submission, and results are read back once, at the end.
 *
 * The hypergradient. With the inner step's parameter gradient g(theta, phi) and the adjoint
 * gbar of g (the direction in which the validation loss J pulls the step's gradient),
 * dJ/dphi_j = <gbar, d g / d phi_j>. The parameter gradient is the network's backward pass of the
 * loss gradient G = dL/dz at the outputs z, so <gbar, d g/d phi_j> = sum_e zdot_e dG_e/dphi_j,
 * where zdot is the forward-mode tangent of the outputs along gbar (one more forward pass,
 * kernels `tangent`). For classification G = S(f) d / B with S the (symmetric) softmax Jacobian
 * and d = dl/df element-wise, so the sum is sum_e fdot_e d(d_e)/dphi_j / B with fdot = S zdot:
 * a mixed second derivative of the element-wise loss, which loss_wgsl.ts derives symbolically.
 * No second derivative with respect to the parameters is needed when gbar itself does not depend
 * on them, which is so for one differentiated step (exact with T = 1, truncated to the last
 * step) and for first-order unrolling; exact unrolling through more steps needs Hessian-vector
 * products, which this engine does not compute: such settings are refused (`fusedRefusal`) and
 * run on tfjs.
 */
import { initialValues, type ModelSpec } from "../models.ts";
import type { BatchSource } from "../batches.ts";
import { denseHidden, isDenseStack } from "../../core/model_kinds.ts";
import type { EvaluationSettings, InnerOptimizer } from "../../core/settings.ts";
import type { Task } from "../../core/data/dataset.ts";
import type { Tree } from "../../core/expr/tree.ts";
import { type FitnessResult, type LocalSearchResult, WORST_FITNESS } from "../../core/runner.ts";
import { Rng } from "../../core/rng.ts";
import {
  type BoundKernel,
  type FusedDevice,
  KernelCache,
  type KernelProfile,
  type KernelSpec,
  NONE,
  readBack,
  STEP_WORDS,
  StepEncoder,
  storage,
} from "./device.ts";
import {
  type Binding,
  elementwise,
  GROUP,
  lit,
  matMul,
  matMulDirect,
  perCandidate,
  type Product,
} from "./kernels.ts";
import { stackFunctions } from "./loss_wgsl.ts";

/** How the stack's loss kernels are compiled: one shader that switches on the candidate, or
 * one shader and one dispatch per candidate (bench/fused.ts measures both). */
export type LossShaders = "switch" | "separate";

/**
 * How matrix products are computed: tiled through workgroup memory (what a GPU wants), or each
 * thread reading its operands directly (what the software adapter runs fastest).
 */
export type Products = "tiled" | "direct";

export interface FusedOptions {
  /** Default: direct on the software adapter, tiled on a GPU. */
  products?: Products;
  lossShaders?: LossShaders;
  /** Meta-steps encoded into one submission (their initial parameters are uploaded together). */
  metaStepsPerSubmit?: number;
  /** SGD steps encoded into one submission. */
  stepsPerSubmit?: number;
  /**
   * Dispatch no workgroups: everything the CPU does, and nothing for the GPU to do, so that a
   * run's wall time is the CPU's cost of its dispatches (bench/workloads.ts); results are void.
   */
  dry?: boolean;
}

/** Validation rows per chunk of the fitness metric. */
const METRIC_ROWS = 1024;
/** Adam's constants, as the host Adam of engine/evaluator.ts. */
const ADAM = { b1: 0.9, b2: 0.999, eps: 1e-8 };

/**
 * How local search unrolls: T steps, of which those from `first` on are differentiated, and
 * whether that needs second derivatives with respect to the parameters (exact or truncated
 * unrolling through more than one step).
 */
function unrollShape(evaluation: EvaluationSettings): { first: number; secondOrder: boolean } {
  const { unroll, unrollSteps: T } = evaluation.localSearch;
  if (unroll.mode === "first-order") return { first: 0, secondOrder: false };
  const differentiated = unroll.mode === "truncated" ? Math.min(unroll.truncateTo, T) : T;
  return { first: T - differentiated, secondOrder: differentiated > 1 };
}

/**
 * Why the fused engine cannot run these settings, or undefined when it can. `validationRows`
 * (absent: unknown) lets k-fold fitness pass where the validation split is large enough that
 * the folds do not apply.
 */
export function fusedRefusal(
  spec: ModelSpec,
  evaluation: EvaluationSettings,
  validationRows?: number,
): string | undefined {
  if (!isDenseStack(spec)) {
    return spec.kind === "sequential"
      ? "the fused engine trains dense stacks only (Dense layers with ReLU between them and a " +
        "linear last one); this sequential model has other layers or activations"
      : `the fused engine trains dense models only, not ${spec.kind}`;
  }
  // What the fused engine does not compute: a fitness over folds; tfjs does, so those searches
  // run there. (A loss's scale comes from the evaluator, engine/candidate_ops.ts, and the fused
  // engine trains the folded tree.)
  const { belowRows } = evaluation.folds;
  if (belowRows > 0 && (validationRows === undefined || validationRows < belowRows)) {
    return "the fused engine measures fitness on the validation split, not over folds";
  }
  const { unroll, unrollSteps } = evaluation.localSearch;
  if (evaluation.localSearch.enabled && unrollShape(evaluation).secondOrder) {
    const through = unroll.mode === "truncated"
      ? Math.min(unroll.truncateTo, unrollSteps)
      : unrollSteps;
    return `the fused engine differentiates one unrolled step, or every step first-order; ` +
      `${unroll.mode} unrolling through ${through} steps needs second derivatives with respect ` +
      `to the parameters, which it does not compute`;
  }
  return undefined;
}

interface Layer {
  /** Inputs, outputs, and where the layer's augmented [inputs + 1, outputs] matrix starts. */
  i: number;
  o: number;
  off: number;
}

/** Where a kernel runs: the phases differ in their rows, their activations and their weights. */
type Phase = "train0" | "train" | "val" | "metric";

/** A compiled kernel of the engine: its pipeline, the names of its buffers and its grid. */
interface Kernel {
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  names: string[];
  grid: (candidates: number) => [number, number, number];
}

type Bound = BoundKernel;

export class FusedDense {
  readonly fd: FusedDevice;
  readonly device: GPUDevice;
  readonly cache: KernelCache;
  readonly spec: ModelSpec;
  readonly task: Task;
  readonly settings: EvaluationSettings;
  readonly seed: number;
  readonly options: Required<FusedOptions>;
  readonly #layers: Layer[];
  /** Parameters of one candidate. */
  readonly #p: number;
  readonly #train: BatchSource;
  readonly #validation: BatchSource;
  readonly #shared: Map<string, GPUBuffer>;
  readonly #kernels = new Map<string, Kernel>();
  /** When set, every dispatch runs alone and its time is charged to its kernel (slow). */
  profile?: KernelProfile;
  /** What the last run recorded: dispatches, and the CPU time spent encoding and submitting. */
  last = {
    dispatches: 0,
    encodeMs: 0,
    submitMs: 0,
    firstSubmit: undefined as { ms: number; dispatches: number } | undefined,
  };
  /** Bytes between two steps' uniform slots: the slot's size, rounded up to the alignment. */
  readonly #stride: number;

  constructor(
    fd: FusedDevice,
    spec: ModelSpec,
    task: Task,
    train: BatchSource,
    validation: BatchSource,
    settings: EvaluationSettings,
    seed: number,
    options: FusedOptions = {},
  ) {
    const refusal = fusedRefusal(spec, settings, validation.n);
    if (refusal) throw new Error(refusal);
    this.fd = fd;
    this.device = fd.device;
    this.cache = new KernelCache(fd.device);
    this.spec = spec;
    this.task = task;
    this.settings = settings;
    this.seed = seed;
    this.options = {
      lossShaders: options.lossShaders ?? "switch",
      products: options.products ?? (fd.fallback ? "direct" : "tiled"),
      metaStepsPerSubmit: options.metaStepsPerSubmit ?? 10,
      stepsPerSubmit: options.stepsPerSubmit ?? 100,
      dry: options.dry ?? false,
    };
    const widths = [
      spec.inputs,
      ...denseHidden(spec)!,
      spec.outputs,
    ];
    let off = 0;
    this.#layers = widths.slice(1).map((o, l) => {
      const layer = { i: widths[l], o, off };
      off += (widths[l] + 1) * o;
      return layer;
    });
    this.#p = off;
    this.#train = train;
    this.#validation = validation;
    const align = fd.device.limits.minUniformBufferOffsetAlignment;
    this.#stride = Math.ceil((STEP_WORDS * 4) / align) * align;
    const t = train.hostRows(), v = validation.hostRows();
    this.#shared = new Map([
      ["xt", storage(this.device, t.x.length, t.x)],
      ["yt", storage(this.device, t.y.length, t.y)],
      ["xv", storage(this.device, v.x.length, v.x)],
      ["yv", storage(this.device, v.y.length, v.y)],
    ]);
  }

  /**
   * Dispatches of one meta-step and of one fitness step with the loss kernels in one shader
   * (the default): they do not depend on the stack's size.
   */
  get dispatchesPerStep(): { metaStep: number; fitnessStep: number } {
    const L = this.#layers.length;
    const T = this.settings.localSearch.unrollSteps;
    const td = this.#firstDifferentiated();
    const sgd = L + 1 + (2 * L - 1);
    const validation = L + 1 + (2 * L - 1);
    const adjoints = (T - td) * (L + 1) + (this.#multiStep() ? T - td : 0) + (T - td - 1) * L;
    return { metaStep: T * sgd + validation + adjoints + 1, fitnessStep: sgd };
  }

  // -------------------------------------------------------------------------------------------
  // Kernels (compiled once per engine; the loss kernels once per stack)

  #kernel(
    key: string,
    make: () => { spec: KernelSpec; grid: Kernel["grid"]; names: string[] },
  ): Kernel {
    const hit = this.#kernels.get(key);
    if (hit) return hit;
    const made = make();
    const { pipeline, layout } = this.cache.pipeline(made.spec);
    const kernel = { key, pipeline, layout, names: made.names, grid: made.grid };
    this.#kernels.set(key, kernel);
    return kernel;
  }

  #rows(phase: Phase): number {
    if (phase === "val") return this.#validation.batchSize;
    if (phase === "metric") return Math.min(METRIC_ROWS, this.#validation.n);
    return this.#train.batchSize;
  }

  /** The activations buffer of layer l's output in a phase, and its stride per candidate. */
  #z(phase: Phase, l: number, kind: "z" | "g" | "zd" = "z"): { name: string; stride: number } {
    const prefix = phase === "val" ? `${kind}v` : phase === "metric" ? `${kind}m` : kind;
    const stride = kind === "z" && phase === "train0" ? 0 : this.#rows(phase) * this.#layers[l].o;
    return { name: `${prefix}${l}`, stride };
  }

  /** WGSL reading the weights of layer l at row p, column n, for candidate k. */
  #weight(phase: Phase, l: number, p: string, n: string): string {
    const { o, off } = this.#layers[l];
    return phase === "train0"
      ? `ti[st.init + ${off}u + (${p}) * ${o}u + ${n}]`
      : `th[st.src + k * ${this.#p}u + ${off}u + (${p}) * ${o}u + ${n}]`;
  }

  /** The weights' binding for a phase. */
  #weightBinding(phase: Phase): Binding {
    return phase === "train0" ? { name: "ti", kind: "read" } : { name: "th", kind: "read" };
  }

  /** WGSL reading layer l's input at row m, column p (the rows, or the ReLU of the layer below). */
  #input(phase: Phase, l: number, m: string, p: string): { code: string; bindings: Binding[] } {
    if (l === 0) {
      const [x, row] = phase === "train0" || phase === "train"
        ? ["xt", "st.row"]
        : ["xv", "st.vrow"];
      return {
        code: `${x}[(${row} + ${m}) * ${this.#layers[0].i}u + ${p}]`,
        bindings: [{ name: x, kind: "read" }],
      };
    }
    const below = this.#z(phase, l - 1);
    return {
      code: `op_relu(${below.name}[k * ${below.stride}u + (${m}) * ${this.#layers[l].i}u + ${p}])`,
      bindings: [{ name: below.name, kind: "read" }],
    };
  }

  /** Z_l = [H_l, 1] W_l for the phase's rows. */
  #forward(phase: Phase, l: number): Kernel {
    return this.#kernel(`fwd:${phase}:${l}`, () => {
      const { i, o } = this.#layers[l];
      const input = this.#input(phase, l, "m", "p");
      const out = this.#z(phase, l);
      const bindings = [...input.bindings, this.#weightBinding(phase), {
        name: out.name,
        kind: "write" as const,
      }];
      const mm = this.#matMul({
        key: `fwd:${phase}:${l}:${this.#shape()}`,
        m: this.#rows(phase),
        n: o,
        kd: i + 1,
        bindings,
        a: `if (p == ${i}u) { return 1.0; } return ${input.code};`,
        b: `return ${this.#weight(phase, l, "p", "n")};`,
        store: `${out.name}[k * ${out.stride}u + m * ${o}u + n] = acc;`,
      });
      return { ...mm, names: bindings.map((b) => b.name) };
    });
  }

  /**
   * dW_l = [H_l, 1]^T G_l. On the validation batch it is stored (abar: the validation loss's
   * gradient, where the hypergradient starts). In a training step it is applied at once, as
   * train.ts's sgdUpdate applies it (PyTorch's momentum, Nesterov and weight decay): theta_l at
   * `dst` from theta_l at `src`, so no gradient buffer and no update dispatch. That is why a
   * step runs the backward product of layer l (which reads W_l) before layer l's update.
   */
  #weightGradient(phase: Phase, l: number): Kernel {
    return this.#kernel(`dw:${phase}:${l}`, () => {
      const { i, o, off } = this.#layers[l];
      const input = this.#input(phase, l, "p", "m");
      const g = this.#z(phase, l, "g");
      const p = this.#p;
      const at = `${off}u + m * ${o}u + n`;
      let store = `abar[k * ${p}u + ${at}] = acc;`;
      const bindings: Binding[] = [...input.bindings, { name: g.name, kind: "read" }];
      if (phase === "val") {
        bindings.push({ name: "abar", kind: "write" });
      } else {
        const { lr, momentum, nesterov, weightDecay } = this.settings.inner;
        const src = phase === "train0" ? `ti[st.init + ${at}]` : `th[st.src + k * ${p}u + ${at}]`;
        const lines = [`let w = ${src};`, `var g = acc;`];
        if (weightDecay !== 0) lines.push(`g = g + w * ${lit(weightDecay)};`);
        let step = "g";
        if (momentum !== 0) {
          lines.push(
            `var v = g;`,
            `if (st.first == 0u) { v = vel[k * ${p}u + ${at}] * ${lit(momentum)} + g; }`,
            `vel[k * ${p}u + ${at}] = v;`,
          );
          step = nesterov ? `(g + v * ${lit(momentum)})` : "v";
        }
        lines.push(`th[st.dst + k * ${p}u + ${at}] = w - ${step} * ${lit(lr)};`);
        store = lines.join("\n        ");
        if (phase === "train0") bindings.push({ name: "ti", kind: "read" });
        bindings.push({ name: "vel", kind: "write" }, { name: "th", kind: "write" });
      }
      const mm = this.#matMul({
        key: `dw:${phase}:${l}:${this.#shape()}:${optimizerKey(this.settings.inner)}`,
        m: i + 1,
        n: o,
        kd: this.#rows(phase),
        bindings,
        a: `if (m == ${i}u) { return 1.0; } return ${input.code};`,
        b: `return ${g.name}[k * ${g.stride}u + p * ${o}u + n];`,
        store,
      });
      return { ...mm, names: bindings.map((b) => b.name) };
    });
  }

  /** G_{l-1} = (G_l W_l^T) * step(Z_{l-1}), l >= 1. */
  #backward(phase: Phase, l: number): Kernel {
    return this.#kernel(`bwd:${phase}:${l}`, () => {
      const { i, o } = this.#layers[l];
      const g = this.#z(phase, l, "g");
      const below = this.#z(phase, l - 1, "g");
      const zBelow = this.#z(phase, l - 1);
      const bindings: Binding[] = [
        { name: g.name, kind: "read" },
        this.#weightBinding(phase),
        { name: zBelow.name, kind: "read" },
        { name: below.name, kind: "write" },
      ];
      const mm = this.#matMul({
        key: `bwd:${phase}:${l}:${this.#shape()}`,
        m: this.#rows(phase),
        n: i,
        kd: o,
        bindings,
        a: `return ${g.name}[k * ${g.stride}u + m * ${o}u + p];`,
        b: `return ${this.#weight(phase, l, "n", "p")};`,
        store: `${below.name}[k * ${below.stride}u + m * ${i}u + n] = acc * ` +
          `op_step(${zBelow.name}[k * ${zBelow.stride}u + m * ${i}u + n], 0.0);`,
      });
      return { ...mm, names: bindings.map((b) => b.name) };
    });
  }

  /**
   * The tangent of Z_l along the direction `dir` (parameter-shaped, per candidate):
   * Zdot_l = [H_l, 1] D_l + (Zdot_{l-1} * step(Z_{l-1})) W_l, as one product over the
   * concatenated reduction.
   */
  #tangent(phase: Phase, l: number): Kernel {
    return this.#kernel(`tan:${phase}:${l}`, () => {
      const { i, o, off } = this.#layers[l];
      const input = this.#input(phase, l, "m", "p");
      const out = this.#z(phase, l, "zd");
      const bindings: Binding[] = [...input.bindings, { name: "dir", kind: "read" }];
      let a = `if (p == ${i}u) { return 1.0; } return ${input.code};`;
      let b = `return dir[k * ${this.#p}u + ${off}u + p * ${o}u + n];`;
      if (l > 0) {
        const zd = this.#z(phase, l - 1, "zd");
        const z = this.#z(phase, l - 1);
        bindings.push({ name: zd.name, kind: "read" }, this.#weightBinding(phase));
        a = `if (p > ${i}u) { let q = p - ${i + 1}u; ` +
          `return ${zd.name}[k * ${zd.stride}u + m * ${i}u + q] * ` +
          `op_step(${z.name}[k * ${z.stride}u + m * ${i}u + q], 0.0); } ${a}`;
        b = `if (p > ${i}u) { return ${this.#weight(phase, l, `p - ${i + 1}u`, "n")}; } ${b}`;
      }
      bindings.push({ name: out.name, kind: "write" });
      const mm = this.#matMul({
        key: `tan:${phase}:${l}:${this.#shape()}`,
        m: this.#rows(phase),
        n: o,
        kd: l > 0 ? 2 * i + 1 : i + 1,
        bindings: dedupe(bindings),
        a,
        b,
        store: `${out.name}[k * ${out.stride}u + m * ${o}u + n] = acc;`,
      });
      return { ...mm, names: dedupe(bindings).map((x) => x.name) };
    });
  }

  /**
   * The adjoint of one SGD step, first-order: from the adjoint of the parameters after it
   * (abar) and of the velocity (vbar), the adjoint of its gradient (gbar), and both adjoints
   * before it.
   */
  #adjoint(): Kernel {
    return this.#kernel("adj", () => {
      const { lr, momentum, nesterov, weightDecay } = this.settings.inner;
      const p = this.#p;
      const at = `k * ${p}u + i`;
      const lines = [`let a = abar[${at}];`, `let s = -(a * ${lit(lr)});`, `var g = s;`];
      if (momentum !== 0) {
        lines.push(`var vb = 0.0;`, `if (st.first == 0u) { vb = vbar[${at}]; }`);
        if (nesterov) lines.push(`vb = vb + s * ${lit(momentum)};`);
        else lines.push(`vb = vb + s;`, `g = 0.0;`);
        lines.push(`g = g + vb;`, `vbar[${at}] = vb * ${lit(momentum)};`);
      }
      if (weightDecay !== 0) lines.push(`abar[${at}] = a + g * ${lit(weightDecay)};`);
      lines.push(`gbar[${at}] = g;`);
      const bindings: Binding[] = [
        { name: "abar", kind: "write" },
        { name: "vbar", kind: "write" },
        { name: "gbar", kind: "write" },
      ];
      const ew = elementwise({
        key: `adj:${p}:${optimizerKey(this.settings.inner)}`,
        count: p,
        bindings,
        body: lines.join("\n  "),
      });
      return { ...ew, names: bindings.map((b) => b.name) };
    });
  }

  /** th[dst] = the shared initial parameters, for every candidate. */
  #broadcast(): Kernel {
    return this.#kernel("bcast", () => {
      const bindings: Binding[] = [{ name: "ti", kind: "read" }, { name: "th", kind: "write" }];
      const ew = elementwise({
        key: `bcast:${this.#p}`,
        count: this.#p,
        bindings,
        body: `th[st.dst + k * ${this.#p}u + i] = ti[st.init + i];`,
      });
      return { ...ew, names: bindings.map((b) => b.name) };
    });
  }

  /** The task loss on the validation batch: value into jval, gradient at the outputs into gv. */
  #taskLoss(): Kernel {
    return this.#kernel("ce", () => {
      const L = this.#layers.length;
      const c = this.#layers[L - 1].o;
      const rows = this.#rows("val");
      const z = this.#z("val", L - 1), g = this.#z("val", L - 1, "g");
      const bindings: Binding[] = [
        { name: z.name, kind: "read" },
        { name: "yv", kind: "read" },
        { name: g.name, kind: "write" },
        { name: "jval", kind: "write" },
      ];
      const zb = `k * ${z.stride}u + r * ${c}u`;
      const yb = `(st.vrow + r) * ${c}u`;
      const body = this.task === "classification"
        ? `
  var total = 0.0;
  for (var r = lid; r < ${rows}u; r += ${GROUP}u) {
    var mx = ${z.name}[${zb}];
    for (var c = 1u; c < ${c}u; c++) { mx = op_max(mx, ${z.name}[${zb} + c]); }
    var s = 0.0;
    var ys = 0.0;
    for (var c = 0u; c < ${c}u; c++) { s += exp(${z.name}[${zb} + c] - mx); ys += yv[${yb} + c]; }
    let lse = mx + log(s);
    var row = 0.0;
    for (var c = 0u; c < ${c}u; c++) {
      let zc = ${z.name}[${zb} + c];
      let y = yv[${yb} + c];
      row += y * (zc - lse);
      ${g.name}[k * ${g.stride}u + r * ${c}u + c] = (exp(zc - mx) / s * ys - y) / ${lit(rows)};
    }
    total += row;
  }
  red[lid] = total;
  let sum = sum_red(lid);
  if (lid == 0u) { jval[k] = -(sum / ${lit(rows)}); }`
        : `
  var total = 0.0;
  for (var e = lid; e < ${rows * c}u; e += ${GROUP}u) {
    let r = e / ${c}u;
    let c = e % ${c}u;
    let d = ${z.name}[k * ${z.stride}u + e] - yv[(st.vrow + r) * ${c}u + c];
    total += d * d;
    ${g.name}[k * ${g.stride}u + e] = d * ${lit(2 / (rows * c))};
  }
  red[lid] = total;
  let sum = sum_red(lid);
  if (lid == 0u) { jval[k] = sum / ${lit(rows * c)}; }`;
      const pc = perCandidate({ key: `ce:${this.task}:${rows}:${c}:${z.stride}`, bindings, body });
      return { ...pc, names: bindings.map((b) => b.name) };
    });
  }

  /**
   * The task metric of a chunk of validation rows, accumulated into metric[k]; for
   * classification also the cross-entropy, into tloss[k] (the tie-breaker's task loss; for
   * regression the metric, squared error, is the task loss).
   */
  #metric(): Kernel {
    return this.#kernel("metric", () => {
      const L = this.#layers.length;
      const c = this.#layers[L - 1].o;
      const z = this.#z("metric", L - 1);
      const bindings: Binding[] = [
        { name: z.name, kind: "read" },
        { name: "yv", kind: "read" },
        { name: "metric", kind: "write" },
        ...(this.task === "classification" ? [{ name: "tloss", kind: "write" as const }] : []),
      ];
      const body = this.task === "classification"
        ? `
  var errors = 0.0;
  var ce = 0.0;
  for (var r = lid; r < st.rows; r += ${GROUP}u) {
    let zb = k * ${z.stride}u + r * ${c}u;
    let yb = (st.vrow + r) * ${c}u;
    // argMax as tfjs's: the first maximum, NaN never greater.
    var zi = 0u;
    var yi = 0u;
    var zm = ${z.name}[zb];
    var ym = yv[yb];
    var mx = ${z.name}[zb];
    for (var c = 1u; c < ${c}u; c++) {
      if (${z.name}[zb + c] > zm) { zm = ${z.name}[zb + c]; zi = c; }
      if (yv[yb + c] > ym) { ym = yv[yb + c]; yi = c; }
      mx = op_max(mx, ${z.name}[zb + c]);
    }
    errors += select(0.0, 1.0, zi != yi);
    var s = 0.0;
    for (var c = 0u; c < ${c}u; c++) { s += exp(${z.name}[zb + c] - mx); }
    let lse = mx + log(s);
    for (var c = 0u; c < ${c}u; c++) { ce -= yv[yb + c] * (${z.name}[zb + c] - lse); }
  }
  red[lid] = errors;
  let sum = sum_red(lid);
  if (lid == 0u) { metric[k] += sum; }
  red[lid] = ce;
  let ceSum = sum_red(lid);
  if (lid == 0u) { tloss[k] += ceSum; }`
        : `
  var total = 0.0;
  for (var e = lid; e < st.rows * ${c}u; e += ${GROUP}u) {
    let d = ${z.name}[k * ${z.stride}u + e] - yv[st.vrow * ${c}u + e];
    total += d * d;
  }
  red[lid] = total;
  let sum = sum_red(lid);
  if (lid == 0u) { metric[k] += sum; }`;
      const pc = perCandidate({ key: `metric:${this.task}:${c}:${z.stride}`, bindings, body });
      return { ...pc, names: bindings.map((b) => b.name) };
    });
  }

  /** Adam on every candidate's phi, for candidates still alive; records the meta-loss. */
  #adam(maxNodes: number): Kernel {
    return this.#kernel(`adam:${maxNodes}`, () => {
      const { b1, b2, eps } = ADAM;
      const lr = this.settings.localSearch.metaLr;
      const bindings: Binding[] = [
        { name: "hyper", kind: "read" },
        { name: "jval", kind: "read" },
        { name: "phi", kind: "write" },
        { name: "am", kind: "write" },
        { name: "av", kind: "write" },
        { name: "dead", kind: "write" },
        { name: "steps", kind: "write" },
        { name: "mloss", kind: "write" },
      ];
      const at = `k * ${maxNodes}u + j`;
      const body = `
  var bad = 0.0;
  for (var j = lid; j < ${maxNodes}u; j += ${GROUP}u) {
    if (!is_finite(hyper[${at}])) { bad = 1.0; }
  }
  red[lid] = bad;
  let nonFinite = sum_red(lid);
  let ok = dead[k] == 0.0 && nonFinite == 0.0 && is_finite(jval[k]);
  if (ok) {
    for (var j = lid; j < ${maxNodes}u; j += ${GROUP}u) {
      let g = hyper[${at}];
      let m = am[${at}] * ${lit(b1)} + g * ${lit(1 - b1)};
      let v = av[${at}] * ${lit(b2)} + g * g * ${lit(1 - b2)};
      am[${at}] = m;
      av[${at}] = v;
      phi[${at}] = phi[${at}] - ${lit(lr)} * (m / st.bc1) / (sqrt(v / st.bc2) + ${lit(eps)});
    }
  }
  if (lid == 0u) {
    if (ok) {
      mloss[st.check + k] = jval[k];
      steps[k] += 1.0;
    } else {
      dead[k] = 1.0;
    }
  }`;
      const pc = perCandidate({ key: `adam:${maxNodes}:${lr}`, bindings, body });
      return { ...pc, names: bindings.map((b) => b.name) };
    });
  }

  #matMul(o: Product) {
    return this.options.products === "tiled" ? matMul(o) : matMulDirect(o);
  }

  /** A key of the model's shape, so that engines of different models never share a shader. */
  #shape(): string {
    return `${this.#layers.map((l) => `${l.i}x${l.o}`).join("-")}:${this.#train.batchSize}:` +
      `${this.#validation.batchSize}:${this.#train.n}:${this.#validation.n}:${this.task}`;
  }

  // -------------------------------------------------------------------------------------------
  // The stack's loss kernels

  /**
   * The loss gradient at the outputs for every candidate (its own compiled loss), and the loss
   * value at check steps: one shader for the stack that switches on the candidate, or one per
   * candidate.
   */
  #lossKernels(
    trees: Tree[],
    maxNodes: number,
    phase: "train0" | "train",
    hyper: boolean,
  ): { kernel: Kernel; candidates: number[] }[] {
    const groups = this.options.lossShaders === "switch"
      ? [trees.map((_, k) => k)]
      : trees.map((_, k) => [k]);
    return groups.map((candidates) => {
      const key = `${hyper ? "hyp" : "loss"}:${phase}:${maxNodes}:${
        candidates.map((k) => `${k}=${trees[k].join(" ")}`).join(";")
      }`;
      const kernel = this.#kernel(
        key,
        () => this.#lossSpec(trees, candidates, maxNodes, phase, hyper, key),
      );
      return { kernel, candidates };
    });
  }

  #lossSpec(
    trees: Tree[],
    candidates: number[],
    maxNodes: number,
    phase: "train0" | "train",
    hyper: boolean,
    key: string,
  ) {
    const L = this.#layers.length;
    const c = this.#layers[L - 1].o;
    const rows = this.#rows(phase);
    const z = this.#z(phase, L - 1);
    const g = this.#z(phase, L - 1, "g");
    const zd = this.#z(phase, L - 1, "zd");
    const functions = [stackFunctions(trees, candidates, maxNodes, hyper)];
    // One dispatch per shader: the shader's first candidate is its workgroup 0.
    const kOf = `(k + ${candidates[0]}u)`;
    const zb = `${kOf} * ${z.stride}u + r * ${c}u`;
    const yb = `(st.row + r) * ${c}u`;
    const count = this.task === "classification" ? rows : rows * c;
    const scale = this.#hyperScale() / count;
    const softmax = `
    var mx = ${z.name}[${zb}];
    for (var c = 1u; c < ${c}u; c++) { mx = op_max(mx, ${z.name}[${zb} + c]); }
    var s = 0.0;
    for (var c = 0u; c < ${c}u; c++) { s += exp(${z.name}[${zb} + c] - mx); }`;
    const f = (i: string) =>
      this.task === "classification"
        ? `exp(${z.name}[${zb} + ${i}] - mx) / s`
        : `${z.name}[${zb} + ${i}]`;
    let body: string;
    const bindings: Binding[] = [
      { name: z.name, kind: "read" },
      { name: "yt", kind: "read" },
      { name: "phi", kind: "read" },
    ];
    if (!hyper) {
      bindings.push({ name: g.name, kind: "write" }, { name: "checks", kind: "write" });
      const gAt = `${kOf} * ${g.stride}u + r * ${c}u + c`;
      body = `
  let kk = ${kOf};
  let pb = kk * ${maxNodes}u;
  var total = 0.0;
  for (var r = lid; r < ${rows}u; r += ${GROUP}u) {
    ${this.task === "classification" ? softmax : ""}
    var dot = 0.0;
    for (var c = 0u; c < ${c}u; c++) {
      let f = ${f("c")};
      let vd = loss_at(kk, yt[${yb} + c], f, pb);
      total += vd.x;
      let g = vd.y / ${lit(count)};
      ${g.name}[${gAt}] = g;
      dot += g * f;
    }
    ${
        this.task === "classification"
          ? `for (var c = 0u; c < ${c}u; c++) { let f = ${
            f("c")
          }; ${g.name}[${gAt}] = f * (${g.name}[${gAt}] - dot); }`
          : ""
      }
  }
  red[lid] = total;
  let sum = sum_red(lid);
  if (lid == 0u && st.check != NONE) { checks[st.check + kk] = sum / ${lit(count)}; }`;
    } else {
      bindings.push({ name: zd.name, kind: "read" }, { name: "hyper", kind: "write" });
      const chunk = Math.min(maxNodes, 32);
      body = `
  let kk = ${kOf};
  let pb = kk * ${maxNodes}u;
  var acc: array<f32, ${maxNodes}>;
  for (var r = lid; r < ${rows}u; r += ${GROUP}u) {
    ${this.task === "classification" ? softmax : ""}
    let zdb = kk * ${zd.stride}u + r * ${c}u;
    var dot = 0.0;
    ${
        this.task === "classification"
          ? `for (var c = 0u; c < ${c}u; c++) { dot += ${f("c")} * ${zd.name}[zdb + c]; }`
          : ""
      }
    for (var c = 0u; c < ${c}u; c++) {
      let f = ${f("c")};
      let fd = ${
        this.task === "classification" ? `f * (${zd.name}[zdb + c] - dot)` : `${zd.name}[zdb + c]`
      };
      hyper_at(kk, yt[${yb} + c], f, fd, pb, &acc);
    }
  }
  for (var j0 = 0u; j0 < ${maxNodes}u; j0 += ${chunk}u) {
    for (var j = 0u; j < ${chunk}u; j++) {
      if (j0 + j < ${maxNodes}u) { part[lid * ${chunk}u + j] = acc[j0 + j]; }
    }
    workgroupBarrier();
    if (lid < ${chunk}u && j0 + lid < ${maxNodes}u) {
      var s = 0.0;
      for (var t = 0u; t < ${GROUP}u; t++) { s += part[t * ${chunk}u + lid]; }
      let at = pb + j0 + lid;
      var before = 0.0;
      if (st.first == 0u) { before = hyper[at]; }
      hyper[at] = before + s * ${lit(scale)};
    }
    workgroupBarrier();
  }`;
      return {
        ...perCandidate({
          key,
          bindings,
          functions: functions.join("\n"),
          body,
          shared: `var<workgroup> part: array<f32, ${GROUP * chunk}>;`,
        }),
        names: bindings.map((b) => b.name),
      };
    }
    return {
      ...perCandidate({ key, bindings, functions: functions.join("\n"), body }),
      names: bindings.map((b) => b.name),
    };
  }

  /**
   * What the hypergradient sum is multiplied by: with one differentiated step, gbar is the
   * validation gradient times -lr (and 1 + momentum with Nesterov), folded in here; with more,
   * the adjoint kernel computes gbar itself.
   */
  #hyperScale(): number {
    if (this.#multiStep()) return 1;
    const { lr, momentum, nesterov } = this.settings.inner;
    return -lr * (nesterov && momentum !== 0 ? 1 + momentum : 1);
  }

  #firstDifferentiated(): number {
    return unrollShape(this.settings).first;
  }

  #multiStep(): boolean {
    return this.settings.localSearch.unrollSteps - this.#firstDifferentiated() > 1;
  }

  // -------------------------------------------------------------------------------------------
  // Running

  #buffers(sizes: Record<string, number>): Map<string, GPUBuffer> {
    const buffers = new Map(this.#shared);
    for (const [name, floats] of Object.entries(sizes)) {
      buffers.set(name, storage(this.device, floats));
    }
    return buffers;
  }

  #bind(
    kernel: Kernel,
    buffers: Map<string, GPUBuffer>,
    candidates: number,
    rename: Record<string, string> = {},
  ): Bound {
    const group = this.device.createBindGroup({
      layout: kernel.layout,
      entries: kernel.names.map((name, binding) => {
        const buffer = buffers.get(rename[name] ?? name);
        if (!buffer) throw new Error(`fused engine: no buffer '${rename[name] ?? name}'`);
        return { binding, resource: { buffer } };
      }),
    });
    return {
      name: kernel.key.split(":").slice(0, 2).join(":"),
      pipeline: kernel.pipeline,
      group,
      grid: kernel.grid(candidates),
    };
  }

  /** Activation buffers of every layer for the phases, sized for k candidates. */
  #activationSizes(
    k: number,
    phases: Phase[],
    kinds: ("z" | "g" | "zd")[],
  ): Record<string, number> {
    const out: Record<string, number> = {};
    for (const phase of phases) {
      for (const kind of kinds) {
        this.#layers.forEach((layer, l) => {
          out[this.#z(phase === "train0" ? "train" : phase, l, kind).name] = k * this.#rows(phase) *
            layer.o;
        });
      }
    }
    return out;
  }

  #stepBuffer(
    slots: number,
  ): {
    buffer: GPUBuffer;
    group: GPUBindGroup;
    data: ArrayBuffer;
    u32: Uint32Array;
    f32: Float32Array;
    stride: number;
  } {
    const stride = this.#stride;
    const data = new ArrayBuffer(stride * slots);
    const buffer = this.device.createBuffer({
      size: data.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const group = this.device.createBindGroup({
      layout: this.cache.stepLayout,
      entries: [{ binding: 0, resource: { buffer, size: STEP_WORDS * 4 } }],
    });
    return { buffer, group, data, u32: new Uint32Array(data), f32: new Float32Array(data), stride };
  }

  /** The initial parameters of every candidate's fitness training, as the evaluator's. */
  #uniform(seed: number): () => number {
    const rng = new Rng(seed);
    return () => rng.next();
  }

  #initialParameters(seed: number): Float32Array<ArrayBuffer> {
    const parts = initialValues(this.spec, this.#uniform(seed));
    const out = new Float32Array(this.#p);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /**
   * `CandidateEvaluator.fitness` of every (tree, phi) pair: `steps` SGD steps from the seed's
   * initialisation, the loss recorded every `checkEvery` steps and at the last, then the task
   * metric on the whole validation split. A candidate whose recorded loss or metric is not
   * finite gets the worst fitness, as in `trainSgd`; its computation went on (nothing mixes
   * candidates), but nothing it produced after that is read.
   */
  fitness(
    trees: Tree[],
    phis: number[][],
    steps = this.settings.fitnessSteps,
    checkEvery = 100,
  ): Promise<FitnessResult[]> {
    return this.#guarded(() => this.#fitness(trees, phis, steps, checkEvery));
  }

  async #fitness(
    trees: Tree[],
    phis: number[][],
    steps: number,
    checkEvery: number,
  ): Promise<FitnessResult[]> {
    const K = trees.length;
    if (K === 0) return [];
    const L = this.#layers.length;
    const P = this.#p;
    const maxNodes = Math.max(...trees.map((t) => t.length));
    const checkSteps = Array.from({ length: steps }, (_, s) => s).filter((s) =>
      (s + 1) % checkEvery === 0 || s === steps - 1
    );
    const metricRows = this.#rows("metric");
    const chunks = Math.ceil(this.#validation.n / metricRows);
    const buffers = this.#buffers({
      ti: P,
      th: K * P,
      vel: K * P,
      phi: K * maxNodes,
      checks: checkSteps.length * K,
      metric: K,
      tloss: K,
      ...this.#activationSizes(K, ["train", "metric"], ["z"]),
      ...this.#activationSizes(K, ["train"], ["g"]),
    });
    const phiData = new Float32Array(K * maxNodes);
    phis.forEach((phi, k) => phiData.set(phi, k * maxNodes));
    this.device.queue.writeBuffer(buffers.get("phi")!, 0, phiData);
    this.device.queue.writeBuffer(buffers.get("ti")!, 0, this.#initialParameters(this.seed));
    const step = this.#stepBuffer(steps + chunks + 1);
    const slot = (
      i: number,
      f: Partial<
        Record<"row" | "vrow" | "check" | "init" | "src" | "dst" | "first" | "rows", number>
      >,
    ) => {
      const w = (i * step.stride) / 4;
      step.u32.set([
        f.row ?? 0,
        f.vrow ?? 0,
        f.check ?? NONE,
        f.init ?? 0,
        f.src ?? 0,
        f.dst ?? 0,
        f.first ?? 0,
        f.rows ?? 0,
      ], w);
    };
    slot(0, {});
    const checkIndex = new Map(checkSteps.map((s, i) => [s, i]));
    for (let s = 0; s < steps; s++) {
      const ci = checkIndex.get(s);
      slot(1 + s, {
        row: this.#train.offset(s),
        check: ci === undefined ? NONE : ci * K,
        first: s === 0 ? 1 : 0,
      });
    }
    for (let c = 0; c < chunks; c++) {
      slot(1 + steps + c, {
        vrow: c * metricRows,
        rows: Math.min(metricRows, this.#validation.n - c * metricRows),
      });
    }
    this.device.queue.writeBuffer(step.buffer, 0, step.data);

    const bcast = this.#bind(this.#broadcast(), buffers, K);
    const fwd = this.#layers.map((_, l) => this.#bind(this.#forward("train", l), buffers, K));
    const loss = this.#lossKernels(trees, maxNodes, "train", false).map(({ kernel, candidates }) =>
      this.#bind(kernel, buffers, candidates.length)
    );
    const back: Bound[] = [];
    for (let l = L - 1; l >= 0; l--) {
      if (l > 0) back.push(this.#bind(this.#backward("train", l), buffers, K));
      back.push(this.#bind(this.#weightGradient("train", l), buffers, K));
    }
    const metricFwd = this.#layers.map((_, l) =>
      this.#bind(this.#forward("metric", l), buffers, K)
    );
    const metric = this.#bind(this.#metric(), buffers, K);

    const sequence = [...fwd, ...loss, ...back];
    const enc = new StepEncoder(this.device, step.group, this.profile, this.options.dry);
    enc.use(0);
    enc.run(bcast);
    for (let s = 0; s < steps; s++) {
      enc.use((1 + s) * step.stride);
      for (const b of sequence) enc.run(b);
      if ((s + 1) % this.options.stepsPerSubmit === 0) await enc.submit();
    }
    for (let c = 0; c < chunks; c++) {
      enc.use((1 + steps + c) * step.stride);
      for (const b of metricFwd) enc.run(b);
      enc.run(metric);
    }
    await enc.finish();
    this.#record(enc);
    const [checks, metricSums, lossSums] = await readBack(this.device, [
      { buffer: buffers.get("checks")!, floats: checkSteps.length * K },
      { buffer: buffers.get("metric")!, floats: K },
      { buffer: buffers.get("tloss")!, floats: K },
    ]);
    this.#release(buffers, step.buffer);
    const outputs = this.#layers[L - 1].o;
    const count = this.task === "classification"
      ? this.#validation.n
      : this.#validation.n * outputs;
    return trees.map((_, k) => {
      for (let i = 0; i < checkSteps.length; i++) {
        if (!Number.isFinite(checks[i * K + k])) {
          return { fitness: WORST_FITNESS, diverged: true, steps };
        }
      }
      // As tfjs cpu's mean: each term divided by the count in float32, then summed (an error
      // rate's count of errors times fround(1 / n), exactly), so that error rates agree to the bit.
      const m = Math.fround(metricSums[k] * Math.fround(1 / count));
      if (!Number.isFinite(m)) return { fitness: WORST_FITNESS, diverged: true, steps };
      const taskLoss = this.task === "classification" ? lossSums[k] / this.#validation.n : m;
      return Number.isFinite(taskLoss)
        ? { fitness: m, diverged: false, taskLoss, steps }
        : { fitness: m, diverged: false, steps };
    });
  }

  /**
   * `CandidateEvaluator.localSearchStacked`: `metaSteps` meta-steps of every candidate from its
   * initial weights, Adam on the device. A candidate whose meta-loss or hypergradient is not
   * finite stops there, as alone: its weights keep their last finite value.
   */
  async localSearch(
    trees: Tree[],
    phi0: number[][],
    metaSteps = this.settings.localSearch.metaSteps,
  ): Promise<LocalSearchResult[]> {
    const run = await this.#metaSteps(trees, phi0, metaSteps, true);
    return trees.map((tree, k) => {
      const taken = run.steps[k];
      return {
        phi: Array.from(
          run.phi.subarray(k * run.maxNodes, k * run.maxNodes + tree.length),
          (v) => v,
        ),
        metaLosses: Array.from({ length: taken }, (_, s) => run.mloss[s * trees.length + k]),
        steps: taken,
      };
    });
  }

  /**
   * One meta-step's validation losses and hypergradients of every candidate at its phi, without
   * the Adam step: what `stackedHypergradients` computes for meta-step `s`'s data (for tests).
   */
  async hypergradients(
    trees: Tree[],
    phis: number[][],
    s = 0,
  ): Promise<{ values: number[]; grads: number[][] }> {
    const run = await this.#metaSteps(trees, phis, 1, false, s);
    return {
      values: Array.from(run.jval),
      grads: trees.map((tree, k) =>
        Array.from(run.hyper.subarray(k * run.maxNodes, k * run.maxNodes + tree.length))
      ),
    };
  }

  /**
   * Runs `fn` inside error scopes: WebGPU reports a validation error or a lost allocation to
   * the scope, not to the caller, and skips the commands at fault, so without this a failure
   * would read back as numbers. A failure throws instead (candidate_ops.ts then uses tfjs).
   */
  async #guarded<T>(fn: () => Promise<T>): Promise<T> {
    const scopes = ["validation", "out-of-memory", "internal"] as const;
    for (const scope of scopes) this.device.pushErrorScope(scope);
    let result: T | undefined, thrown: unknown;
    try {
      result = await fn();
    } catch (e) {
      thrown = e;
    }
    const errors = await Promise.all(scopes.map(() => this.device.popErrorScope()));
    const error = errors.find((e) => e !== null);
    if (error) throw new Error(`fused engine: ${error.message}`);
    if (thrown !== undefined) throw thrown;
    return result as T;
  }

  #metaSteps(
    trees: Tree[],
    phi0: number[][],
    metaSteps: number,
    adam: boolean,
    firstMeta = 0,
  ) {
    return this.#guarded(() => this.#runMetaSteps(trees, phi0, metaSteps, adam, firstMeta));
  }

  async #runMetaSteps(
    trees: Tree[],
    phi0: number[][],
    metaSteps: number,
    adam: boolean,
    firstMeta = 0,
  ) {
    const K = trees.length;
    const L = this.#layers.length;
    const P = this.#p;
    const T = this.settings.localSearch.unrollSteps;
    const td = this.#firstDifferentiated();
    const multi = this.#multiStep();
    const maxNodes = Math.max(...trees.map((t) => t.length));
    const chunk = Math.min(this.options.metaStepsPerSubmit, metaSteps);
    // Stored parameters: theta_t for t >= keep (t >= 1), two scratch slots before that.
    const keep = Math.max(1, td);
    const scratch = keep > 1 ? 2 : 0;
    const slotOf = (t: number) => (t >= keep ? scratch + t - keep : t % 2);
    const thetaSlots = scratch + T - keep + 1;
    const buffers = this.#buffers({
      ti: chunk * P,
      th: thetaSlots * K * P,
      vel: K * P,
      abar: K * P,
      ...(multi ? { vbar: K * P, gbar: K * P } : {}),
      phi: K * maxNodes,
      hyper: K * maxNodes,
      am: K * maxNodes,
      av: K * maxNodes,
      jval: K,
      dead: K,
      steps: K,
      mloss: metaSteps * K,
      checks: 1,
      ...this.#activationSizes(K, ["train", "val"], ["z", "g"]),
      ...this.#activationSizes(K, ["train"], ["zd"]),
    });
    const phiData = new Float32Array(K * maxNodes);
    phi0.forEach((phi, k) => phiData.set(phi, k * maxNodes));
    this.device.queue.writeBuffer(buffers.get("phi")!, 0, phiData);

    const perMeta = T + 1 + (T - td);
    const step = this.#stepBuffer(chunk * perMeta);
    const kernels = (phase: "train0" | "train") => {
      const back: Bound[] = [];
      for (let l = L - 1; l >= 0; l--) {
        if (l > 0) back.push(this.#bind(this.#backward(phase, l), buffers, K));
        back.push(this.#bind(this.#weightGradient(phase, l), buffers, K));
      }
      const fwdK = phase === "train0" ? 1 : K;
      return {
        fwd: this.#layers.map((_, l) => this.#bind(this.#forward(phase, l), buffers, fwdK)),
        loss: this.#lossKernels(trees, maxNodes, phase, false).map(({ kernel, candidates }) =>
          this.#bind(kernel, buffers, candidates.length)
        ),
        back,
        tangent: this.#layers.map((_, l) =>
          this.#bind(this.#tangent(phase, l), buffers, K, { dir: multi ? "gbar" : "abar" })
        ),
        hyper: this.#lossKernels(trees, maxNodes, phase, true).map(({ kernel, candidates }) =>
          this.#bind(kernel, buffers, candidates.length)
        ),
      };
    };
    const byPhase = { train0: kernels("train0"), train: T > 1 ? kernels("train") : undefined };
    const of = (t: number) => (t === 0 ? byPhase.train0 : byPhase.train!);
    const valFwd = this.#layers.map((_, l) => this.#bind(this.#forward("val", l), buffers, K));
    const ce = this.#bind(this.#taskLoss(), buffers, K);
    const valBack: Bound[] = [];
    for (let l = L - 1; l >= 0; l--) {
      valBack.push(this.#bind(this.#weightGradient("val", l), buffers, K));
      if (l > 0) valBack.push(this.#bind(this.#backward("val", l), buffers, K));
    }
    const adjoint = multi ? this.#bind(this.#adjoint(), buffers, K) : undefined;
    const adamStep = this.#bind(this.#adam(maxNodes), buffers, K);

    const enc = new StepEncoder(this.device, step.group, this.profile, this.options.dry);
    const run = (b: Bound) => enc.run(b);
    for (let c0 = 0; c0 < metaSteps; c0 += chunk) {
      const n = Math.min(chunk, metaSteps - c0);
      const inits = new Float32Array(n * P);
      for (let j = 0; j < n; j++) {
        inits.set(this.#initialParameters(this.seed + 7919 * (firstMeta + c0 + j + 1)), j * P);
      }
      this.device.queue.writeBuffer(buffers.get("ti")!, 0, inits);
      step.u32.fill(0);
      for (let j = 0; j < n; j++) {
        const s = firstMeta + c0 + j;
        const base = j * perMeta;
        const init = j * P;
        const w = (
          i: number,
          f: Partial<Record<"row" | "vrow" | "check" | "src" | "dst" | "first", number>>,
          bc?: [number, number],
        ) => {
          const at = ((base + i) * step.stride) / 4;
          step.u32.set([
            f.row ?? 0,
            f.vrow ?? 0,
            f.check ?? NONE,
            init,
            f.src ?? 0,
            f.dst ?? 0,
            f.first ?? 0,
            0,
          ], at);
          if (bc) step.f32.set(bc, at + 8);
        };
        const thetaAt = (t: number) => slotOf(t) * K * P;
        for (let t = 0; t < T; t++) {
          w(t, {
            row: this.#train.offset(s * T + t),
            src: t === 0 ? 0 : thetaAt(t),
            dst: thetaAt(t + 1),
            first: t === 0 ? 1 : 0,
          });
        }
        const t1 = c0 + j + 1;
        w(T, { vrow: this.#validation.offset(s), src: thetaAt(T), check: (c0 + j) * K }, [
          1 - ADAM.b1 ** t1,
          1 - ADAM.b2 ** t1,
        ]);
        for (let t = T - 1; t >= td; t--) {
          w(T + 1 + (T - 1 - t), {
            row: this.#train.offset(s * T + t),
            src: t === 0 ? 0 : thetaAt(t),
            first: t === T - 1 ? 1 : 0,
          });
        }
      }
      this.device.queue.writeBuffer(step.buffer, 0, step.data, 0, n * perMeta * step.stride);
      for (let j = 0; j < n; j++) {
        const use = (i: number) => enc.use((j * perMeta + i) * step.stride);
        for (let t = 0; t < T; t++) {
          use(t);
          const k = of(t);
          for (const b of [...k.fwd, ...k.loss, ...k.back]) run(b);
        }
        use(T);
        for (const b of [...valFwd, ce, ...valBack]) run(b);
        for (let t = T - 1; t >= td; t--) {
          use(T + 1 + (T - 1 - t));
          const k = of(t);
          if (adjoint) run(adjoint);
          // The forward pass at theta_{T-1} is still in place from the steps above.
          if (t !== T - 1) { for (const b of k.fwd) run(b); }
          for (const b of [...k.tangent, ...k.hyper]) run(b);
        }
        if (adam) {
          use(T);
          run(adamStep);
        }
      }
      await enc.submit();
    }
    await enc.finish();
    this.#record(enc);
    const [phi, mloss, steps, jval, hyper] = await readBack(this.device, [
      { buffer: buffers.get("phi")!, floats: K * maxNodes },
      { buffer: buffers.get("mloss")!, floats: metaSteps * K },
      { buffer: buffers.get("steps")!, floats: K },
      { buffer: buffers.get("jval")!, floats: K },
      { buffer: buffers.get("hyper")!, floats: K * maxNodes },
    ]);
    this.#release(buffers, step.buffer);
    return { phi, mloss, steps: Array.from(steps, (v) => Math.round(v)), jval, hyper, maxNodes };
  }

  #record(enc: StepEncoder): void {
    this.last = {
      dispatches: enc.dispatches,
      encodeMs: enc.encodeMs,
      submitMs: enc.submitMs,
      firstSubmit: enc.firstSubmit,
    };
  }

  #release(buffers: Map<string, GPUBuffer>, step: GPUBuffer): void {
    for (const [name, b] of buffers) if (!this.#shared.has(name)) b.destroy();
    step.destroy();
  }

  dispose(): void {
    for (const b of this.#shared.values()) b.destroy();
  }
}

function optimizerKey(o: InnerOptimizer): string {
  return `${o.lr}:${o.momentum}:${o.nesterov}:${o.weightDecay}`;
}

function dedupe(bindings: Binding[]): Binding[] {
  const seen = new Set<string>();
  return bindings.filter((b) => (seen.has(b.name) ? false : (seen.add(b.name), true)));
}
