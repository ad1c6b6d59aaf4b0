// The Lossmith dashboard: plain browser JavaScript over the /v1 API, no build step. KaTeX renders
// the formulas, uPlot draws the charts; both are served by the service (dashboard/assets.ts).
// Every request carries the visitor's API key when one is set, so the page sees what that key
// sees, and the event stream is read with fetch (EventSource cannot send a key), resuming with
// Last-Event-ID after a dropped connection.
/* global katex, uPlot */
"use strict";

const KEY = "lossmith.key";
const view = document.getElementById("view");
let leave = () => {}; // stops the current view's polling and streams

// ---------------------------------------------------------------------------------------------
// Elements and the API

/** An element with attributes and children; strings become text, never HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function authHeaders() {
  const key = localStorage.getItem(KEY);
  return key ? { authorization: `Bearer ${key}` } : {};
}

class ApiError extends Error {
  constructor(problem) {
    super(`${problem.title}: ${problem.detail}`);
    this.problem = problem;
  }
}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { ...authHeaders(), ...(init.headers ?? {}) },
  });
  if (res.status === 401) askForKey();
  if (!res.ok) {
    const problem = await res.json().catch(() => ({ title: res.statusText, detail: "" }));
    throw new ApiError(problem);
  }
  return res;
}

const getJson = async (path) => (await api(path)).json();

function askForKey() {
  const form = document.getElementById("key-form");
  form.hidden = false;
  document.getElementById("key").focus();
}

document.getElementById("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem(KEY, document.getElementById("key").value.trim());
  document.getElementById("key-form").hidden = true;
  route();
});

async function showAccess() {
  const health = await (await fetch("/healthz")).json();
  const access = document.getElementById("access");
  access.replaceChildren(
    `${health.workers} ${health.backend} workers · `,
    health.auth === "local" ? "local mode" : "API keys",
  );
  if (health.auth === "api-keys") {
    if (!localStorage.getItem(KEY)) askForKey();
    else {
      access.append(
        " · ",
        h("a", {
          href: "#/",
          id: "forget-key",
          onclick: () => {
            localStorage.removeItem(KEY);
            askForKey();
          },
        }, "forget key"),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

const sig = (v, digits = 4) =>
  v === null || v === undefined ? "–" : Number(v.toPrecision(digits)).toString();

function clock(ms) {
  if (ms === null || ms === undefined) return "--:--";
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return `${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** The progress line of the command line, from the same Progress object. */
function progressText(p) {
  const parts = [`phase ${p.phase}`, `generations ${p.generation}/${p.generations}`];
  if (p.final) parts.push(`final runs ${p.final.done}/${p.final.total}`);
  else if (p.current) {
    parts.push(`gen ${p.current.generation} candidates ${p.current.done}/${p.current.pending}`);
  }
  parts.push(
    `evaluations ${p.evaluations}`,
    `best ${sig(p.bestFitness)}`,
    `cache hits ${p.filters.cacheHits}`,
    `rejected ${p.filters.rejected}`,
    `elapsed ${clock(p.elapsedMs)}`,
  );
  if (p.phase !== "done") parts.push(`ETA ${clock(p.etaMs)}`);
  if (p.resumedFrom !== undefined) parts.push(`resumed from generation ${p.resumedFrom}`);
  return parts.join("  ·  ");
}

function math(latex) {
  const el = h("div", { class: "math" });
  katex.render(latex, el, { throwOnError: false, displayMode: true });
  return el;
}

const stateBadge = (state) => h("span", { class: `state ${state}` }, state);

