/**
 * Small, dependency-free SVG 1.1 charts: a line chart (numeric x, optional log y) and a stacked
 * bar chart. Each is built as a `Panel` (a fragment with its size) so several can share one
 * standalone document; all text is escaped, so labels may hold any characters.
 */
import { escapeXml, formatSig, textWidth } from "./format.ts";

export const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
export const COLORS = {
  blue: "#0072B2",
  vermillion: "#D55E00",
  green: "#009E73",
  orange: "#E69F00",
  purple: "#CC79A7",
  sky: "#56B4E9",
  grey: "#999999",
  ink: "#222222",
  muted: "#555555",
  grid: "#E4E4E4",
} as const;

const TICK_FONT = 12;
const LABEL_FONT = 13;
const TITLE_FONT = 15;

/** A chart fragment, drawn in its own coordinates from (0, 0) to (width, height). */
export interface Panel {
  width: number;
  height: number;
  body: string;
  /** x of the plot area's left edge, so stacked panels can line their axes up. */
  plotLeft?: number;
}

type AttrValue = string | number | undefined;

/** ` name="value"` pairs, escaped; undefined values are left out. */
export function attrs(values: Record<string, AttrValue>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(typeof v === "number" ? round(v) : v!)}"`)
    .join("");
}

/** Coordinates to 0.01 px: enough for any screen, and keeps the files small. */
function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

export function text(x: number, y: number, content: string, more: Record<string, AttrValue> = {}) {
  return `<text${attrs({ x, y, fill: COLORS.ink, ...more })}>${escapeXml(content)}</text>`;
}

/** Stacks panels vertically in one standalone SVG document. */
export function svgDocument(title: string, panels: readonly Panel[], gap = 20): string {
  const width = Math.max(0, ...panels.map((p) => p.width));
  const height = panels.reduce((h, p) => h + p.height, 0) + gap * Math.max(0, panels.length - 1);
  let y = 0;
  const parts = panels.map((p) => {
    const g = `<g transform="translate(0 ${round(y)})">\n${p.body}\n</g>`;
    y += p.height + gap;
    return g;
  });
  return [
    `<svg${
      attrs({
        xmlns: "http://www.w3.org/2000/svg",
        version: "1.1",
        width: Math.ceil(width),
        height: Math.ceil(height),
        viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
        "font-family": FONT,
        "font-size": TICK_FONT,
      })
    }>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect${attrs({ width: Math.ceil(width), height: Math.ceil(height), fill: "#ffffff" })}/>`,
    ...parts,
    "</svg>",
  ].join("\n");
}

/** A chart with nothing to plot: its title and a note saying why. */
export function emptyChart(title: string, message: string, width = 720): string {
  const body = [
    text(16, 26, title, { "font-size": TITLE_FONT, "font-weight": "bold" }),
    text(width / 2, 80, message, { "text-anchor": "middle", fill: COLORS.muted }),
  ].join("\n");
  return svgDocument(title, [{ width, height: 120, body }]);
}

// ---- ticks and scales ----

/** A round step (1, 2 or 5 times a power of ten) giving about `target` intervals over `span`. */
export function niceStep(span: number, target = 5): number {
  const rough = span / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / magnitude;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
}

/** Round ticks from at or below `min` to at or above `max`; whole numbers only if `integer`. */
export function niceTicks(min: number, max: number, target = 5, integer = false): number[] {
  if (!(max > min)) {
    const pad = integer ? 1 : Math.abs(min) * 0.1 || 1;
    [min, max] = [min - pad, max + pad];
  }
  let step = niceStep(max - min, target);
  if (integer) step = Math.max(1, step);
  // Tick k is k * step, rounded to the step's decimals, so no float noise like 0.30000000000000004.
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
  const [first, last] = [Math.floor(min / step + 1e-9), Math.ceil(max / step - 1e-9)];
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toFixed(decimals)));
  return ticks;
}

/** Powers of ten from at or below `min` to at or above `max` (both positive). */
export function logTicks(min: number, max: number): number[] {
  const [k0, k1] = [Math.floor(Math.log10(min)), Math.ceil(Math.log10(max))];
  const last = k1 > k0 ? k1 : k0 + 1;
  // Thin out very wide ranges so labels do not crowd: at most about 8 ticks.
  const every = Math.ceil((last - k0 + 1) / 8);
  const ticks: number[] = [];
  for (let k = k0; k <= last; k += every) ticks.push(Number(`1e${k}`));
  if (Math.log10(ticks[ticks.length - 1]) < last) ticks.push(Number(`1e${last}`));
  return ticks;
}

