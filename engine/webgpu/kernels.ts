/**
 * WGSL of the fused engine's kernels, generated per use: the shapes, strides, learning rates and
 * the way an operand is read (a ReLU applied on load, an implicit column of ones for the bias)
 * are constants of the shader, so one template serves every product of a dense network, forward
 * and backward, and the compiler sees fixed loop bounds. Every kernel handles all candidates of
 * a stack at once (workgroup id z, or x for the per-candidate kernels), and no kernel mixes
 * candidates: a candidate's outputs read only its own data and the data all candidates share.
 */
import { type BindingKind, type KernelSpec, STEP_UNIFORM } from "./device.ts";
import { WGSL_PRELUDE, wgslLiteral } from "./symbolic.ts";

/** A storage buffer of a kernel (group 1), named in its WGSL. */
export interface Binding {
  name: string;
  kind: BindingKind;
}

function declarations(bindings: Binding[]): string {
  return bindings.map((b, i) =>
    `@group(1) @binding(${i}) var<storage, ${b.kind === "read" ? "read" : "read_write"}> ` +
    `${b.name}: array<f32>;`
  ).join("\n");
}

function spec(key: string, bindings: Binding[], body: string): KernelSpec {
  return {
    key,
    bindings: bindings.map((b) => b.kind),
    code: [STEP_UNIFORM, WGSL_PRELUDE, declarations(bindings), body].join("\n"),
  };
}

export const lit = wgslLiteral;

/**
 * A product C[k] = A[k] B[k] for every candidate k: M x N outputs, a reduction of length KD. `a`
 * and `b` are WGSL function bodies of (k, m, p) and (k, p, n), called only in range; `store` is a
 * statement of (k, m, n) and the sum `acc`.
 */
export interface Product {
  key: string;
  m: number;
  n: number;
  kd: number;
  bindings: Binding[];
  a: string;
  b: string;
  store: string;
}

/** A kernel and its grid of workgroups for a stack of candidates. */
export type Compiled = {
  spec: KernelSpec;
  grid: (candidates: number) => [number, number, number];
};

/** Per-thread outputs of the product kernel: 4 x 4. */
const R = 4;
/** Reduction slice loaded into workgroup memory per iteration. */
const TK = 16;

/**
 * A product (see `Product`) in tiles of 32 x 32 outputs (16 wide where N is small), 4 x 4 per
 * thread, the reduction staged through workgroup memory in slices of 16.
 */
export function matMul(o: Product): Compiled {
  const tn = o.n <= 16 ? 16 : 32;
  const tm = o.m <= 16 ? 16 : 32;
  const tx = tn / R, ty = tm / R;
  const body = `
const M = ${o.m}u;
const N = ${o.n}u;
const KD = ${o.kd}u;
const TM = ${tm}u;
const TN = ${tn}u;
const TK = ${TK}u;
const NT = ${tx * ty}u;
var<workgroup> sa: array<f32, ${tm * TK}>;
var<workgroup> sb: array<f32, ${TK * tn}>;
fn load_a(k: u32, m: u32, p: u32) -> f32 {
  ${o.a}
}
fn load_b(k: u32, p: u32, n: u32) -> f32 {
  ${o.b}
}
@compute @workgroup_size(${tx}, ${ty})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let k = wg.z;
  let m0 = wg.y * TM;
  let n0 = wg.x * TN;
  var accs: array<f32, ${R * R}>;
  for (var p0 = 0u; p0 < KD; p0 += TK) {
    for (var i = li; i < TM * TK; i += NT) {
      let mm = i / TK;
      let pp = i % TK;
      var v = 0.0;
      if (m0 + mm < M && p0 + pp < KD) { v = load_a(k, m0 + mm, p0 + pp); }
      sa[pp * TM + mm] = v;
    }
    for (var i = li; i < TK * TN; i += NT) {
      let pp = i / TN;
      let nn = i % TN;
      var v = 0.0;
      if (p0 + pp < KD && n0 + nn < N) { v = load_b(k, p0 + pp, n0 + nn); }
      sb[pp * TN + nn] = v;
    }
    workgroupBarrier();
    for (var pp = 0u; pp < TK; pp++) {
      var av: array<f32, ${R}>;
      var bv: array<f32, ${R}>;
      for (var i = 0u; i < ${R}u; i++) {
        av[i] = sa[pp * TM + lid.y * ${R}u + i];
        bv[i] = sb[pp * TN + lid.x * ${R}u + i];
      }
      for (var i = 0u; i < ${R}u; i++) {
        for (var j = 0u; j < ${R}u; j++) {
          accs[i * ${R}u + j] += av[i] * bv[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${R}u; i++) {
    for (var j = 0u; j < ${R}u; j++) {
      let m = m0 + lid.y * ${R}u + i;
      let n = n0 + lid.x * ${R}u + j;
      if (m < M && n < N) {
        let acc = accs[i * ${R}u + j];
        ${o.store}
      }
    }
  }
}`;
  return {
    spec: spec(`mm:${o.key}`, o.bindings, body),
    grid: (candidates) => [Math.ceil(o.n / tn), Math.ceil(o.m / tm), candidates],
  };
}

