/**
 * The registry of dataset file formats: which files each takes (by role), how the CLI tells it by
 * a file's name and the service by its first bytes, whether it needs a target column, and how to
 * load it. The CLI, the service's uploads and URL registrations all read this table, so every
 * format is accepted, or refused with the same words, on every entry point.
 */
import type { Dataset, Task } from "./dataset.ts";
import { loadCsvFile } from "./csv.ts";
import { loadJsonFile } from "./json.ts";
import { loadNpyPair } from "./npy.ts";
import { loadIdxFiles } from "./idx.ts";

/** A file the format reads: its role names the CLI flag, form field and `<role>Url` field. */
export interface FileRole {
  role: "file" | "features" | "images" | "labels";
  description: string;
}

export interface FormatSpec {
  description: string;
  files: readonly FileRole[];
  /** File-name endings the CLI recognises (lower case). */
  extensions: readonly string[];
  /** `required`: a target column must be named; `optional`: may be named; `none`: no target. */
  target: "required" | "optional" | "none";
  /** Whether `task` can be chosen (classification or regression); images are always classes. */
  task: boolean;
  load(
    files: Record<string, string>,
    opts: { target?: string; task?: Task; name?: string },
  ): Promise<Dataset>;
}

export const FORMATS = {
  csv: {
    description: "CSV or TSV with a header row and a target column",
    files: [{ role: "file", description: "CSV or TSV with a header row." }],
    extensions: [".csv", ".tsv", ".txt"],
    target: "required",
    task: true,
    load: (f, o) => loadCsvFile(f.file, { target: o.target!, task: o.task, name: o.name }),
  },
  json: {
    description: 'JSON: rows as objects with a target key, or {"x": [[...]], "y": [...]}',
    files: [{ role: "file", description: "JSON rows or an x/y pair of arrays." }],
    extensions: [".json"],
    target: "optional",
    task: true,
    load: (f, o) => loadJsonFile(f.file, o),
  },
  npy: {
    description: "NumPy .npy features [n, d] and labels [n] (plain or gzip)",
    files: [
      { role: "features", description: "NumPy features [n, d] (or [n, h, w]), plain or gzip." },
      { role: "labels", description: "NumPy labels [n], plain or gzip." },
    ],
    extensions: [".npy", ".npy.gz"],
    target: "none",
    task: true,
    load: (f, o) => loadNpyPair(f.features, f.labels, { task: o.task, name: o.name }),
  },
  idx: {
    description: "IDX images [n, rows, cols] and labels [n] (as MNIST ships; plain or gzip)",
    files: [
      { role: "images", description: "IDX images [n, rows, cols], unsigned bytes." },
      { role: "labels", description: "IDX labels [n], unsigned bytes." },
    ],
    extensions: [".idx", "-ubyte", ".idx1", ".idx3", ".gz"],
    target: "none",
    task: false,
    load: (f, o) => loadIdxFiles(f.images, f.labels, o.name),
  },
} as const satisfies Record<string, FormatSpec>;

export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

export function isFormatName(name: string): name is FormatName {
  return Object.hasOwn(FORMATS, name);
}

export function formatSpec(name: FormatName): FormatSpec {
  return FORMATS[name];
}

/** One line per format, for usage texts and error messages. */
export function describeFormats(): string {
  return FORMAT_NAMES.map((f) => `${f} (${FORMATS[f].description})`).join("; ");
}

/** The format a file name's ending says, if any (a longer ending wins: .npy.gz before .gz). */
export function formatOfName(fileName: string): FormatName | undefined {
  const lower = fileName.toLowerCase();
  let best: { format: FormatName; length: number } | undefined;
  for (const format of FORMAT_NAMES) {
    for (const ext of FORMATS[format].extensions) {
      if (lower.endsWith(ext) && (!best || ext.length > best.length)) {
        best = { format, length: ext.length };
      }
    }
  }
  return best?.format;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * What a file's first bytes say it is: NumPy (magic string), IDX (two zero bytes and a type code),
 * gzip (then its inner format is unknown until inflated), JSON (a bracket first) or text.
 */
export function sniff(bytes: Uint8Array): "npy" | "idx" | "gzip" | "json" | "text" {
  if (NPY_MAGIC.every((b, i) => bytes[i] === b)) return "npy";
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return "gzip";
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] >= 0x08) return "idx";
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (
    i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d ||
      bytes[i] === 0x09)
  ) i++;
  if (bytes[i] === 0x7b || bytes[i] === 0x5b) return "json";
  return "text";
}

/**
 * The format of a set of files given by role (an upload's form fields, a registration's URLs):
 * the roles name the pair formats; a lone `file` is JSON or CSV by its first bytes. Returns what
 * is wrong, in words, when the roles or bytes fit no format.
 */
export function formatOfFiles(
  files: Partial<Record<FileRole["role"], Uint8Array>>,
): { format: FormatName } | { error: string; role: string } {
  const given = Object.keys(files).filter((r) => files[r as FileRole["role"]] !== undefined);
  const matches = FORMAT_NAMES.filter((f) => {
    const roles = FORMATS[f].files.map((r) => r.role as string);
    return roles.length === given.length && roles.every((r) => given.includes(r));
  });
  if (matches.length === 0) {
    const pairs = FORMAT_NAMES.map((f) =>
      `${FORMATS[f].files.map((r) => `'${r.role}'`).join(" and ")} (${f})`
    );
    const missing = given.includes("labels")
      ? (given.includes("images") || given.includes("features") ? "file" : "features")
      : given.includes("images") || given.includes("features")
      ? "labels"
      : "file";
    return {
      error: `send the files of one format: ${[...new Set(pairs)].join(", or ")}`,
      role: given.length ? missing : "file",
    };
  }
  const kind = (role: FileRole["role"]) => sniff(files[role]!);
  if (matches.includes("csv")) {
    const k = kind("file");
    if (k === "npy") {
      return {
        error: "this file is a NumPy array (.npy): send it as 'features' with its 'labels'",
        role: "file",
      };
    }
    if (k === "idx" || k === "gzip") {
      return {
        error: "this file is binary (IDX or gzip): send IDX images and labels as 'images' and " +
          "'labels', NumPy arrays as 'features' and 'labels'",
        role: "file",
      };
    }
    return { format: k === "json" ? "json" : "csv" };
  }
  if (matches.includes("idx") && kind("images") === "npy") {
    return {
      error: "'images' is a NumPy array: send NumPy data as 'features' and 'labels'",
      role: "images",
    };
  }
  return { format: matches[0] };
}