/** Log scale pays off when positive values span more than two decades. */
export function spansDecades(values: readonly number[], decades = 2): boolean {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2 || finite.some((v) => v <= 0)) return false;
  return Math.max(...finite) / Math.min(...finite) > 10 ** decades;
}

export function formatTick(v: number): string {
  if (Math.abs(v) >= 1e4 && Math.abs(v) < 1e7 && Number.isInteger(v)) {
    return v.toLocaleString("en-US");
  }
  return formatSig(v, 6);
}

interface Axis {
  toPx(v: number): number;
  ticks: number[];
}

function linearAxis(domain: [number, number], range: [number, number], ticks: number[]): Axis {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  return { toPx: (v) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0), ticks };
}

function logAxis(ticks: number[], range: [number, number]): Axis {
  const [l0, l1] = [Math.log10(ticks[0]), Math.log10(ticks[ticks.length - 1])];
  const [r0, r1] = range;
  return { toPx: (v) => r0 + ((Math.log10(v) - l0) / (l1 - l0 || 1)) * (r1 - r0), ticks };
}

// ---- shared frame: title, axes, labels, legend ----

export interface LegendItem {
  label: string;
  color: string;
  /** A line sample (optionally dashed, with a point marker) or a filled box. */
  swatch: "line" | "dashed" | "box";
}

const LEGEND_ROW = 20;

function legendRows(items: readonly LegendItem[], maxWidth: number): LegendItem[][] {
  const rows: LegendItem[][] = [[]];
  let used = 0;
  for (const item of items) {
    const w = legendItemWidth(item);
    if (used > 0 && used + w > maxWidth) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1].push(item);
    used += w;
  }
  return rows.filter((r) => r.length > 0);
}

function legendItemWidth(item: LegendItem): number {
  return 30 + textWidth(item.label, TICK_FONT) + 20;
}

function drawLegend(rows: LegendItem[][], x: number, y: number): string {
  const out: string[] = [];
  rows.forEach((row, r) => {
    let cx = x;
    const cy = y + r * LEGEND_ROW;
    for (const item of row) {
      if (item.swatch === "box") {
        out.push(
          `<rect${attrs({ x: cx, y: cy - 6, width: 22, height: 12, fill: item.color })}/>`,
        );
      } else {
        out.push(
          `<line${
            attrs({
              x1: cx,
              y1: cy,
              x2: cx + 22,
              y2: cy,
              stroke: item.color,
              "stroke-width": 2.5,
              "stroke-dasharray": item.swatch === "dashed" ? "6 3" : undefined,
            })
          }/>`,
          `<circle${attrs({ cx: cx + 11, cy, r: 3, fill: item.color })}/>`,
        );
      }
      out.push(text(cx + 30, cy + 4, item.label, { class: "legend" }));
      cx += legendItemWidth(item);
    }
  });
  return `<g class="legend-items">\n${out.join("\n")}\n</g>`;
}

interface FrameOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  width: number;
  plotHeight: number;
  yTickLabels: string[];
  legend: readonly LegendItem[];
  marginLeft?: number;
}

interface Frame {
  left: number;
  right: number;
  top: number;
  bottom: number;
  height: number;
  legendRows: LegendItem[][];
  legendTop: number;
}

/** Margins that fit the title, the widest y tick label and the legend rows. */
function frame(o: FrameOptions): Frame {
  const tickWidth = Math.max(0, ...o.yTickLabels.map((t) => textWidth(t, TICK_FONT)));
  const left = Math.max(56, 28 + 10 + tickWidth + 10, o.marginLeft ?? 0);
  const right = o.width - 24;
  const top = o.subtitle ? 62 : 44;
  const bottom = top + o.plotHeight;
  const rows = legendRows(o.legend, right - left);
  const legendTop = bottom + 62;
  const height = rows.length ? legendTop + (rows.length - 1) * LEGEND_ROW + 16 : bottom + 52;
  return { left, right, top, bottom, height, legendRows: rows, legendTop };
}

