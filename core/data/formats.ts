/**
 * The registry of dataset file formats: which files each takes (by role), how the CLI tells it by
 * a file's name and the service by its first bytes, whether it needs a target column, and how to
 * load it. The CLI, the service's uploads and URL registrations all read this table, and the
 * problems below are worded here once, so every format is accepted, or refused with the same
 * words, on every entry point.
 */
import type { Dataset, Task } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { readDataHead } from "./files.ts";
import { loadCsvFile } from "./csv.ts";
import { loadJsonFile } from "./json.ts";
import { isNpy, loadNpyPair } from "./npy.ts";
import { isGzip, loadIdxFiles } from "./idx.ts";

export type Role = "file" | "features" | "images" | "labels";

/**
 * A file the format reads. Its role names the service's form field and, as `<role>Url` (`url`
 * for the one file of a text format), its URL field; the CLI takes the first file as
 * `--dataset` and labels as `--labels`.
 */
export interface FileRole {
  role: Role;
  description: string;
}

export interface FormatSpec {
  /** The format's name for people, in messages. */
  title: string;
  description: string;
  files: readonly FileRole[];
  /** File-name endings the CLI recognises (lower case); the first names stored files. */
  extensions: readonly string[];
  /** `required`: a target column must be named; `optional`: may be named; `none`: no target. */
  target: "required" | "optional" | "none";
  /** Whether `task` can be chosen (classification or regression); images are always classes. */
  task: boolean;
  load(
    files: Record<string, string>,
    opts: { target?: string; task?: Task; name?: string; maxInflatedBytes?: number },
  ): Promise<Dataset>;
}

export const FORMATS = {
  csv: {
    title: "CSV",
    description: "CSV or TSV with a header row and a target column",
    files: [{ role: "file", description: "CSV or TSV with a header row" }],
    extensions: [".csv", ".tsv", ".txt"],
    target: "required",
    task: true,
    load: async (f, o) => {
      await refuseBinary(f.file);
      return loadCsvFile(f.file, { target: o.target!, task: o.task, name: o.name });
    },
  },
  json: {
    title: "JSON",
    description: 'JSON: rows as objects with a target key, or {"x": [[...]], "y": [...]}',
    files: [{ role: "file", description: "JSON rows or an x/y pair of arrays" }],
    extensions: [".json"],
    target: "optional",
    task: true,
    load: async (f, o) => {
      await refuseBinary(f.file);
      return loadJsonFile(f.file, o);
    },
  },
  npy: {
    title: "NumPy",
    description: "NumPy .npy features [n, d] and labels [n] (plain or gzip)",
    files: [
      { role: "features", description: "NumPy features [n, d] (or [n, h, w]), plain or gzip" },
      { role: "labels", description: "NumPy labels [n], plain or gzip" },
    ],
    extensions: [".npy", ".npy.gz"],
    target: "none",
    task: true,
    load: (f, o) =>
      loadNpyPair(f.features, f.labels, {
        task: o.task,
        name: o.name,
        maxBytes: o.maxInflatedBytes,
      }),
  },
  idx: {
    title: "IDX",
    description: "IDX images [n, rows, cols] and labels [n] (as MNIST ships; plain or gzip)",
    files: [
      { role: "images", description: "IDX images [n, rows, cols], unsigned bytes, plain or gzip" },
      { role: "labels", description: "IDX labels [n], unsigned bytes, plain or gzip" },
    ],
    extensions: [".idx", "-ubyte", ".idx1", ".idx3", ".gz"],
    target: "none",
    task: false,
    load: (f, o) => loadIdxFiles(f.images, f.labels, o.name, o.maxInflatedBytes),
  },
} as const satisfies Record<string, FormatSpec>;

export type FormatName = keyof typeof FORMATS;
export const FORMAT_NAMES = Object.keys(FORMATS) as FormatName[];

/** Every role some format takes, in the registry's order. */
export const ROLES: readonly Role[] = [
  ...new Set(FORMAT_NAMES.flatMap((f) => FORMATS[f].files.map((r) => r.role))),
];

export function isFormatName(name: string): name is FormatName {
  return Object.hasOwn(FORMATS, name);
}

export function formatSpec(name: FormatName): FormatSpec {
  return FORMATS[name];
}