/** A search's labels as chips, `key=value`. */
const labelChips = (labels) =>
  h(
    "span",
    { class: "labels" },
    Object.entries(labels ?? {}).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`)),
  );

// ---------------------------------------------------------------------------------------------
// The list of searches and the form for a new one

async function listView() {
  const [searches, datasets] = await Promise.all([
    getJson("/v1/searches?limit=100"),
    getJson("/v1/datasets?limit=100"),
  ]);
  const table = h(
    "table",
    { id: "searches" },
    h(
      "tr",
      {},
      ["Search", "Labels", "Dataset", "State", "Progress", "Best", "Created"].map((t) =>
        h("th", {}, t)
      ),
    ),
    searches.items.map((s) =>
      h(
        "tr",
        { "data-id": s.id },
        h(
          "td",
          {},
          s.name ? h("span", { class: "name" }, s.name, " ") : null,
          h("a", { href: `#/search/${s.id}`, class: s.name ? "mono muted" : "mono" }, s.id),
        ),
        h("td", {}, labelChips(s.labels)),
        h("td", {}, s.dataset),
        h("td", {}, stateBadge(s.state)),
        h("td", { class: "mono" }, `${s.progress.generation}/${s.progress.generations}`),
        h("td", { class: "num" }, sig(s.progress.bestFitness)),
        h("td", {}, new Date(s.createdAt).toLocaleString()),
      )
    ),
  );
  const message = h("p", { class: "error", id: "submit-error" });
  const form = h(
    "form",
    { class: "new-search", id: "new-search", onsubmit: (e) => submit(e, message) },
    h(
      "label",
      {},
      "Dataset",
      h(
        "select",
        { name: "dataset" },
        datasets.items.map((d) => h("option", { value: d.id }, `${d.name} (${d.task}, ${d.rows})`)),
      ),
    ),
    h("label", {}, "Population", h("input", { name: "population", type: "number", value: 10 })),
    h("label", {}, "Generations", h("input", { name: "generations", type: "number", value: 5 })),
    h("label", {}, "Seed", h("input", { name: "seed", type: "number", value: 1 })),
    h(
      "label",
      {},
      "Other settings (JSON, see docs/settings.md)",
      h("textarea", { name: "settings", placeholder: '{"final": {"seeds": 3}}' }),
    ),
    h("button", { id: "start" }, "Start search"),
  );
  view.replaceChildren(
    h("h2", {}, "New search"),
    form,
    message,
    h("h2", {}, "Searches"),
    searches.items.length ? table : h("p", { class: "muted" }, "No search yet."),
  );
  const timer = setInterval(() => {
    if (!document.activeElement?.closest("form")) route();
  }, 3000);
  leave = () => clearInterval(timer);
}

async function submit(e, message) {
  e.preventDefault();
  const f = new FormData(e.target);
  let extra = {};
  try {
    extra = f.get("settings") ? JSON.parse(f.get("settings")) : {};
  } catch (err) {
    message.textContent = `Other settings: ${err.message}`;
    return;
  }
  const body = {
    ...extra,
    dataset: f.get("dataset"),
    seed: Number(f.get("seed")),
    budget: {
      ...(extra.budget ?? {}),
      population: Number(f.get("population")),
      generations: Number(f.get("generations")),
    },
  };
  try {
    const res = await api("/v1/searches", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const search = await res.json();
    location.hash = `#/search/${search.id}`;
  } catch (err) {
    const where = err.problem?.errors?.map((x) => x.pointer ?? x.parameter).join(", ");
    message.textContent = err.message + (where ? ` (${where})` : "");
  }
}

// ---------------------------------------------------------------------------------------------
// One search, live

/** A uPlot chart in `el`, redrawn from `data` on every update. */
function chart(el, title, series, opts = {}) {
  const plot = new uPlot(
    {
      title,
      width: Math.max(320, el.clientWidth - 8),
      height: 240,
      scales: { x: { time: false } },
      axes: [
        // Generations are whole numbers: no ticks between them.
        { label: opts.xLabel, ...(opts.integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100] } : {}) },
        { label: opts.yLabel, size: 60 },
      ],
      series: [{ label: opts.xLabel }, ...series],
    },
    [[], ...series.map(() => [])],
    el,
  );
  return (data) => plot.setData(data);
}

