/**
 * GET /docs: a readable reference generated from the OpenAPI document (so it cannot drift from
 * it), self-contained (no scripts or styles from elsewhere: the service may run offline).
 */
import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  RequestBodyObject,
  ResponseObject,
} from "openapi3-ts/oas31";
import { PROBLEM_TYPES } from "./problem.ts";

const esc = (s: unknown) =>
  String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );

/** Inline code spans of the Markdown in descriptions; nothing else is interpreted. */
const md = (s: string | undefined) => esc(s ?? "").replace(/`([^`]+)`/g, "<code>$1</code>");

const pretty = (v: unknown) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

function operationHtml(method: string, path: string, op: OperationObject): string {
  const params = (op.parameters ?? []) as ParameterObject[];
  const body = op.requestBody as RequestBodyObject | undefined;
  const responses = Object.entries(op.responses ?? {}) as [string, ResponseObject][];
  return `<section class="op" id="${esc(op.operationId)}">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p><b>${md(op.summary)}</b></p>${op.description ? `<p>${md(op.description)}</p>` : ""}
${
    params.length
      ? `<table><tr><th>parameter</th><th>in</th><th>schema</th><th></th></tr>${
        params.map((p) =>
          `<tr><td><code>${esc(p.name)}</code></td><td>${p.in}</td><td><code>${
            esc(JSON.stringify(p.schema))
          }</code></td><td>${md(p.description)}</td></tr>`
        ).join("")
      }</table>`
      : ""
  }
${
    body
      ? Object.entries(body.content).map(([type, m]) =>
        `<details><summary>request body: ${esc(type)}</summary>${pretty(m.schema)}</details>`
      ).join("")
      : ""
  }
<ul>${
    responses.map(([status, r]) =>
      `<li><b>${esc(status)}</b> ${md(r.description)} ${
        r.content ? `<small>(${Object.keys(r.content).map(esc).join(", ")})</small>` : ""
      }</li>`
    ).join("")
  }</ul></section>`;
}

export function docsPage(doc: OpenAPIObject): string {
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    (["get", "post", "delete"] as const).filter((m) => item[m]).map((m) =>
      operationHtml(m, path, item[m]!)
    )
  );
  const problems = Object.entries(PROBLEM_TYPES).map(([slug, t]) =>
    `<tr id="problem-${slug}"><td><code>/docs#problem-${slug}</code></td><td>${t.status}</td><td>${
      esc(t.title)
    }</td><td>${md(t.when)}</td></tr>`
  ).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${esc(doc.info.title)} API ${esc(doc.info.version)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4}pre{padding:.5rem;overflow:auto}
.op{border-top:1px solid #ddd;padding-top:.5rem}.m{padding:0 .4rem;border-radius:3px;color:#fff}
.get{background:#2a7}.post{background:#27c}.delete{background:#c33}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
</style></head><body>
<h1>${esc(doc.info.title)} API <small>${esc(doc.info.version)}</small></h1>
<p>${md(doc.info.description)}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${
    esc(doc.openapi)
  }).</p>
<h2>Operations</h2>${ops.join("\n")}
<h2 id="problems">Problem types</h2>
<table><tr><th>type</th><th>status</th><th>title</th><th>when</th></tr>${problems}</table>
<h2>Schemas</h2>${
    Object.entries(doc.components?.schemas ?? {}).map(([name, s]) =>
      `<details id="schema-${esc(name)}"><summary>${esc(name)}</summary>${pretty(s)}</details>`
    ).join("")
  }
</body></html>`;
}
