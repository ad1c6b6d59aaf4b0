/**
 * Plain data through JSON without loss: the numbers JSON cannot write (NaN, ±Infinity, -0) travel
 * as `{"$num": "NaN"}` and come back as themselves, so an evaluation answered on another node is
 * the value the worker computed (a diverged training's fitness is Infinity, not null).
 */
const TAG = "$num";

export function encodeData(value: unknown): unknown {
  if (typeof value === "number") {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value;
    return { [TAG]: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (Array.isArray(value)) return value.map(encodeData);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, encodeData(v)]),
    );
  }
  return value;
}

export function decodeData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeData);
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === TAG) return Number(entries[0][1]);
    return Object.fromEntries(entries.map(([k, v]) => [k, decodeData(v)]));
  }
  return value;
}