export function rolesOf(format: FormatName): Role[] {
  return FORMATS[format].files.map((r) => r.role);
}

/** The JSON field of a registration that holds a role's URL. */
export function urlField(role: Role): string {
  return role === "file" ? "url" : `${role}Url`;
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

/**
 * What a file's first bytes say it is: NumPy (magic string), IDX (two zero bytes and a type code),
 * gzip (then its inner format is unknown until inflated), JSON (a bracket first) or text.
 */
export function sniff(bytes: Uint8Array): "npy" | "idx" | "gzip" | "json" | "text" {
  if (isNpy(bytes)) return "npy";
  if (isGzip(bytes)) return "gzip";
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] >= 0x08) return "idx";
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (
    i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d ||
      bytes[i] === 0x09)
  ) i++;
  if (bytes[i] === 0x7b || bytes[i] === 0x5b) return "json";
  return "text";
}

/** What is wrong with a request's files or options, and the field (role or option) at fault. */
export interface FormatProblem {
  detail: string;
  field: Role | "format" | "target" | "task";
}

/** "a CSV dataset", "an IDX dataset". */
function aDataset(format: FormatName): string {
  const title = FORMATS[format].title;
  return `${/^[AEIOU]/.test(title) ? "an" : "a"} ${title} dataset`;
}

const quote = (role: string) => `'${role}'`;

function quoted(roles: readonly string[], field: (role: string) => string = quote): string {
  const q = roles.map(field);
  return q.length > 1 ? `${q.slice(0, -1).join(", ")} and ${q.at(-1)}` : q[0];
}

/**
 * The files of every format, formats with the same roles together: "'file' (CSV or JSON),
 * 'features' and 'labels' (NumPy), or 'images' and 'labels' (IDX)"; `field` spells a role as a
 * request names it.
 */
export function roleListing(field: (role: Role) => string = quote): string {
  const groups = new Map<string, string[]>();
  for (const f of FORMAT_NAMES) {
    const key = quoted(rolesOf(f), field as (role: string) => string);
    groups.set(key, [...groups.get(key) ?? [], FORMATS[f].title]);
  }
  const parts = [...groups].map(([roles, titles]) => `${roles} (${titles.join(" or ")})`);
  return `${parts.slice(0, -1).join(", ")}, or ${parts.at(-1)}`;
}

/** The first file a format needs that is not among the roles given. */
export function missingFile(
  format: FormatName,
  given: readonly string[],
): FormatProblem | undefined {
  const missing = FORMATS[format].files.find((r) => !given.includes(r.role));
  if (!missing) return undefined;
  return {
    detail: `${aDataset(format)} needs its '${missing.role}' file: ${missing.description}`,
    field: missing.role,
  };
}

/** Whether a format takes the target and task given. */
export function optionsProblem(
  format: FormatName,
  opts: { target?: string; task?: Task },
): FormatProblem | undefined {
  const spec = FORMATS[format];
  if (spec.target === "required" && !opts.target) {
    return { detail: `${aDataset(format)} needs the name of its target column`, field: "target" };
  }
  if (spec.target === "none" && opts.target) {
    return {
      detail: `${aDataset(format)} has no target column: its labels are a file of their own`,
      field: "target",
    };
  }
  if (!spec.task && opts.task) {
    return { detail: `${aDataset(format)} holds class labels: it takes no task`, field: "task" };
  }
  return undefined;
}

/**
 * The formats the roles given can be, before any byte is read (so a registration is refused
 * before it downloads anything): one pair format, or the text formats (told apart by bytes).
 * `stated` is the format the request names, if it names one.
 */
