/**
 * A loss's expression tree as an SVG diagram: labelled boxes for nodes, each edge labelled with
 * the learned weight that scales the child's value on its way to the parent.
 */
import { toInfix } from "../core/expr/print.ts";
import { OPS } from "../core/expr/registry.ts";
import { children, isOp, type Node, type Tree } from "../core/expr/tree.ts";
import { escapeXml, formatSig, textWidth } from "./format.ts";
import { attrs, COLORS, svgDocument, text } from "./svg.ts";

export type NodeKind = "op" | "input" | "constant";

export function nodeLabel(node: Node): string {
  if (typeof node === "number") return formatSig(node, 3);
  if (node === "y") return "y";
  if (node === "fx") return "f(x)";
  return isOp(node) ? OPS[node].label : String(node);
}

function nodeKind(node: Node): NodeKind {
  return typeof node === "number" ? "constant" : isOp(node) ? "op" : "input";
}

export interface PlacedNode {
  /** Position in the prefix array (and in phi). */
  index: number;
  label: string;
  kind: NodeKind;
  depth: number;
  /** Horizontal position in leaf slots: leaves at 0, 1, 2, ...; parents centred over children. */
  slot: number;
  parent: number | null;
}

/** Tidy layout: leaves spaced evenly left to right, each parent centred over its children. */
export function layoutTree(tree: Tree): PlacedNode[] {
  const placed: PlacedNode[] = [];
  let nextLeaf = 0;
  const place = (index: number, depth: number, parent: number | null): number => {
    const node: PlacedNode = {
      index,
      label: nodeLabel(tree[index]),
      kind: nodeKind(tree[index]),
      depth,
      slot: 0,
      parent,
    };
    placed.push(node);
    const slots = children(tree, index).map((c) => place(c, depth + 1, index));
    node.slot = slots.length ? (slots[0] + slots[slots.length - 1]) / 2 : nextLeaf++;
    return node.slot;
  };
  place(0, 0, null);
  return placed.sort((a, b) => a.index - b.index);
}

const STYLE: Record<NodeKind, { fill: string; stroke: string }> = {
  op: { fill: "#E6F0F8", stroke: COLORS.blue },
  input: { fill: "#E3F4EE", stroke: COLORS.green },
  constant: { fill: "#FCEFD9", stroke: COLORS.orange },
};

const NODE_FONT = 14;
const NODE_HEIGHT = 30;
const LEVEL = 84;
const MAX_FORMULA = 110;
/** Where along an edge (0 parent, 1 child) its weight is written. */
const LABEL_AT = 0.6;

export interface TreeChartOptions {
  title?: string;
  /** Shown under the title; defaults to the formula with its weights. */
  subtitle?: string;
}

export function expressionTreeChart(
  tree: Tree,
  phi: readonly number[],
  options: TreeChartOptions = {},
): string {
  if (phi.length !== tree.length) {
    throw new Error(`phi has ${phi.length} weights for a tree of ${tree.length} nodes`);
  }
  const nodes = layoutTree(tree);
  const boxWidth = (label: string) => Math.max(40, textWidth(label, NODE_FONT) + 22);
  const weight = (i: number) => formatSig(phi[i], 3);
  // A slot must fit the widest node, and two sibling edge labels (LABEL_AT of a slot apart).
  const widestNode = Math.max(...nodes.map((n) => boxWidth(n.label)));
  const widestWeight = Math.max(0, ...nodes.slice(1).map((n) => textWidth(weight(n.index), 12)));
  const slot = Math.max(widestNode + 20, (widestWeight + 12) / LABEL_AT, 76);
  const leaves = nodes.filter((n) => n.kind !== "op").length;
  const depth = Math.max(...nodes.map((n) => n.depth));

  const title = options.title ?? "Best loss: expression tree";
  let subtitle = options.subtitle ?? `L = ${toInfix(tree, phi)}`;
  if ([...subtitle].length > MAX_FORMULA) {
    subtitle = [...subtitle].slice(0, MAX_FORMULA).join("") + "…";
  }
  const width = Math.max(leaves * slot + 40, textWidth(subtitle, 12) + 40, 420);
  const top = 84;
  const height = top + depth * LEVEL + NODE_HEIGHT / 2 + 54;
  const offset = (width - leaves * slot) / 2;
  const px = (n: PlacedNode) => offset + (n.slot + 0.5) * slot;
  const py = (n: PlacedNode) => top + n.depth * LEVEL;

  const edges: string[] = [];
  const labels: string[] = [];
  for (const n of nodes) {
    if (n.parent === null) continue;
    const p = nodes[n.parent];
    const [x1, y1, x2, y2] = [px(p), py(p) + NODE_HEIGHT / 2, px(n), py(n) - NODE_HEIGHT / 2];
    edges.push(`<line${attrs({ x1, y1, x2, y2, stroke: COLORS.muted, "stroke-width": 1.5 })}/>`);
    // The label sits on the edge, past its middle where siblings' edges are further apart, over
    // a white patch so the line does not cross it.
    const w = weight(n.index);
    const [mx, my] = [x1 + (x2 - x1) * LABEL_AT, y1 + (y2 - y1) * LABEL_AT];
    const lw = textWidth(w, 12) + 8;
    labels.push(
      `<rect${attrs({ x: mx - lw / 2, y: my - 9, width: lw, height: 17, fill: "#ffffff" })}/>`,
      text(mx, my + 4, w, {
        class: "edge-label",
        "text-anchor": "middle",
        // Weights that stayed at 1 recede; the ones local search moved stand out.
        fill: w === "1" ? COLORS.muted : COLORS.vermillion,
      }),
    );
  }
  const boxes = nodes.map((n) => {
    const w = boxWidth(n.label);
    const style = STYLE[n.kind];
    return [
      `<g class="node">`,
      `<title>${escapeXml(`node ${n.index}: ${n.kind} ${n.label}`)}</title>`,
      `<rect${
        attrs({
          x: px(n) - w / 2,
          y: py(n) - NODE_HEIGHT / 2,
          width: w,
          height: NODE_HEIGHT,
          rx: n.kind === "op" ? 6 : 15,
          fill: style.fill,
          stroke: style.stroke,
          "stroke-width": 1.5,
        })
      }/>`,
      text(px(n), py(n) + 5, n.label, {
        "text-anchor": "middle",
        "font-size": NODE_FONT,
        "font-weight": n.kind === "op" ? "bold" : undefined,
      }),
      `</g>`,
    ].join("");
  });
  const body = [
    text(20, 24, title, { "font-size": 15, "font-weight": "bold", class: "title" }),
    text(20, 44, subtitle, { fill: COLORS.muted, class: "formula" }),
    ...edges,
    ...labels,
    ...boxes,
    text(20, height - 14, "Edge labels: learned weight φ scaling the child's value.", {
      fill: COLORS.muted,
    }),
  ].join("\n");
  return svgDocument(title, [{ width, height, body }]);
}
