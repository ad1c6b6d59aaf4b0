import { assert, assertEquals } from "./support/assert.ts";
import type { SearchResult } from "../core/result.ts";
import { combineFinal, type FinalComparison } from "../core/final.ts";
import { splitWarnings } from "../core/warnings.ts";
import type { Tree } from "../core/expr/tree.ts";
import { toInfix } from "../core/expr/print.ts";
import { simplified } from "../core/expr/simplify.ts";
import { searchConfig } from "../core/search.ts";
import { convergenceChart, expressionTreeChart, learningCurvesChart } from "../report/charts.ts";
import { layoutTree } from "../report/tree_chart.ts";
import { lineChart, niceTicks, spansDecades } from "../report/svg.ts";
import { escapeXml, formatSig } from "../report/format.ts";
import { renderReport, writeReport } from "../report/html.ts";

// ---- fixture: a small, realistic classification search ----

const BEST: Tree = ["add", "mul", -1, "mul", "y", "log", "fx", "square", "sub", "y", "fx"];
const BEST_PHI = [1, 0.98234, 1, 1.2713, 1, 0.55512, 1, 0.031415, 1, -2.5e-5, 1];
const SECOND: Tree = ["square", "sub", "y", "fx"];
const SECOND_PHI = [1, 1.0412, 0.9731, 1];

const loss = (rank: number, tree: Tree, phi: number[], fitness: number) => ({
  rank,
  infix: toInfix(tree, phi, { digits: 4 }),
  latex: "",
  structure: { infix: toInfix(tree), latex: "" },
  simplified: simplified(tree, phi),
  canonical: "",
  tree,
  phi,
  fitness,
});

const gen = (
  generation: number,
  counts: [number, number, number, number],
  best: number | null,
  median: number | null,
) => ({
  generation,
  population: 8,
  cacheHits: counts[0],
  rejected: counts[1],
  equivalent: counts[2],
  distinct: 8 - counts[0],
  evaluated: counts[3],
  diverged: 0,
  failed: 0,
  bestFitness: best,
  medianFitness: median,
  times: { screenMs: 120, localSearchMs: 900, fitnessMs: 300, wallMs: 1400 },
});

function fixture(name = "iris", final = fixtureFinal()): SearchResult {
  const rows = { train: 108, validation: 12, test: 30 };
  const losses = [loss(1, BEST, BEST_PHI, 0.0833), loss(2, SECOND, SECOND_PHI, 0.1667)];
  return {
    kind: "lossmith.search-result",
    createdAt: "2025-01-02T03:04:05.000Z",
    versions: { lossmith: "0.1.0", deno: "2.9.6", v8: "15.0", typescript: "6.0.3", tfjs: "4.22.0" },
    backend: { name: "cpu", workers: 2 },
    config: searchConfig({ kind: "bundled", name: "iris" }, {
      request: {
        model: { kind: "mlp", hidden: [16] },
        budget: { population: 8, generations: 3 },
        gp: { hallOfFameSize: 2 },
        final: { steps: 200, seeds: 3 },
        seed: 7,
      },
    }),
    stopped: "generations",
    dataset: {
      name,
      task: "classification",
      inputs: 4,
      classes: 3,
      rows,
    },
    losses,
    generations: [
      gen(1, [0, 3, 1, 4], 0.1667, 0.25),
      gen(2, [2, 2, 1, 3], 0.0833, null),
      gen(3, [4, 1, 0, 3], 0.0833, 0.1667),
    ],
    totals: {
      generations: 3,
      evaluations: 10,
      distinctLosses: 15,
      cacheHits: 6,
      rejected: 6,
      equivalent: 2,
      diverged: 0,
      failed: 0,
      wallMs: 4200,
    },
    final,
    outcome: final.verdict.outcome,
    conclusion: final.verdict.words,
    warnings: splitWarnings("classification", rows, losses, final),
  };
}

/** Test metrics and curves per seed of each loss, as the final runs would give them. */
const LEARNED_RUNS = [0.0333, 0.0667, null];
const STANDARD_RUNS = [0.1, 0.0667, 0.1333];
const curveOf = (rate: number, floor: number) =>
  Array.from({ length: 20 }, (_, i) => 0.7 * Math.exp(-i / rate) + floor);

