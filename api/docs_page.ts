/**
 * GET /docs: Swagger UI's interactive reference over /openapi.json (try it out, request snippets
 * for curl, a filter over the operations), its files served by the service from the
 * `swagger-ui-dist` package (dashboard/assets.ts), so it works offline; then the problem types,
 * under the anchors that problem documents' `type` links to (/docs#problem-validation, ...).
 * Swagger UI rather than a larger reference: it ships as one package with no dependencies to
 * install, which keeps a fresh clone's download small.
 */
import type { Context } from "hono";
import { PROBLEM_TYPES } from "./problem.ts";

const esc = (s: unknown) =>
  String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );

/** Inline code spans of the Markdown in descriptions; nothing else is interpreted. */
const md = (s: string | undefined) => esc(s ?? "").replace(/`([^`]+)`/g, "<code>$1</code>");

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

export function docsPage(_c: Context): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Lossmith API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
${problemsSection()}
<script src="/assets/swagger-ui-bundle.js"></script>
<script src="/assets/docs.js"></script>
</body>
</html>
`;
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
}