const OUTCOME_SERIES = [
  ["evaluated", "Evaluated", "#0072B2"],
  ["equivalent", "Equivalent", "#009E73"],
  ["rejected", "Rejected", "#D55E00"],
  ["failed", "Failed", "#CC79A7"],
  ["cacheHits", "Cache hits", "#999999"],
];

async function searchView(id) {
  const abort = new AbortController();
  leave = () => abort.abort();
  const el = {
    header: h("div", { id: "search-header" }),
    progress: h("p", { id: "progress", class: "mono" }),
    error: h("p", { id: "search-error", class: "error" }),
    convergence: h("div", { id: "convergence", class: "panel" }),
    filters: h("div", { id: "filters", class: "panel" }),
    best: h("div", { id: "best", class: "panel" }, h("p", { class: "muted" }, "No loss yet.")),
    tree: h("div", { id: "tree", class: "panel" }),
    curves: h("div", { id: "curves", class: "panel" }),
    comparison: h(
      "div",
      { id: "comparison", class: "panel" },
      h("p", { class: "muted" }, "The final comparison comes once the search has finished."),
    ),
    losses: h("div", { id: "losses" }),
    candidates: h("div", { id: "candidates" }),
    report: h("div", { id: "report" }),
  };
  view.replaceChildren(
    el.header,
    el.progress,
    el.error,
    h("div", { class: "grid" }, el.convergence, el.filters),
    h("h2", {}, "Best loss"),
    h("div", { class: "grid" }, el.best, el.tree),
    h("h2", {}, "Final comparison"),
    h("div", { class: "grid" }, el.comparison, el.curves),
    h("h2", {}, "Ranked losses"),
    el.losses,
    h("h2", {}, "Candidates"),
    el.candidates,
    h("h2", {}, "Report"),
    el.report,
  );
  const drawConvergence = chart(el.convergence, "Fitness per generation", [
    { label: "Best", stroke: "#0072B2", width: 2 },
    { label: "Median", stroke: "#E69F00", dash: [6, 4] },
  ], { xLabel: "Generation", yLabel: "Validation metric", integerX: true });
  const bars = uPlot.paths.bars({ size: [0.7] });
  // Stacked: each series is drawn as the cumulative count, the tallest first, so each bar's
  // visible band is that outcome's count.
  const drawFilters = chart(
    el.filters,
    "What became of each generation's individuals",
    [...OUTCOME_SERIES].reverse().map(([, label, color]) => ({
      label,
      fill: color,
      stroke: color,
      paths: bars,
    })),
    { xLabel: "Generation", yLabel: "Individuals", integerX: true },
  );

  const generations = [];
  const redrawGenerations = () => {
    const x = generations.map((g) => g.generation);
    drawConvergence([
      x,
      generations.map((g) => g.bestFitness),
      generations.map((g) => g.medianFitness),
    ]);
    const cumulative = OUTCOME_SERIES.map((_, k) =>
      generations.map((g) => OUTCOME_SERIES.slice(0, k + 1).reduce((a, [key]) => a + g[key], 0))
    );
    drawFilters([x, ...cumulative.reverse()]);
  };

  const refresh = async () => {
    const search = await getJson(`/v1/searches/${id}`);
    renderHeader(el, search);
    const losses = await getJson(`/v1/searches/${id}/losses`);
    renderLosses(el, losses);
    await renderTree(el, id, losses);
    renderComparison(el, losses);
    await renderCandidates(el, id);
    if (["succeeded", "failed", "cancelled"].includes(search.state)) await renderReport(el, id);
    return search;
  };

  await refresh();
  await follow(id, abort.signal, async (event) => {
    switch (event.event) {
      case "progress":
        el.progress.textContent = progressText(event.data);
        break;
      case "generation":
        generations.push(event.data);
        redrawGenerations();
        break;
      case "state":
      case "best":
        await refresh();
        break;
      case "finished":
        await refresh();
        break;
    }
  });
}

/** Reads the search's events until `finished` (or the view is left), reconnecting from the last
 * id received after a dropped connection. */