function fixtureFinal(tuneLr = false): FinalComparison {
  const settings = {
    steps: 200,
    seeds: 3,
    inner: { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
    batchSize: 128,
    baseSeed: 7,
    tuneLr,
    lrGrid: [0.01, 0.1],
    significance: 0.05,
  };
  const seeds = [1007, 2007, 3007];
  return combineFinal("classification", settings, (r) => {
    const i = seeds.indexOf(r.seed);
    // At lr 0.1 the standard loss does better than the learned loss at either rate.
    const value = r.loss === "learned" ? LEARNED_RUNS[i] : r.lr === 0.1 ? 0.02 : STANDARD_RUNS[i];
    return value === null
      ? { value: null, validation: null, curve: [] }
      : { value, validation: value, curve: curveOf(r.loss === "learned" ? 4 : 6, value) };
  });
}

// ---- a tiny XML well-formedness check (Deno has no DOMParser) ----

const ENTITY = /&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);/y;

function checkAmpersands(text: string, where: number): void {
  for (let i = text.indexOf("&"); i !== -1; i = text.indexOf("&", i + 1)) {
    ENTITY.lastIndex = i;
    assert(ENTITY.test(text), `bare & at ${where + i}: ${text.slice(i, i + 12)}`);
  }
}

/** Throws unless `xml` is one balanced element tree with quoted, escaped attributes. */
function checkXml(xml: string): { elements: string[] } {
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  const stack: string[] = [];
  const elements: string[] = [];
  let roots = 0;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const content = xml.slice(i, lt === -1 ? xml.length : lt);
    checkAmpersands(content, i);
    if (stack.length === 0) assert(content.trim() === "", `text outside the root at ${i}`);
    if (lt === -1) break;
    if (xml.startsWith("<?", lt)) {
      assert(lt === 0, "XML declaration must come first");
      i = xml.indexOf("?>", lt) + 2;
      continue;
    }
    if (xml.startsWith("<!--", lt)) {
      i = xml.indexOf("-->", lt) + 3;
      continue;
    }
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    assert(m, `malformed tag at ${lt}: ${xml.slice(lt, lt + 40)}`);
    const [, closing, name, attributes, selfClosing] = m;
    checkAmpersands(attributes, lt);
    const names = [...attributes.matchAll(/([\w:.-]+)\s*=/g)].map((a) => a[1]);
    assertEquals(new Set(names).size, names.length, `duplicate attribute in <${name}>`);
    if (closing) {
      assertEquals(stack.pop(), name, `</${name}> at ${lt} closes the wrong element`);
    } else {
      if (stack.length === 0) roots++;
      elements.push(name);
      if (!selfClosing) stack.push(name);
    }
    i = tag.lastIndex;
  }
  assertEquals(stack, [], "unclosed elements");
  assertEquals(roots, 1, "exactly one root element");
  return { elements };
}

function checkSvg(svg: string): void {
  checkXml(svg);
  assert(svg.startsWith("<svg"), "an svg root");
  assert(svg.includes('xmlns="http://www.w3.org/2000/svg"'));
  assert(/viewBox="0 0 \d+ \d+"/.test(svg), "a viewBox");
  assert(svg.includes("<title>"), "a title");
}

const count = (text: string, needle: string) => text.split(needle).length - 1;
const textsOfClass = (svg: string, cls: string) =>
  [...svg.matchAll(new RegExp(`<text[^>]* class="${cls}"[^>]*>([^<]*)</text>`, "g"))].map((m) =>
    m[1]
  );

// ---- tests ----

Deno.test("report: the scanner catches what it should", () => {
  checkXml('<svg a="1"><g><text>x &amp; y</text></g><rect/></svg>');
  for (const bad of ["<svg><g></svg>", "<svg>a & b</svg>", '<svg a="1" a="2"/>', "<a/><b/>"]) {
    let threw = false;
    try {
      checkXml(bad);
    } catch {
      threw = true;
    }
    assert(threw, `should reject ${bad}`);
  }
});