export function formatsOfRoles(
  given: readonly Role[],
  stated?: FormatName,
): FormatName[] | FormatProblem {
  const candidates = stated ? [stated] : FORMAT_NAMES;
  const exact = candidates.filter((f) =>
    rolesOf(f).length === given.length && given.every((r) => rolesOf(f).includes(r))
  );
  if (exact.length) return exact;
  if (given.length === 0) {
    return {
      detail: `send a dataset's files: ${stated ? quoted(rolesOf(stated)) : roleListing()}`,
      field: stated ? rolesOf(stated)[0] : "file",
    };
  }
  const within = candidates.filter((f) => given.every((r) => rolesOf(f).includes(r)));
  if (within.length === 1) return missingFile(within[0], given)!;
  if (within.length > 1) {
    const others = within.map((f) =>
      `${quoted(rolesOf(f).filter((r) => !given.includes(r)))} (${FORMATS[f].title})`
    );
    return {
      detail: `${quoted(given)} goes with ${others.join(" or ")}`,
      field: missingFile(within[0], given)!.field,
    };
  }
  // Files of several formats: the one that fits the most of them says which file is extra.
  const overlap = (f: FormatName) => given.filter((r) => rolesOf(f).includes(r)).length;
  const best = [...candidates].sort((a, b) => overlap(b) - overlap(a))[0];
  return {
    detail: `send the files of one format: ${
      stated ? `${aDataset(stated)} is ${quoted(rolesOf(stated))}` : roleListing()
    }; got ${quoted(given)}`,
    field: given.find((r) => !rolesOf(best).includes(r))!,
  };
}

const KIND_WORDS = { npy: "a NumPy array (.npy)", idx: "an IDX file" } as const;

/** Why a file's first bytes are not CSV or JSON text, if they are not. */
export function notText(head: Uint8Array): string | undefined {
  const kind = sniff(head);
  if (kind === "npy") {
    return `the file is ${KIND_WORDS.npy}, not CSV or JSON text: ` +
      `${aDataset("npy")} is two files, ${quoted(rolesOf("npy"))}`;
  }
  if (kind === "idx" || kind === "gzip") {
    return "the file is binary (IDX or gzip), not CSV or JSON text: " +
      `${aDataset("idx")} is two files, ${quoted(rolesOf("idx"))}, ` +
      `and ${aDataset("npy")} ${quoted(rolesOf("npy"))}`;
  }
  return undefined;
}

/** Refuses a binary file given as text, with the words the service uses for an upload. */
async function refuseBinary(path: string): Promise<void> {
  const why = notText(await readDataHead(path, 16));
  if (why) throw new DataError(why);
}

/**
 * The format of a set of files given by role (an upload's form fields, a registration's
 * downloads): the roles name the pair formats; a lone `file` is JSON or CSV by its first bytes.
 * A stated format must agree with both. Returns what is wrong, in words, when nothing fits.
 */
export function formatOfFiles(
  files: Partial<Record<Role, Uint8Array>>,
  stated?: FormatName,
): { format: FormatName } | FormatProblem {
  const given = ROLES.filter((r) => files[r] !== undefined);
  const formats = formatsOfRoles(given, stated);
  if (!Array.isArray(formats)) return formats;
  if (given.includes("file")) {
    const why = notText(files.file!);
    if (why) return { detail: why, field: "file" };
    const format = sniff(files.file!) === "json" ? "json" : "csv";
    if (stated && stated !== format) {
      return {
        detail: `'format' is ${stated}, but the file ${
          format === "json"
            ? "starts with '{' or '[': it is JSON"
            : "does not start with '{' or '[': it is not JSON"
        }`,
        field: "format",
      };
    }
    return { format };
  }
  const [format] = formats;
  const [first, ...rest] = rolesOf(format);
  for (const role of [first, ...rest]) {
    const kind = sniff(files[role]!);
    if ((kind === "npy" || kind === "idx") && kind !== format) {
      return {
        detail: role === first
          ? `'${role}' is ${KIND_WORDS[kind]}: send ${FORMATS[kind].title} data as ${
            quoted(rolesOf(kind))
          }`
          : `'${role}' is ${KIND_WORDS[kind]}, but '${first}' is not: send both files of ${
            aDataset(kind)
          } (${quoted(rolesOf(kind))})`,
        field: role,
      };
    }
  }
  return { format };
}

/**
 * The role a data error is about: the one file of a text format, or the file a pair format's
 * loader names first ("the labels file ..."), if it names one.
 */
export function roleNamed(format: FormatName, message: string): Role | undefined {
  const roles = rolesOf(format);
  if (roles.length === 1) return roles[0];
  const at = roles
    .map((role) => ({ role, index: message.indexOf(`the ${role} file`) }))
    .filter((r) => r.index >= 0)
    .sort((a, b) => a.index - b.index);
  return at[0]?.role;
}