/**
 * The same product without workgroup memory: each thread computes RN adjacent outputs of one
 * row, reading its operands straight from the buffers. On the software adapter (llvmpipe)
 * workgroup barriers are costly and the CPU's caches do what the tiles would.
 */
export function matMulDirect(o: Product): Compiled {
  const rn = o.n >= 4 ? 4 : 1;
  const cols = Math.ceil(o.n / rn);
  const body = `
const M = ${o.m}u;
const N = ${o.n}u;
const KD = ${o.kd}u;
fn load_a(k: u32, m: u32, p: u32) -> f32 {
  ${o.a}
}
fn load_b(k: u32, p: u32, n: u32) -> f32 {
  ${o.b}
}
@compute @workgroup_size(${GROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let k = gid.z;
  let t = gid.x;
  if (t >= M * ${cols}u) { return; }
  let m = t / ${cols}u;
  let n0 = (t % ${cols}u) * ${rn}u;
  var accs: array<f32, ${rn}>;
  for (var p = 0u; p < KD; p++) {
    let av = load_a(k, m, p);
    for (var j = 0u; j < ${rn}u; j++) {
      if (n0 + j < N) { accs[j] += av * load_b(k, p, n0 + j); }
    }
  }
  for (var j = 0u; j < ${rn}u; j++) {
    let n = n0 + j;
    if (n < N) {
      let acc = accs[j];
      ${o.store}
    }
  }
}`;
  return {
    spec: spec(`md:${o.key}`, o.bindings, body),
    grid: (candidates) => [Math.ceil((o.m * cols) / GROUP), 1, candidates],
  };
}

/** Threads of the element-wise and per-candidate kernels. */
export const GROUP = 64;

/**
 * `body` for every i < count of every candidate k (a statement of k and i): workgroups of 64
 * along x, candidates along y.
 */
export function elementwise(o: {
  key: string;
  count: number;
  bindings: Binding[];
  body: string;
}): Compiled {
  const body = `
@compute @workgroup_size(${GROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let k = gid.y;
  if (i >= ${o.count}u) { return; }
  ${o.body}
}`;
  return {
    spec: spec(`ew:${o.key}`, o.bindings, body),
    grid: (candidates) => [Math.ceil(o.count / GROUP), candidates, 1],
  };
}

/**
 * One workgroup of 64 threads per candidate (x), for the kernels that reduce over a
 * candidate's batch: `body` sees k and `lid` (the thread) and may use `red`, an array of 64
 * floats in workgroup memory, and `sum_red()`, the sum of `red` once every thread has written
 * its part (call it in uniform control flow).
 */
export function perCandidate(o: {
  key: string;
  bindings: Binding[];
  functions?: string;
  body: string;
  /** Extra workgroup memory declarations. */
  shared?: string;
}): Compiled {
  const body = `
var<workgroup> red: array<f32, ${GROUP}>;
${o.shared ?? ""}
${o.functions ?? ""}
fn sum_red(lid: u32) -> f32 {
  workgroupBarrier();
  var s = 0.0;
  for (var i = 0u; i < ${GROUP}u; i++) { s += red[i]; }
  workgroupBarrier();
  return s;
}
@compute @workgroup_size(${GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lidv: vec3u) {
  let k = wg.x;
  let lid = lidv.x;
  ${o.body}
}`;
  return {
    spec: spec(`pc:${o.key}`, o.bindings, body),
    grid: (candidates) => [candidates, 1, 1],
  };
}