async function follow(id, signal, onEvent) {
  let last = 0;
  while (!signal.aborted) {
    try {
      const res = await fetch(`/v1/searches/${id}/events`, {
        headers: { ...authHeaders(), "last-event-id": String(last) },
        signal,
      });
      if (!res.ok) throw new ApiError(await res.json());
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseEvent(block);
          if (!event) continue;
          last = event.id;
          await onEvent(event);
          if (event.event === "finished") return;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError) throw err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function parseEvent(block) {
  const fields = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // keep-alive comment
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
  }
  if (fields.data === undefined) return undefined;
  return { id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) };
}

function renderHeader(el, s) {
  el.header.replaceChildren(
    h(
      "h2",
      {},
      s.name ? `${s.name} ` : "",
      h("span", { class: "mono" }, s.id),
      " ",
      stateBadge(s.state),
    ),
    labelChips(s.labels),
    s.continues
      ? h(
        "p",
        { class: "muted", id: "continues" },
        "Continues ",
        h("a", { href: `#/search/${s.continues.search}` }, s.continues.search),
        ` from generation ${s.continues.generation}`,
      )
      : null,
    s.config.warmStart
      ? h(
        "p",
        { class: "muted", id: "warm-start" },
        `Warm-started with ${s.config.warmStart.losses.length} losses of `,
        h("a", { href: `#/search/${s.config.warmStart.search}` }, s.config.warmStart.search),
      )
      : null,
    h(
      "p",
      { class: "muted" },
      `${s.dataset} (${s.task}) · ${
        s.model ? `${s.model.description} (${s.model.parameters} parameters)` : s.config.model.kind
      } · population ${s.config.budget.population}` +
        ` × ${s.config.budget.generations} generations · seed ${s.config.seed}`,
    ),
  );
  el.progress.textContent = progressText(s.progress);
  el.error.textContent = s.error ? `${s.error.title}: ${s.error.detail}` : "";
}

function renderLosses(el, losses) {
  const best = losses.losses[0];
  if (best) {
    el.best.replaceChildren(
      h("h3", {}, `Rank 1 · fitness ${sig(best.fitness)} (validation ${losses.metric})`),
      h("div", { class: "muted" }, "With its learned weights folded and simplified:"),
      h("div", { id: "best-simplified" }, math(`\\mathcal{L} = ${best.simplified.latex}`)),
      h("div", { class: "muted" }, "Its structure (weights 1):"),
      h("div", { id: "best-structure" }, math(`\\mathcal{L} = ${best.structure.latex}`)),
      h("details", {}, h("summary", {}, "Weighted, as learned"), math(best.latex)),
    );
  }
  const row = (l) =>
    h(
      "tr",
      {},
      h("td", { class: "num" }, l.rank),
      h("td", {}, h("code", {}, l.simplified.infix)),
      h("td", {}, h("code", {}, l.structure.infix)),
      h("td", { class: "num" }, sig(l.fitness)),
      h("td", {}, exportLinks(losses.search, l.rank)),
    );
  el.losses.replaceChildren(
    losses.losses.length
      ? h(
        "table",
        { id: "ranked" },
        h(
          "tr",
          {},
          ["Rank", "Simplified (weights folded)", "Structure", "Fitness", "Export"].map((t) =>
            h("th", {}, t)
          ),
        ),
        losses.losses.map(row),
      )
      : h("p", { class: "muted" }, "No ranked loss yet."),
  );
}

/** Downloads through fetch, so that the key goes with them. */
function exportLinks(id, rank) {
  return ["pytorch", "tfjs", "json"].map((format) =>
    h("button", {
      type: "button",
      onclick: async () => {
        const res = await api(`/v1/searches/${id}/losses/${rank}/${format}`);
        const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1];
        const a = h("a", { href: URL.createObjectURL(await res.blob()), download: name ?? format });
        a.click();
        URL.revokeObjectURL(a.href);
      },
    }, format)
  );
}

