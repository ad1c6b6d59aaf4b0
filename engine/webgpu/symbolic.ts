/**
 * Element-wise expressions as a graph of operations, for compiling losses to WGSL
 * (loss_wgsl.ts): the registry's rules (core/expr/registry.ts) run on this algebra give the
 * loss's value and its derivative with respect to f(x) as graphs, and `adjoints` gives the
 * derivatives of a graph with respect to its inputs (reverse mode, symbolically), so no
 * derivative is ever computed by walking a tree per element.
 *
 * Equal operations on equal operands are one node (hash-consing), so a value the value and the
 * derivatives share is computed once. The adjoint rules follow tfjs's gradient conventions (and
 * engine/tensor/gradients.ts's corrections) at ties and kinks, so that the WGSL derivatives are
 * the ones the cpu backend's autodiff gives.
 */
import type { DualAlgebra } from "../../core/expr/algebra.ts";

export type SymOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "square"
  | "sqrt"
  | "abs"
  | "tanh"
  | "sign"
  | "log"
  | "max"
  | "min"
  | "neg"
  | "step"
  | "ge"
  | "le"
  | "gt"
  | "lt";

export type Sym =
  | { readonly id: number; readonly kind: "input"; readonly name: string }
  | { readonly id: number; readonly kind: "const"; readonly value: number }
  | {
    readonly id: number;
    readonly kind: "op";
    readonly op: SymOp;
    readonly args: readonly Sym[];
    /** step's value where x <= 0. */
    readonly alpha?: number;
  };

/** Operations with a derivative of zero everywhere (tfjs: Sign, Step, comparisons). */
const FLAT: ReadonlySet<SymOp> = new Set(["sign", "step", "ge", "le", "gt", "lt"]);

/** One graph: its nodes are shared between the expressions built in it. */
export class SymGraph {
  readonly #nodes = new Map<string, Sym>();
  #next = 0;

  #intern(key: string, make: (id: number) => Sym): Sym {
    let node = this.#nodes.get(key);
    if (!node) {
      node = make(this.#next++);
      this.#nodes.set(key, node);
    }
    return node;
  }

  input(name: string): Sym {
    return this.#intern(`in:${name}`, (id) => ({ id, kind: "input", name }));
  }

  /** A float32 constant: every value is rounded to float32, as a tfjs scalar would be. */
  constant(value: number): Sym {
    const v = Math.fround(value);
    // -0 and 0 are one key in a Map's string; keep the sign apart.
    const key = Object.is(v, -0) ? "c:-0" : `c:${v}`;
    return this.#intern(key, (id) => ({ id, kind: "const", value: v }));
  }

  op(op: SymOp, args: (Sym | number)[], alpha?: number): Sym {
    const syms = args.map((a) => (typeof a === "number" ? this.constant(a) : a));
    const key = `${op}${alpha === undefined ? "" : `@${alpha}`}(${syms.map((s) => s.id)})`;
    return this.#intern(key, (id) => ({ id, kind: "op", op, args: syms, alpha }));
  }

  /** The registry's operations on this graph. */
  algebra(): DualAlgebra<Sym> {
    return {
      add: (a, b) => this.op("add", [a, b]),
      sub: (a, b) => this.op("sub", [a, b]),
      mul: (a, b) => this.op("mul", [a, b]),
      div: (a, b) => this.op("div", [a, b]),
      square: (a) => this.op("square", [a]),
      sqrt: (a) => this.op("sqrt", [a]),
      abs: (a) => this.op("abs", [a]),
      tanh: (a) => this.op("tanh", [a]),
      sign: (a) => this.op("sign", [a]),
      log: (a) => this.op("log", [a]),
      maximum: (a, b) => this.op("max", [a, b]),
      minimum: (a, b) => this.op("min", [a, b]),
      neg: (a) => this.op("neg", [a]),
      step: (x, alpha) => this.op("step", [x], alpha),
      greaterEqual: (a, b) => this.op("ge", [a, b]),
      lessEqual: (a, b) => this.op("le", [a, b]),
    };
  }

  /**
   * The derivatives of `output` with respect to each of `wrt`, with `seed` as the adjoint of
   * the output (reverse mode): seed * d output / d w for each w, or null where it is zero.
   */
  adjoints(output: Sym, seed: Sym, wrt: readonly Sym[]): (Sym | null)[] {
    const order = topological([output]);
    const adj = new Map<number, Sym>([[output.id, seed]]);
    const add = (node: Sym, contribution: Sym) => {
      if (node.kind === "const") return;
      const had = adj.get(node.id);
      adj.set(node.id, had ? this.op("add", [had, contribution]) : contribution);
    };
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const g = adj.get(node.id);
      if (!g || node.kind !== "op" || FLAT.has(node.op)) continue;
      const [a, b] = node.args;
      const op = (o: SymOp, ...xs: (Sym | number)[]) => this.op(o, xs);
      switch (node.op) {
        case "add":
          add(a, g);
          add(b, g);
          break;
        case "sub":
          add(a, g);
          add(b, op("neg", g));
          break;
        case "mul":
          add(a, op("mul", g, b));
          add(b, op("mul", g, a));
          break;
        case "div": // tfjs RealDiv: dy / b and -(dy * a) / b^2
          add(a, op("div", g, b));
          add(b, op("neg", op("div", op("mul", g, a), op("square", b))));
          break;
        case "square":
          add(a, op("mul", g, op("mul", a, 2)));
          break;
        case "sqrt":
          add(a, op("div", g, op("mul", op("sqrt", a), 2)));
          break;
        case "abs":
          add(a, op("mul", g, this.op("step", [a], -1)));
          break;
        case "tanh": // from the input, as gradients.ts recomputes it
          add(a, op("mul", g, op("sub", 1, op("square", op("tanh", a)))));
          break;
        case "log":
          add(a, op("div", g, a));
          break;
        case "max": // tfjs Maximum: a where a >= b, b where a < b
          add(a, op("mul", g, op("ge", a, b)));
          add(b, op("mul", g, op("lt", a, b)));
          break;
        case "min": // tfjs Minimum: a where a <= b, b where a > b
          add(a, op("mul", g, op("le", a, b)));
          add(b, op("mul", g, op("gt", a, b)));
          break;
        case "neg":
          add(a, op("neg", g));
          break;
      }
    }
    return wrt.map((w) => adj.get(w.id) ?? null);
  }
}

