/** Text helpers shared by the SVG charts and the HTML page. */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for XML and HTML content and attribute values alike. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** `digits` significant digits without float noise or trailing zeros: 0.0213, 1.5e-7, 12300. */
export function formatSig(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const rounded = Number(value.toPrecision(digits));
  const magnitude = Math.abs(rounded);
  // Plain notation reads better across the range a metric or weight usually spans.
  if (magnitude >= 1e-4 && magnitude < 1e7) return String(rounded);
  return rounded.toExponential().replace("e+", "e");
}

/** Like formatSig, for values that may be missing. */
export function formatMaybe(value: number | null | undefined, digits = 3, missing = "–"): string {
  return value === null || value === undefined ? missing : formatSig(value, digits);
}

/** "1 h 02 min", "3 min 05 s", "4.2 s", "850 ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const [h, m, sec] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h} h ${pad(m)} min` : `${m} min ${pad(sec)} s`;
}

/** Rough rendered width of text in a sans-serif font; enough to size boxes and margins. */
export function textWidth(text: string, fontSize: number): number {
  return [...text].length * fontSize * 0.6;
}
