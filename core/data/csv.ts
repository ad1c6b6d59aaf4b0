/** CSV/TSV files to Datasets, with errors that name the line and column at fault. */

import type { Dataset, Task } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { fileName, readDataText } from "./files.ts";
import { detectDelimiter, tokenize } from "./tokenize.ts";
import { validateDataset } from "./validate.ts";

export interface ParseOptions {
  /** Name of the target column (matched exactly, after trimming the header). */
  target: string;
  /** Field separator; by default "," or "\t", whichever the header line uses more. */
  delimiter?: string;
  /** By default inferred: see inferTask. */
  task?: Task;
  /** Dataset name; loadCsvFile defaults it to the file name. */
  name?: string;
  /** Fewer data rows than this is an error (10 leaves every split non-empty at the defaults). */
  minRows?: number;
  /** Passed to validateDataset. */
  minRowsPerClass?: number;
}

/** Integer targets with at most this many distinct values are read as class labels. */
export const MAX_INFERRED_CLASSES = 20;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

type Cell = { kind: "number"; value: number } | { kind: "empty" | "nonfinite" | "text" };

/** Classifies one trimmed cell; numbers must also be finite as float32, the storage type. */
function readCell(raw: string): Cell {
  if (raw === "") return { kind: "empty" };
  if (NUMBER.test(raw)) {
    const value = Number(raw);
    return Number.isFinite(Math.fround(value)) ? { kind: "number", value } : { kind: "nonfinite" };
  }
  return NON_FINITE.test(raw) ? { kind: "nonfinite" } : { kind: "text" };
}

function cellError(cell: Cell, raw: string, row: number, column: string, what: string): DataError {
  const where = `line ${row}, column "${column}"`;
  const msg = cell.kind === "empty"
    ? `empty ${what} cell at ${where}`
    : cell.kind === "nonfinite"
    ? `${what} value ${JSON.stringify(raw)} at ${where} is not a finite number`
    : `non-numeric ${what} value ${JSON.stringify(raw)} at ${where}`;
  return new DataError(msg, { row, column });
}

/**
 * Parses delimited text with a header row into a validated Dataset. Every feature column must
 * be numeric; the target may be numeric (regression or integer labels) or text (labels).
 */
export function parseDelimited(text: string, opts: ParseOptions): Dataset {
  const { target, minRows = 10, minRowsPerClass = 2, name = "csv" } = opts;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte-order mark
  if (text.trim() === "") throw new DataError("the file is empty");
  const records = tokenize(text, opts.delimiter ?? detectDelimiter(text));

  const header = records[0];
  const columns = header.fields.map((f) => f.trim());
  checkHeader(columns, header.line);
  const t = columns.indexOf(target);
  if (t < 0) {
    throw new DataError(
      `target column "${target}" not found; available columns: ${columns.join(", ")}`,
      { column: target },
    );
  }
  if (columns.length < 2) throw new DataError("no feature columns besides the target");

  const rows = records.slice(1);
  if (rows.length < minRows) {
    throw new DataError(`too few rows: ${rows.length} data rows, at least ${minRows} needed`);
  }
  const m = columns.length;
  const d = m - 1;
  const x = new Float32Array(rows.length * d);
  const targets: string[] = [];
  for (let r = 0; r < rows.length; r++) {
    const { fields, line } = rows[r];
    if (fields.length !== m) {
      throw new DataError(`line ${line} has ${fields.length} fields, the header has ${m}`, {
        row: line,
      });
    }
    let o = r * d;
    for (let j = 0; j < m; j++) {
      const raw = fields[j].trim();
      if (j === t) {
        targets.push(raw);
        continue;
      }
      const cell = readCell(raw);
      if (cell.kind !== "number") throw cellError(cell, raw, line, columns[j], "feature");
      x[o++] = cell.value;
    }
  }

  const featureNames = columns.filter((_, j) => j !== t);
  const base = { name, x, n: rows.length, d, featureNames };
  const lines = rows.map((r) => r.line);
  const ds = buildTarget(targets, lines, target, opts.task, base);
  return validateDataset(ds, { minRowsPerClass });
}

function checkHeader(columns: string[], line: number): void {
  const empty = columns.indexOf("");
  if (empty >= 0) {
    throw new DataError(`header column ${empty + 1} has no name`, { row: line });
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) {
      throw new DataError(`duplicate column name "${c}" in the header`, { column: c });
    }
    seen.add(c);
  }
  if (columns.every((c) => readCell(c).kind === "number")) {
    throw new DataError(
      "missing header: the first line holds only numbers; a header row of column names is required",
      { row: line },
    );
  }
}

type Base = Pick<Dataset, "name" | "x" | "n" | "d" | "featureNames">;

function buildTarget(
  raw: string[],
  lines: number[],
  column: string,
  task: Task | undefined,
  base: Base,
): Dataset {
  const cells = raw.map(readCell);
  for (let r = 0; r < cells.length; r++) {
    const kind = cells[r].kind;
    // A missing label is an error for either task; text is only an error for regression.
    if (kind === "empty" || kind === "nonfinite" || (kind === "text" && task === "regression")) {
      throw cellError(cells[r], raw[r], lines[r], column, "target");
    }
  }
  const numbers = cells.every((c) => c.kind === "number")
    ? cells.map((c) => (c as { value: number }).value)
    : undefined;
  const resolved = task ?? inferTask(numbers);
  if (resolved === "regression") {
    return { ...base, task: "regression", y: Float32Array.from(numbers!) };
  }
  // Numeric labels: "1" and "1.0" are one class, ordered by value; text labels sort by code unit.
  const { y, classNames } = encodeLabels(numbers ? numbers.map(String) : raw, !!numbers);
  return { ...base, task: "classification", y, nClasses: classNames.length, classNames };
}

/**
 * Class labels to indices 0..k-1. Numeric labels ("1" and "1.0" already one key) are ordered by
 * value, text labels by code unit; the sorted keys become the class names. CSV and JSON share it.
 */
export function encodeLabels(
  keys: string[],
  numeric: boolean,
): { y: Float32Array; classNames: string[] } {
  const classNames = [...new Set(keys)];
  if (numeric) classNames.sort((a, b) => Number(a) - Number(b));
  else classNames.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(classNames.map((k, i) => [k, i]));
  return { y: Float32Array.from(keys, (k) => index.get(k)!), classNames };
}

/**
 * Text targets are labels. Numeric targets are labels when all are integers, with at most
 * MAX_INFERRED_CLASSES distinct values, and some value repeats; otherwise regression.
 */
export function inferTask(numbers: number[] | undefined): Task {
  if (!numbers) return "classification";
  if (!numbers.every(Number.isInteger)) return "regression";
  const distinct = new Set(numbers).size;
  return distinct <= MAX_INFERRED_CLASSES && distinct < numbers.length
    ? "classification"
    : "regression";
}

/** Reads and parses a CSV/TSV file; the dataset is named after the file unless opts.name is set. */
export async function loadCsvFile(path: string, opts: ParseOptions): Promise<Dataset> {
  const text = await readDataText(path);
  const name = opts.name ?? fileName(path);
  return parseDelimited(text, { ...opts, name });
}