/** The nodes `outputs` depend on, each after its arguments. */
export function topological(outputs: readonly Sym[]): Sym[] {
  const seen = new Set<number>();
  const order: Sym[] = [];
  // Iterative post-order: a tall tree's graph would overflow a recursive walk's stack.
  const stack: [Sym, number][] = outputs.map((o) => [o, 0]);
  stack.reverse();
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (seen.has(node.id)) {
      stack.pop();
      continue;
    }
    const args = node.kind === "op" ? node.args : [];
    if (next < args.length) {
      top[1]++;
      if (!seen.has(args[next].id)) stack.push([args[next], 0]);
      continue;
    }
    stack.pop();
    seen.add(node.id);
    order.push(node);
  }
  return order;
}

/** A float32 value as a WGSL literal that reads back as exactly that float32. */
export function wgslLiteral(v: number): string {
  if (Number.isNaN(v)) return "bitcast<f32>(0x7fc00000u)";
  if (!Number.isFinite(v)) return v > 0 ? "bitcast<f32>(0x7f800000u)" : "bitcast<f32>(0xff800000u)";
  // The shortest decimal that rounds to this float32 (JavaScript prints the float64 value of the
  // float32, which reads back through the nearest float32 as itself).
  let text = String(Math.fround(v));
  if (!/[.e]/.test(text)) text += ".0";
  return Object.is(v, -0) ? "(-0.0f)" : v < 0 ? `(${text}f)` : `${text}f`;
}

/**
 * WGSL of the elementary operations, with tfjs cpu's semantics for NaN where WGSL's built-ins
 * leave it undefined: max and min propagate NaN (Math.max), step keeps NaN, sign(NaN) is 0, and
 * tanh is taken of a clamped argument, because some GPU drivers compute it as a quotient of
 * exponentials that overflows to NaN for large inputs.
 */
export const WGSL_PRELUDE = `
fn is_nan(x: f32) -> bool {
  let b = bitcast<u32>(x);
  return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0u;
}
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn nan_f32() -> f32 { return bitcast<f32>(0x7fc00000u); }
fn op_max(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return nan_f32(); } return max(a, b); }
fn op_min(a: f32, b: f32) -> f32 { if (is_nan(a) || is_nan(b)) { return nan_f32(); } return min(a, b); }
fn op_step(x: f32, alpha: f32) -> f32 { if (is_nan(x)) { return x; } return select(alpha, 1.0, x > 0.0); }
fn op_sign(x: f32) -> f32 { return select(select(0.0, 1.0, x > 0.0), -1.0, x < 0.0); }
fn op_tanh(x: f32) -> f32 { if (is_nan(x)) { return x; } return tanh(clamp(x, -20.0, 20.0)); }
fn op_flag(c: bool) -> f32 { return select(0.0, 1.0, c); }
fn op_relu(x: f32) -> f32 { return select(x, 0.0, x < 0.0); }
`;

/** The WGSL expression of one operation on its arguments' expressions. */
function opCode(node: Extract<Sym, { kind: "op" }>, a: string, b: string): string {
  switch (node.op) {
    case "add":
      return `${a} + ${b}`;
    case "sub":
      return `${a} - ${b}`;
    case "mul":
      return `${a} * ${b}`;
    case "div":
      return `${a} / ${b}`;
    case "square":
      return `${a} * ${a}`;
    case "sqrt":
      return `sqrt(${a})`;
    case "abs":
      return `abs(${a})`;
    case "tanh":
      return `op_tanh(${a})`;
    case "sign":
      return `op_sign(${a})`;
    case "log":
      return `log(${a})`;
    case "max":
      return `op_max(${a}, ${b})`;
    case "min":
      return `op_min(${a}, ${b})`;
    case "neg":
      return `-${a}`;
    case "step":
      return `op_step(${a}, ${wgslLiteral(node.alpha ?? 0)})`;
    case "ge":
      return `op_flag(${a} >= ${b})`;
    case "le":
      return `op_flag(${a} <= ${b})`;
    case "gt":
      return `op_flag(${a} > ${b})`;
    case "lt":
      return `op_flag(${a} < ${b})`;
  }
}

/**
 * Straight-line WGSL computing `outputs`: one `let` per operation node, in dependency order.
 * `inputName` spells each input; the returned names spell each output.
 */
export function emit(
  outputs: readonly Sym[],
  inputName: (name: string) => string,
  prefix = "t",
): { lines: string[]; names: string[] } {
  const lines: string[] = [];
  const names = new Map<number, string>();
  const ref = (s: Sym): string => {
    if (s.kind === "const") return wgslLiteral(s.value);
    if (s.kind === "input") return inputName(s.name);
    return names.get(s.id)!;
  };
  for (const node of topological(outputs)) {
    if (node.kind !== "op") continue;
    const [a, b] = node.args.map(ref);
    const name = `${prefix}${node.id}`;
    lines.push(`let ${name} = ${opCode(node, a, b)};`);
    names.set(node.id, name);
  }
  return { lines, names: outputs.map(ref) };
}
