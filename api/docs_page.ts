/**
 * GET /docs: Scalar's interactive API reference (try-it-out, code samples, search) over
 * /openapi.json, its script served by the service from its npm package (dashboard/assets.ts) and
 * no web fonts, so it works offline; then the problem types, under the anchors that problem
 * documents' `type` links to (/docs#problem-validation, ...).
 */
import type { Context } from "hono";
import { Scalar } from "@scalar/hono-api-reference";
import { PROBLEM_TYPES } from "./problem.ts";

const esc = (s: unknown) =>
  String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );

/** Inline code spans of the Markdown in descriptions; nothing else is interpreted. */
const md = (s: string | undefined) => esc(s ?? "").replace(/`([^`]+)`/g, "<code>$1</code>");

const reference = Scalar({
  url: "/openapi.json",
  cdn: "/assets/scalar.js",
  withDefaultFonts: false,
  hideClientButton: true,
  // Features that need Scalar's hosted services: off, the page stays self-sufficient.
  agent: { disabled: true },
  showDeveloperTools: "never",
  pageTitle: "Lossmith API",
});

function problemsSection(): string {
  const rows = Object.entries(PROBLEM_TYPES).map(([slug, t]) =>
    `<tr id="problem-${slug}"><td><code>/docs#problem-${slug}</code></td><td>${t.status}</td><td>${
      esc(t.title)
    }</td><td>${md(t.when)}</td></tr>`
  ).join("");
  return `<section id="problems" style="font:15px/1.5 system-ui,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem"><h2>Problem types</h2>
<p>Every error is an RFC 9457 <code>application/problem+json</code> document; its
<code>type</code> links here.</p>
<table><tr><th>type</th><th>status</th><th>title</th><th>when</th></tr>${rows}</table></section>`;
}

export async function docsPage(c: Context): Promise<Response> {
  const res = await reference(c, () => Promise.resolve());
  const html = (await res!.text())
    // No icon of its own: say so, rather than have the browser ask for /favicon.ico.
    .replace("</head>", '<link rel="icon" href="data:,">\n</head>')
    .replace("</body>", `${problemsSection()}\n</body>`);
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}
