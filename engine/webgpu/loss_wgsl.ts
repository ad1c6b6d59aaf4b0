/**
 * A symbolic loss compiled to WGSL functions of one element, for the fused WebGPU engine
 * (dense.ts). The tree is interpreted once with the registry's rules on a symbolic algebra
 * (symbolic.ts), exactly as engine/metaloss.ts interprets it on tensors: every edge carries its
 * weight phi[k], and each node hands its parent a value and its derivative with respect to f(x).
 * What comes out are graphs, printed as straight-line WGSL:
 *
 * - `loss_<c>(y, f, pb) -> vec2f`: the element's loss value and d = dl/df (pb: where the
 *   candidate's weights start in the phi buffer);
 * - `hyper_<c>(y, f, fdot, pb, acc)`: acc[j] += fdot * d(dl/df)/d phi[j] for every weight j, the
 *   mixed second derivative a hypergradient needs (loss_gradient below explains why that is all
 *   it needs), derived from the graph of d by reverse mode.
 */
import { children, type Tree } from "../../core/expr/tree.ts";
import { OPS } from "../../core/expr/registry.ts";
import type { Dual } from "../../core/expr/algebra.ts";
import { emit, type Sym, SymGraph } from "./symbolic.ts";

/** The derivative of f itself: the weight alone, no operation (as metaloss.ts's ONE). */
const ONE = "one";
interface NodeDual {
  v: Sym;
  d: Sym | typeof ONE | null;
}

export interface SymbolicLoss {
  graph: SymGraph;
  /** The element-wise loss value. */
  value: Sym;
  /** dl/df, or null where the loss does not depend on f (or only through sign). */
  derivative: Sym | null;
  /** The weight inputs, phi[j] as input `p<j>`, for j = 0 .. tree.length - 1. */
  weights: Sym[];
}

/** The tree's value and derivative as graphs over the inputs `y`, `f` and `p<j>`. */
export function symbolicLoss(tree: Tree): SymbolicLoss {
  const graph = new SymGraph();
  const A = graph.algebra();
  const y = graph.input("y");
  const f = graph.input("f");
  const weights = tree.map((_, j) => graph.input(`p${j}`));
  const node = (index: number): NodeDual => {
    const n = tree[index];
    if (n === "y") return { v: y, d: null };
    if (n === "fx") return { v: f, d: ONE };
    if (typeof n === "number") return { v: graph.constant(n), d: null };
    const passUp = (k: number): Dual<Sym> => {
      const c = node(k);
      const d = c.d === null ? null : c.d === ONE ? weights[k] : A.mul(c.d, weights[k]);
      return { v: A.mul(c.v, weights[k]), d };
    };
    const [first, second] = children(tree, index).map(passUp);
    return OPS[n].rule(A, first, second ?? first);
  };
  const root = node(0);
  const derivative = root.d === ONE ? graph.constant(1) : root.d;
  return { graph, value: root.v, derivative, weights };
}

/** Where an input lives in the generated functions. */
function inputs(name: string): string {
  return name.startsWith("p") ? name : name === "fdot" ? "fd" : name;
}

/** The weights a graph reads, as `let p<j> = phi[pb + j];` lines. */
function weightLoads(lines: string[], count: number): string[] {
  const used = Array.from({ length: count }, (_, j) => j).filter((j) =>
    lines.some((l) => new RegExp(`\\bp${j}\\b`).test(l))
  );
  return used.map((j) => `let p${j} = phi[pb + ${j}u];`);
}

/**
 * WGSL functions for candidate `c`: `loss_<c>` and, with `hyper`, `hyper_<c>` accumulating into
 * an `array<f32, maxNodes>`. They read `phi` (a storage buffer of the calling shader).
 */
export function lossFunctions(tree: Tree, c: number, maxNodes: number, hyper: boolean): string {
  const s = symbolicLoss(tree);
  const outputs = s.derivative === null ? [s.value] : [s.value, s.derivative];
  const body = emit(outputs, inputs, "t");
  const d = s.derivative === null ? "0.0" : body.names[1];
  const out = [
    `fn loss_${c}(y: f32, f: f32, pb: u32) -> vec2f {`,
    ...weightLoads(body.lines, tree.length).map((l) => `  ${l}`),
    ...body.lines.map((l) => `  ${l}`),
    `  return vec2f(${body.names[0]}, ${d});`,
    `}`,
  ];
  if (hyper) {
    const lines: string[] = [];
    if (s.derivative !== null) {
      const fdot = s.graph.input("fdot");
      const adj = s.graph.adjoints(s.derivative, fdot, s.weights);
      const present = adj.flatMap((a, j) => (a === null ? [] : [{ a, j }]));
      const h = emit(present.map((p) => p.a), inputs, "h");
      lines.push(...weightLoads(h.lines, tree.length), ...h.lines);
      present.forEach((p, i) => lines.push(`(*acc)[${p.j}] += ${h.names[i]};`));
    }
    out.push(
      `fn hyper_${c}(y: f32, f: f32, fd: f32, pb: u32, acc: ptr<function, array<f32, ${maxNodes}>>) {`,
      ...lines.map((l) => `  ${l}`),
      `}`,
    );
  }
  return out.join("\n");
}

/**
 * The functions of several candidates and the two that dispatch on the candidate,
 * `loss_at(k, y, f, pb)` and (with `hyper`) `hyper_at(k, y, f, fd, pb, acc)`: the switch of
 * a stack's shader, or of a one-candidate shader when `candidates` has one entry.
 */
export function stackFunctions(
  trees: readonly Tree[],
  candidates: readonly number[],
  maxNodes: number,
  hyper: boolean,
): string {
  const out = [
    ...candidates.map((k) => lossFunctions(trees[k], k, maxNodes, hyper)),
    `fn loss_at(k: u32, y: f32, f: f32, pb: u32) -> vec2f {`,
    `  switch k {`,
    ...candidates.map((k) => `    case ${k}u: { return loss_${k}(y, f, pb); }`),
    `    default: { return vec2f(0.0); }`,
    `  }`,
    `}`,
  ];
  if (hyper) {
    out.push(
      `fn hyper_at(k: u32, y: f32, f: f32, fd: f32, pb: u32, ` +
        `acc: ptr<function, array<f32, ${maxNodes}>>) {`,
      `  switch k {`,
      ...candidates.map((k) => `    case ${k}u: { hyper_${k}(y, f, fd, pb, acc); }`),
      `    default: {}`,
      `  }`,
      `}`,
    );
  }
  return out.join("\n");
}