async function renderTree(el, id, losses) {
  if (!losses.losses.length) return;
  const svg = await (await api(`/v1/searches/${id}/losses/1/svg`)).text();
  // The service's own SVG, every label in it escaped: safe to place as markup.
  el.tree.innerHTML = svg;
}

// Fields of the final comparison this page shows in its table; any other (settings or tests added
// later) is shown under "More from the comparison", as the result has it.
const KNOWN_FINAL = new Set([
  "metric",
  "steps",
  "seeds",
  "curveEvery",
  "significance",
  "lr",
  "learned",
  "standard",
  "difference",
  "paired",
  "outcome",
  "tuned",
  "verdict",
]);

/** "p = 0.012" of a paired test, or what stands in for it. */
function pValue(paired) {
  if (!paired?.tTest) return paired?.note ?? "no test";
  const w = paired.wilcoxon ? `, Wilcoxon p = ${sig(paired.wilcoxon.p, 2)}` : "";
  return `paired t-test p = ${sig(paired.tTest.p, 2)}${w}`;
}

/** One row of the comparison: both losses at their learning rates, and the paired difference. */
function comparisonRow(name, row) {
  const summary = (s) => (s.mean === null ? "all diverged" : `${sig(s.mean)} ± ${sig(s.std, 2)}`);
  const ci = row.paired?.ci;
  return h(
    "tr",
    {},
    h("td", {}, name),
    h("td", { class: "num" }, `${row.lr.learned} / ${row.lr.standard}`),
    h("td", { class: "num" }, summary(row.learned)),
    h("td", { class: "num" }, summary(row.standard)),
    h(
      "td",
      {
        class: `num ${
          row.outcome === "better" ? "better" : row.outcome === "worse" ? "worse" : ""
        }`,
      },
      row.difference === null
        ? "unknown"
        : `${sig(row.difference, 3)}${ci ? ` [${sig(ci[0], 2)}, ${sig(ci[1], 2)}]` : ""}`,
    ),
    h("td", {}, pValue(row.paired)),
    h("td", {}, (row.outcome ?? "").replaceAll("-", " ")),
  );
}

function renderComparison(el, losses) {
  const f = losses.final;
  if (!f) return;
  const rows = [["Same learning rate (the paper's)", f]];
  if (f.tuned) rows.push(["Each at its best learning rate", f.tuned]);
  const table = h(
    "table",
    { id: "comparison-table" },
    h(
      "tr",
      {},
      h("th", {}, "Comparison"),
      h("th", {}, "lr (learned / standard)"),
      h("th", {}, `Learned: test ${f.metric}`),
      h("th", {}, "Standard"),
      h("th", {}, "Difference [CI]"),
      h("th", {}, "Paired tests"),
      h("th", {}, "Outcome"),
    ),
    rows.map(([name, row]) => comparisonRow(name, row)),
  );
  const d = f.difference;
  const difference = h(
    "p",
    { id: "difference" },
    d === null ? "The difference is unknown: a loss diverged on every seed." : h(
      "span",
      { class: d < 0 ? "better" : d > 0 ? "worse" : "" },
      `learned − standard at the same learning rate: ${sig(d, 3)} over ${f.seeds.length} seeds`,
    ),
  );
  const extra = Object.entries(f).filter(([k]) => !KNOWN_FINAL.has(k));
  const verdict = f.verdict;
  el.comparison.replaceChildren(...[
    h("h3", {}, `Trained from scratch for ${f.steps} steps on each seed`),
    verdict
      ? h(
        "p",
        { class: `verdict ${verdict.keepStandard ? "keep" : "better"}`, id: "verdict" },
        verdict.words,
      )
      : null,
    losses.warnings?.length
      ? h("ul", { class: "warnings", id: "warnings" }, losses.warnings.map((w) => h("li", {}, w)))
      : null,
    table,
    difference,
    extra.length
      ? h(
        "details",
        { id: "comparison-more" },
        h("summary", {}, "More from the comparison"),
        h(
          "dl",
          {},
          extra.flatMap(([k, v]) => [
            h("dt", {}, k),
            h("dd", {}, h("pre", {}, JSON.stringify(v, null, 2))),
          ]),
        ),
      )
      : null,
  ].filter((c) => c !== null));
  el.curves.replaceChildren();
  const draw = chart(el.curves, "Test metric while training from scratch", [
    { label: "Learned loss", stroke: "#0072B2", width: 2 },
    { label: "Standard loss", stroke: "#D55E00", dash: [6, 4], width: 2 },
  ], { xLabel: "Training steps", yLabel: `Test ${f.metric}` });
  const n = Math.max(f.learned.curve.length, f.standard.curve.length);
  const x = Array.from({ length: n }, (_, i) => (i + 1) * f.curveEvery);
  draw([
    x,
    x.map((_, i) => f.learned.curve[i] ?? null),
    x.map((_, i) => f.standard.curve[i] ?? null),
  ]);
}