function drawFrame(
  o: FrameOptions,
  f: Frame,
  y: Axis,
  yTickLabels: string[],
  xTicks: { px: number; label: string }[],
): string {
  const out: string[] = [
    text(f.left, 24, o.title, { "font-size": TITLE_FONT, "font-weight": "bold", class: "title" }),
  ];
  if (o.subtitle) out.push(text(f.left, 44, o.subtitle, { fill: COLORS.muted }));
  y.ticks.forEach((t, i) => {
    const py = y.toPx(t);
    out.push(
      `<line${attrs({ x1: f.left, y1: py, x2: f.right, y2: py, stroke: COLORS.grid })}/>`,
      text(f.left - 8, py + 4, yTickLabels[i], { "text-anchor": "end", class: "tick" }),
    );
  });
  for (const t of xTicks) {
    out.push(
      `<line${attrs({ x1: t.px, y1: f.bottom, x2: t.px, y2: f.bottom + 5, stroke: COLORS.ink })}/>`,
      text(t.px, f.bottom + 19, t.label, { "text-anchor": "middle", class: "tick" }),
    );
  }
  out.push(
    `<path${
      attrs({
        d: `M${round(f.left)} ${round(f.top)}V${round(f.bottom)}H${round(f.right)}`,
        fill: "none",
        stroke: COLORS.ink,
      })
    }/>`,
    text((f.left + f.right) / 2, f.bottom + 40, o.xLabel, {
      "text-anchor": "middle",
      "font-size": LABEL_FONT,
      class: "axis-label",
    }),
    text(0, 0, o.yLabel, {
      transform: `translate(18 ${round((f.top + f.bottom) / 2)}) rotate(-90)`,
      "text-anchor": "middle",
      "font-size": LABEL_FONT,
      class: "axis-label",
    }),
  );
  if (f.legendRows.length) out.push(drawLegend(f.legendRows, f.left, f.legendTop));
  return out.join("\n");
}

function noData(f: Frame): string {
  return text((f.left + f.right) / 2, (f.top + f.bottom) / 2, "No data", {
    "text-anchor": "middle",
    fill: COLORS.muted,
  });
}

// ---- line chart ----

export interface Series {
  name: string;
  /** [x, y] pairs; a null or non-finite y leaves a gap in the line. */
  points: readonly (readonly [number, number | null])[];
  color: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** "auto" (default): logarithmic when positive values span more than two decades. */
  logY?: boolean | "auto";
  /** Ticks on whole x values only (e.g. generations). */
  integerX?: boolean;
  /** Least left margin, to align with another panel. */
  marginLeft?: number;
  width?: number;
  plotHeight?: number;
}

const finiteY = (p: readonly [number, number | null]): p is readonly [number, number] =>
  p[1] !== null && Number.isFinite(p[1]) && Number.isFinite(p[0]);