Deno.test("report: ticks are round numbers without float noise", () => {
  assertEquals(niceTicks(0.031, 0.27), [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
  assertEquals(niceTicks(1, 3, 5, true), [1, 2, 3]);
  assertEquals(niceTicks(10, 200), [0, 50, 100, 150, 200]);
  assert(spansDecades([1e-4, 0.5]));
  assert(!spansDecades([0.02, 0.9]));
  assert(!spansDecades([0, 1e-4, 0.5]), "zero cannot go on a log axis");
});

Deno.test("report: convergence chart has one point per fitness and one bar per count", () => {
  const r = fixture();
  const svg = convergenceChart(r);
  checkSvg(svg);
  const fitnesses = r.generations.flatMap((g) => [g.bestFitness, g.medianFitness]);
  assertEquals(count(svg, 'class="point"'), fitnesses.filter((f) => f !== null).length);
  const counts = r.generations.flatMap((g) => [
    g.evaluated,
    g.equivalent,
    g.rejected,
    g.failed,
    g.cacheHits,
  ]);
  assertEquals(count(svg, 'class="bar"'), counts.filter((c) => c > 0).length);
  for (const label of ["Best fitness", "Median fitness", "Rejected", "Cache hits", "Generation"]) {
    assert(svg.includes(label), label);
  }
});

Deno.test("report: learning curves plot every curve point and note mean ± std", () => {
  const r = fixture();
  const svg = learningCurvesChart(r);
  checkSvg(svg);
  const f = r.final!;
  assertEquals(count(svg, 'class="point"'), f.learned.curve.length + f.standard.curve.length);
  const legend = textsOfClass(svg, "legend");
  assertEquals(legend.length, 2);
  assert(legend[0].includes("0.05 ± 0.024") && legend[0].includes("2/3 seeds"), legend[0]);
  assert(legend[1].includes("0.1 ± 0.033") && legend[1].includes("3/3 seeds"), legend[1]);
  // x runs from curveEvery to 20 * curveEvery.
  assert(svg.includes(">200</text>") && svg.includes("Training steps"));
});

Deno.test("report: tree chart draws each node once and labels edges with phi", () => {
  const svg = expressionTreeChart(BEST, BEST_PHI);
  checkSvg(svg);
  assertEquals(count(svg, '<g class="node">'), BEST.length);
  const labels = textsOfClass(svg, "edge-label");
  assertEquals(labels, BEST_PHI.slice(1).map((p) => formatSig(p, 3)));
  labels.forEach((l, i) => {
    const phi = BEST_PHI[i + 1];
    assert(Math.abs(Number(l) - phi) <= 5e-3 * Math.abs(phi), `${l} vs ${phi}`);
  });
  for (const op of ["+", "×", "−", "square", "log", "f(x)", "-1"]) {
    assert(svg.includes(`>${op}</text>`), op);
  }
  assert(count(svg, "<line") === BEST.length - 1, "one edge per non-root node");
});

Deno.test("report: tree chart shortens a long formula rather than widening without end", () => {
  // A left-deep sum of 13 weighted terms: about 150 characters of formula.
  const tree: Tree = [
    ...Array(12).fill("add"),
    ...Array.from({ length: 13 }, (_, i) => i % 2 ? "fx" : "y"),
  ];
  const svg = expressionTreeChart(tree, tree.map((_, i) => 1 + i / 7));
  checkSvg(svg);
  const formula = textsOfClass(svg, "formula")[0];
  assert(
    formula.startsWith("L = ") && [...formula].length === 111 && formula.endsWith("…"),
    formula,
  );
});

Deno.test("report: tree layout spaces leaves evenly and centres parents", () => {
  const nodes = layoutTree(BEST);
  const leaves = nodes.filter((n) => n.kind !== "op").map((n) => n.slot);
  assertEquals(leaves, leaves.map((_, i) => i));
  for (const n of nodes.filter((n) => n.kind === "op")) {
    const kids = nodes.filter((c) => c.parent === n.index).map((c) => c.slot);
    assertEquals(n.slot, (kids[0] + kids[kids.length - 1]) / 2);
  }
});

Deno.test("report: text is escaped in charts and the page", () => {
  const r = fixture("weird <data> & co");
  for (const svg of [convergenceChart(r), learningCurvesChart(r)]) {
    checkSvg(svg);
    assert(svg.includes("weird &lt;data&gt; &amp; co"));
    assert(!svg.includes("<data>"));
  }
  const svg = lineChart({
    title: "a < b & c",
    xLabel: "x<1",
    yLabel: "y&",
    series: [{ name: 's "q" <\'>', color: "#000", points: [[1, 2], [2, null], [3, 1]] }],
  });
  checkSvg(svg);
  assertEquals(count(svg, 'class="point"'), 2);
  assert(svg.includes("a &lt; b &amp; c") && svg.includes("x&lt;1"));
  const html = renderReport(r);
  assert(html.includes("weird &lt;data&gt; &amp; co") && !html.includes("<data>"));
});

Deno.test("report: log y when values span more than two decades", () => {
  const svg = lineChart({
    title: "mse",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "s", color: "#000", points: [[1, 2], [2, 0.05], [3, 1e-3]] }],
  });
  checkSvg(svg);
  for (const t of ["0.001", "0.01", "0.1", "1", "10"]) assert(svg.includes(`>${t}</text>`), t);
});