const CANDIDATE_COLUMNS = [
  ["generation", "Gen", (c) => c.generation, true],
  ["formula", "Formula", (c) => c.infix, false],
  ["outcome", "Outcome", (c) => c.outcome, false],
  ["fitness", "Fitness", (c) => c.fitness, true],
  ["screen", "Screen ms", (c) => c.times.screenMs, true],
  ["local", "Local search ms", (c) => c.times.localSearchMs, true],
  ["fit", "Fitness ms", (c) => c.times.fitnessMs, true],
];

async function renderCandidates(el, id) {
  const all = [];
  let cursor;
  do {
    const page = await getJson(
      `/v1/searches/${id}/candidates?limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  if (!all.length) {
    el.candidates.replaceChildren(h("p", { class: "muted" }, "No generation has finished yet."));
    return;
  }
  let sort = { key: "generation", dir: 1 };
  const body = h("tbody");
  const head = h("tr");
  const draw = () => {
    const [, , value] = CANDIDATE_COLUMNS.find(([k]) => k === sort.key);
    const rows = [...all].sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      // Missing values (no fitness, a stage that did not run) sort last either way.
      if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
    body.replaceChildren(...rows.map((c) =>
      h(
        "tr",
        {},
        CANDIDATE_COLUMNS.map(([key, , value, numeric]) => {
          const v = value(c);
          const text = key === "formula"
            ? h("code", { title: c.reason ?? "" }, v)
            : numeric
            ? (key === "generation" ? v : sig(v, key === "fitness" ? 4 : 3))
            : v;
          return h("td", { class: numeric ? "num" : "" }, text);
        }),
      )
    ));
    head.replaceChildren(...CANDIDATE_COLUMNS.map(([key, label]) =>
      h("th", {
        class: "sortable",
        "data-key": key,
        "aria-sort": sort.key === key ? (sort.dir > 0 ? "ascending" : "descending") : "none",
        onclick: () => {
          sort = { key, dir: sort.key === key ? -sort.dir : 1 };
          draw();
        },
      }, label)
    ));
  };
  draw();
  el.candidates.replaceChildren(
    h("p", { class: "muted" }, `${all.length} distinct losses; click a column to sort.`),
    h("table", { id: "candidate-table" }, h("thead", {}, head), body),
  );
}

async function renderReport(el, id) {
  try {
    const html = await (await api(`/v1/searches/${id}/report`)).text();
    // srcdoc, not a link: the report is fetched with the key, which a link could not send.
    el.report.replaceChildren(h("iframe", { class: "report", id: "report-frame", srcdoc: html }));
  } catch (err) {
    el.report.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

// ---------------------------------------------------------------------------------------------
// Routing: #/ lists the searches, #/search/ID follows one.

async function route() {
  leave();
  leave = () => {};
  const m = /^#\/search\/([\w-]+)$/.exec(location.hash);
  try {
    await (m ? searchView(m[1]) : listView());
  } catch (err) {
    view.replaceChildren(h("p", { class: "error", id: "view-error" }, err.message));
  }
}

addEventListener("hashchange", route);
showAccess().then(route);