export function linePanel(o: LineChartOptions): Panel {
  const width = o.width ?? 720;
  const points = o.series.flatMap((s) => s.points.filter(finiteY));
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  // Log only where every value can be drawn on it.
  const log = ys.length > 0 && ys.every((v) => v > 0) &&
    (o.logY === true || ((o.logY ?? "auto") === "auto" && spansDecades(ys)));
  const yTicks = ys.length === 0
    ? [0, 1]
    : log
    ? logTicks(Math.min(...ys), Math.max(...ys))
    : niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const yTickLabels = yTicks.map(formatTick);
  const legend = o.series.map((s): LegendItem => ({
    label: s.name,
    color: s.color,
    swatch: s.dashed ? "dashed" : "line",
  }));
  const fo: FrameOptions = { ...o, width, plotHeight: o.plotHeight ?? 280, yTickLabels, legend };
  const f = frame(fo);
  const y = log
    ? logAxis(yTicks, [f.bottom, f.top])
    : linearAxis([yTicks[0], yTicks[yTicks.length - 1]], [f.bottom, f.top], yTicks);

  // x spans the data exactly (padded when it is a single value); ticks stay inside it.
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  const pad = 8; // keep end points off the y axis
  const x = linearAxis([x0, x1], [f.left + pad, f.right - pad], []);
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor((f.right - f.left) / 90)), o.integerX)
    .filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9)
    .map((t) => ({ px: x.toPx(t), label: formatTick(t) }));

  const out = [drawFrame(fo, f, y, yTickLabels, xTicks)];
  if (points.length === 0) out.push(noData(f));
  for (const s of o.series) {
    const seriesOut: string[] = [];
    let d = "";
    let pen = false;
    for (const p of s.points) {
      if (!finiteY(p)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${round(x.toPx(p[0]))} ${round(y.toPx(p[1]))}`;
      pen = true;
    }
    if (d) {
      seriesOut.push(
        `<path${
          attrs({
            d,
            fill: "none",
            stroke: s.color,
            "stroke-width": 2.5,
            "stroke-linejoin": "round",
            "stroke-dasharray": s.dashed ? "7 4" : undefined,
          })
        }/>`,
      );
    }
    for (const p of s.points.filter(finiteY)) {
      seriesOut.push(
        `<circle${
          attrs({ class: "point", cx: x.toPx(p[0]), cy: y.toPx(p[1]), r: 3, fill: s.color })
        }><title>${escapeXml(`${s.name}: ${formatSig(p[0], 6)}, ${formatSig(p[1], 4)}`)}</title>` +
          `</circle>`,
      );
    }
    out.push(`<g${attrs({ class: "series" })}>\n${seriesOut.join("\n")}\n</g>`);
  }
  return { width, height: f.height, body: out.join("\n"), plotLeft: f.left };
}

export function lineChart(o: LineChartOptions): string {
  return svgDocument(o.title, [linePanel(o)]);
}

// ---- stacked bar chart ----

export interface BarStack {
  name: string;
  /** One value per category. */
  values: readonly number[];
  color: string;
}

export interface StackedBarOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  categories: readonly (string | number)[];
  stacks: readonly BarStack[];
  /** Least left margin, to align with another panel. */
  marginLeft?: number;
  width?: number;
  plotHeight?: number;
}

export function stackedBarPanel(o: StackedBarOptions): Panel {
  const width = o.width ?? 720;
  const n = o.categories.length;
  const totals = o.categories.map((_, i) => o.stacks.reduce((a, s) => a + (s.values[i] || 0), 0));
  const yTicks = niceTicks(0, Math.max(1, ...totals), 4, true);
  const yTickLabels = yTicks.map(formatTick);
  const legend = o.stacks.map((s): LegendItem => ({
    label: s.name,
    color: s.color,
    swatch: "box",
  }));
  const fo: FrameOptions = { ...o, width, plotHeight: o.plotHeight ?? 160, yTickLabels, legend };
  const f = frame(fo);
  const y = linearAxis([0, yTicks[yTicks.length - 1]], [f.bottom, f.top], yTicks);
  const band = (f.right - f.left) / Math.max(1, n);
  const barWidth = Math.min(40, band * 0.75);
  const centre = (i: number) => f.left + band * (i + 0.5);
  // Label every k-th category, k from 1, 2, 5, 10, 20, ... so labels do not collide.
  const widest = Math.max(1, ...o.categories.map((c) => textWidth(String(c), TICK_FONT)));
  const need = widest + 12;
  let every = 1;
  for (let m = 1; band * every < need; m *= 10) {
    every = [m, 2 * m, 5 * m].find((k) => band * k >= need) ?? 10 * m;
  }
  const xTicks = o.categories
    .map((c, i) => ({ px: centre(i), label: String(c), i }))
    .filter((t) => (t.i + 1) % every === 0);

  const out = [drawFrame(fo, f, y, yTickLabels, xTicks)];
  if (n === 0) out.push(noData(f));
  o.categories.forEach((c, i) => {
    let base = 0;
    for (const s of o.stacks) {
      const v = s.values[i] || 0;
      if (v <= 0) continue;
      const [top, bottom] = [y.toPx(base + v), y.toPx(base)];
      out.push(
        `<rect${
          attrs({
            class: "bar",
            x: centre(i) - barWidth / 2,
            y: top,
            width: barWidth,
            height: bottom - top,
            fill: s.color,
          })
        }><title>${escapeXml(`${o.xLabel} ${c}: ${s.name} ${v}`)}</title></rect>`,
      );
      base += v;
    }
  });
  return { width, height: f.height, body: out.join("\n"), plotLeft: f.left };
}

export function stackedBarChart(o: StackedBarOptions): string {
  return svgDocument(o.title, [stackedBarPanel(o)]);
}
