/**
 * The dashboard's files: its own page, script and style beside this module, and the libraries it
 * uses, read from their npm packages (installed with the service's dependencies and pinned by
 * deno.lock), so that the pages work with no network: KaTeX (formulas; its CSS loads its fonts
 * from `fonts/`, served alongside), uPlot (charts) and Swagger UI (the reference at /docs).
 */
// The packages whose files are read below, named in the module graph so that Deno installs them.
import "./packages.js";

const own = (name: string) => new URL(name, import.meta.url);
const pkg = (specifier: string) => new URL(import.meta.resolve(specifier));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Served under /assets/{name}. */
export const ASSETS: Record<string, URL> = {
  "dashboard.js": own("app.js"),
  "dashboard.css": own("style.css"),
  "katex.min.js": pkg("katex/dist/katex.min.js"),
  "katex.min.css": pkg("katex/dist/katex.min.css"),
  "uPlot.iife.min.js": pkg("uplot/dist/uPlot.iife.min.js"),
  "uPlot.min.css": pkg("uplot/dist/uPlot.min.css"),
  "swagger-ui-bundle.js": pkg("swagger-ui-dist/swagger-ui-bundle.js"),
  "swagger-ui.css": pkg("swagger-ui-dist/swagger-ui.css"),
  "docs.js": own("docs.js"),
};

export const PAGE = own("index.html");

/** KaTeX's fonts, under /assets/fonts/{name}: the names its CSS asks for. */
export const FONTS = new URL("fonts/", pkg("katex/dist/katex.min.css"));
export const FONT_NAME = /^KaTeX_[A-Za-z0-9_-]+\.woff2$/;

export function contentType(name: string): string {
  return TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream";
}

/** A file's bytes with its type and a cache policy: the libraries are versioned by the lock,
 * the page and its script change with the service. */
export async function assetResponse(url: URL, name: string): Promise<Response> {
  const body = await Deno.readFile(url);
  return new Response(body, {
    headers: { "content-type": contentType(name), "cache-control": "no-cache" },
  });
}