Deno.test("report: empty results still give valid charts", () => {
  const r = { ...fixture(), generations: [], losses: [], final: undefined };
  for (const svg of [convergenceChart(r), learningCurvesChart(r)]) checkSvg(svg);
  const html = renderReport(r);
  assert(html.includes("no final evaluation") && html.includes("found no loss"));
});

Deno.test("report: the page holds every loss, the comparison and well-formed charts", () => {
  const r = fixture();
  const html = renderReport(r);
  for (const l of r.losses) assert(html.includes(escapeXml(l.infix)), l.infix);
  for (const v of ["0.05 ± 0.024", "0.1 ± 0.033", "diverged", "0.0333", "-0.05 (-50%)"]) {
    assert(html.includes(v), v);
  }
  assert(!/\s(src|href)=/.test(html), "no external assets");
  const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
  assertEquals(svgs.length, 3);
  svgs.forEach(checkSvg);
  for (const t of ["4.2 s", "cpu", "2.9.6", "4.22.0"]) assert(html.includes(t), t);
});

Deno.test("report: writeReport writes the page and three SVG files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lossmith-report-" });
  try {
    const out = await writeReport(fixture(), `${dir}/nested`);
    assert(out.html.endsWith("report.html"));
    assertEquals(out.svgs.map((p) => p.split("/").pop()), [
      "convergence.svg",
      "learning-curves.svg",
      "best-loss-tree.svg",
    ]);
    for (const p of out.svgs) checkXml(await Deno.readTextFile(p));
    assert((await Deno.readTextFile(out.html)).startsWith("<!DOCTYPE html>"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report: the verdict, both comparisons, the learning-rate trials and the warnings", () => {
  const r = fixture("iris", fixtureFinal(true));
  const f = r.final!;
  // The standard loss at its own best rate (0.1) beats the learned loss: keep the standard.
  assertEquals([f.tuned?.lr.standard, r.outcome], [0.1, "worse"]);
  const html = renderReport(r);
  for (
    const text of [
      "The paper's comparison",
      "Tuned comparison: each loss at its own best learning rate",
      "Keep the standard loss, cross-entropy.",
      "Standard, cross-entropy (lr 0.1)",
      "The validation split has 12 rows",
      "The test split has 30 rows",
    ]
  ) assert(html.includes(text) || html.includes(escapeXml(text)), text);
  assert(html.indexOf("<h2>Verdict</h2>") < html.indexOf("<h2>Setup</h2>"), "the verdict first");
  // Both rows' curves: four series, every point drawn.
  const svg = learningCurvesChart(r);
  checkSvg(svg);
  assertEquals(textsOfClass(svg, "legend").length, 4);
  const points = [f.learned, f.standard, f.tuned!.learned, f.tuned!.standard]
    .reduce((n, s) => n + s.curve.length, 0);
  assertEquals(count(svg, 'class="point"'), points);
});
