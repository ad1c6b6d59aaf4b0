/**
 * JSON datasets, in either of two shapes:
 *
 * - an array of objects, one per row, with the same numeric keys and a target key (the shape of
 *   the bundled Boston housing data): `[{"crim": 0.006, ..., "medv": 24}, ...]`;
 * - an object of feature rows and targets: `{"x": [[0.1, 2], ...], "y": [0, ...]}`.
 *
 * Targets may be numbers (regression targets or integer labels, inferred as for CSV) or strings
 * (class labels). Errors name the row (1-based `row`, and the array index in the message) and the
 * key at fault.
 */
import type { Dataset, Task } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { fileName, readDataText } from "./files.ts";
import { encodeLabels, inferTask } from "./csv.ts";
import { validateDataset } from "./validate.ts";

export interface JsonOptions {
  /** The target key of an array of objects; ignored for {x, y}. */
  target?: string;
  /** By default inferred, as for CSV: see inferTask. */
  task?: Task;
  name?: string;
  /** Fewer rows than this is an error (as for CSV). */
  minRows?: number;
  /** Passed to validateDataset. */
  minRowsPerClass?: number;
}

type Base = Pick<Dataset, "name" | "x" | "n" | "d" | "featureNames">;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return JSON.stringify(v);
}

function at(i: number, key: string): string {
  return `row ${i + 1} (index ${i}), key "${key}"`;
}

/** A feature value: a number that is finite as float32, the storage type. */
function feature(v: unknown, i: number, column: string, where = at(i, column)): number {
  if (typeof v !== "number") {
    throw new DataError(`${where}: non-numeric feature value ${describe(v)}`, {
      row: i + 1,
      column,
    });
  }
  if (!Number.isFinite(Math.fround(v))) {
    throw new DataError(`${where}: feature value ${v} is not a finite float32 number`, {
      row: i + 1,
      column,
    });
  }
  return v;
}

/** Parses JSON text into a validated Dataset. */
export function parseJsonDataset(text: string, opts: JsonOptions = {}): Dataset {
  const { name = "json", minRows = 10, minRowsPerClass = 2 } = opts;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") throw new DataError("the file is empty");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DataError(`the file is not valid JSON: ${(e as Error).message}`);
  }
  let parsed: { base: Base; targets: unknown[]; column: string };
  if (Array.isArray(data)) parsed = fromRecords(data, opts.target, name);
  else if (data !== null && typeof data === "object" && "x" in data && "y" in data) {
    parsed = fromXY(data as { x: unknown; y: unknown }, name);
  } else {
    throw new DataError(
      `expected an array of row objects or an object {"x": [[...], ...], "y": [...]}; got ${
        describe(data)
      }${data !== null && typeof data === "object" ? ` with keys ${Object.keys(data)}` : ""}`,
    );
  }
  if (parsed.base.n < minRows) {
    throw new DataError(`too few rows: ${parsed.base.n} rows, at least ${minRows} needed`);
  }
  const ds = buildTarget(parsed.targets, parsed.column, opts.task, parsed.base);
  return validateDataset(ds, { minRowsPerClass });
}

function fromRecords(
  rows: unknown[],
  target: string | undefined,
  name: string,
): { base: Base; targets: unknown[]; column: string } {
  const isRecord = (r: unknown): r is Record<string, unknown> =>
    r !== null && typeof r === "object" && !Array.isArray(r);
  rows.forEach((r, i) => {
    if (!isRecord(r)) {
      throw new DataError(`row ${i + 1} (index ${i}) is ${describe(r)}, not an object`, {
        row: i + 1,
      });
    }
  });
  const records = rows as Record<string, unknown>[];
  const keys = records.length ? Object.keys(records[0]) : [];
  if (!target) {
    throw new DataError(
      `an array of row objects needs a target key; the first row has keys ${keys.join(", ")}`,
    );
  }
  if (records.length && !keys.includes(target)) {
    throw new DataError(
      `target key "${target}" not found in row 1 (index 0); its keys: ${keys.join(", ")}`,
      { row: 1, column: target },
    );
  }
  const featureNames = keys.filter((k) => k !== target);
  if (records.length && featureNames.length === 0) {
    throw new DataError("no feature keys besides the target");
  }
  const d = featureNames.length;
  const x = new Float32Array(records.length * d);
  const targets: unknown[] = [];
  records.forEach((r, i) => {
    featureNames.forEach((k, j) => {
      if (!(k in r)) {
        throw new DataError(`${at(i, k)}: the key is missing (row 1 has it)`, {
          row: i + 1,
          column: k,
        });
      }
      x[i * d + j] = feature(r[k], i, k);
    });
    if (!(target in r)) {
      throw new DataError(`${at(i, target)}: the target key is missing`, {
        row: i + 1,
        column: target,
      });
    }
    const extra = Object.keys(r).find((k) => k !== target && !featureNames.includes(k));
    if (extra !== undefined) {
      throw new DataError(
        `${at(i, extra)}: the key is not in row 1; every row needs the same keys`,
        {
          row: i + 1,
          column: extra,
        },
      );
    }
    targets.push(r[target]);
  });
  return { base: { name, x, n: records.length, d, featureNames }, targets, column: target };
}

function fromXY(
  data: { x: unknown; y: unknown },
  name: string,
): { base: Base; targets: unknown[]; column: string } {
  const { x: rows, y } = data;
  if (!Array.isArray(rows)) throw new DataError(`"x" is ${describe(rows)}, not an array of rows`);
  if (!Array.isArray(y)) throw new DataError(`"y" is ${describe(y)}, not an array of targets`);
  if (rows.length !== y.length) {
    throw new DataError(`"x" holds ${rows.length} rows but "y" ${y.length} targets`);
  }
  const first = rows[0];
  const d = Array.isArray(first) ? first.length : 0;
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    if (!Array.isArray(r)) {
      throw new DataError(`row ${i + 1} (index ${i}), key "x": ${describe(r)} is not an array`, {
        row: i + 1,
        column: "x",
      });
    }
    if (r.length !== d) {
      throw new DataError(
        `row ${i + 1} (index ${i}), key "x": ${r.length} values, row 1 has ${d} (ragged rows)`,
        { row: i + 1, column: "x" },
      );
    }
    r.forEach((v, j) => (x[i * d + j] = feature(v, i, "x", `${at(i, "x")}, position ${j}`)));
  });
  return { base: { name, x, n: rows.length, d }, targets: y, column: "y" };
}

function buildTarget(
  raw: unknown[],
  column: string,
  task: Task | undefined,
  base: Base,
): Dataset {
  raw.forEach((v, i) => {
    const ok = (typeof v === "number" && Number.isFinite(Math.fround(v))) ||
      (typeof v === "string" && v !== "" && task !== "regression");
    if (!ok) {
      throw new DataError(
        `${at(i, column)}: target ${describe(v)} is not ${
          task === "regression" ? "a finite number" : "a finite number or a label string"
        }`,
        { row: i + 1, column },
      );
    }
  });
  const numbers = raw.every((v) => typeof v === "number") ? raw as number[] : undefined;
  const resolved = task ?? inferTask(numbers);
  if (resolved === "regression") {
    return { ...base, task: "regression", y: Float32Array.from(numbers!) };
  }
  // As for CSV: numeric labels ordered by value, text labels by code unit; 1 and "1" are one class.
  const { y, classNames } = encodeLabels(raw.map(String), !!numbers);
  return { ...base, task: "classification", y, nClasses: classNames.length, classNames };
}

/** Reads and parses a JSON file; the dataset is named after the file unless opts.name is set. */
export async function loadJsonFile(path: string, opts: JsonOptions = {}): Promise<Dataset> {
  const text = await readDataText(path);
  const name = opts.name ?? fileName(path);
  return parseJsonDataset(text, { ...opts, name });
}
