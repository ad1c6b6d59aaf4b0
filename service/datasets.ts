/**
 * Datasets as the service offers them: the bundled ones (everyone's, read-only) and those a key
 * uploaded or registered by URL (its own), in any format of the registry (core/data/formats.ts),
 * each file by its role. Files are written under a temporary name, read back and validated in a
 * worker, and only then renamed into place and recorded; so neither a failed upload nor a crash
 * halfway leaves a dataset that cannot be read.
 */
import { BUNDLED_NAMES, type BundledName } from "../core/data/mod.ts";
import { type DatasetRef, fileRef } from "../core/prepare.ts";
import type { Task } from "../core/data/dataset.ts";
import {
  type FormatName,
  formatOfFiles,
  type FormatProblem,
  FORMATS,
  formatsOfRoles,
  optionsProblem,
  type Role,
  roleNamed,
  ROLES,
  rolesOf,
  urlField,
} from "../core/data/formats.ts";
import { inspectDataset, InspectError } from "../workers/inspect.ts";
import { type DatasetRecord, decodeCursor, type Page, type Store } from "../store/mod.ts";
import { nowIso, randomId } from "../store/ids.ts";
import { type FieldError, invalid, notFound, ServiceError } from "./errors.ts";
import { fetchLimited, UrlFetchFailed, UrlRefused, UrlTooLarge } from "./url_fetch.ts";
import type { ServiceConfig } from "./config.ts";
import { AdmissionQueue } from "./admission.ts";

/**
 * An upload's files by role: `file` (CSV or JSON), `features` and `labels` (NumPy), or `images`
 * and `labels` (IDX).
 */
export type UploadFiles = Partial<Record<Role, Uint8Array>>;

/** A registration's URLs by role, as for uploads. */
export type UrlSource = Partial<Record<Role, string>>;

export interface DatasetMeta {
  name?: string;
  target?: string;
  task?: Task;
  /** The format the request states; checked against the files' roles and first bytes. */
  format?: FormatName;
}

/** Where a field of the request sits, for the problem document: a form field or a JSON pointer. */
type Locate = (field: FormatProblem["field"]) => Omit<FieldError, "detail">;
const formField: Locate = (field) => ({ parameter: field });
const jsonField: Locate = (field) => ({
  pointer: `/${(ROLES as readonly string[]).includes(field) ? urlField(field as Role) : field}`,
});

function refuse(problem: FormatProblem, at: Locate): ServiceError {
  return invalid(problem.detail, at(problem.field));
}

/** The format of the files (roles, first bytes, the stated format), if it takes the options. */
function formatOf(files: UploadFiles, meta: DatasetMeta, at: Locate): FormatName {
  const found = formatOfFiles(files, meta.format);
  if ("detail" in found) throw refuse(found, at);
  const options = optionsProblem(found.format, meta);
  if (options) throw refuse(options, at);
  return found.format;
}

export class DatasetService {
  readonly #bundled = new Map<BundledName, Promise<DatasetRecord>>();
  /** Uploads and registrations in progress: body, download and inspection, a few at once. */
  readonly #turns: AdmissionQueue;

  constructor(private readonly store: Store, private readonly config: ServiceConfig) {
    this.#turns = new AdmissionQueue(
      config.inspections.concurrent,
      config.inspections.queue,
      "dataset uploads",
    );
  }

  /** A turn to upload or register a dataset (the API takes it before reading the body). */
  admit(): Promise<() => void> {
    return this.#turns.acquire();
  }

  /** A bundled dataset, described once (in a worker) and cached. */
  #describeBundled(name: BundledName): Promise<DatasetRecord> {
    let found = this.#bundled.get(name);
    if (!found) {
      found = inspectDataset({ kind: "bundled", name }).then((info) => ({
        id: name,
        owner: null,
        name,
        source: "bundled" as const,
        format: "bundled" as const,
        ref: { kind: "bundled" as const, name },
        info,
        bytes: 0,
        createdAt: "1970-01-01T00:00:00.000Z",
      }));
      found.catch(() => this.#bundled.delete(name));
      this.#bundled.set(name, found);
    }
    return found;
  }

  bundled(): Promise<DatasetRecord[]> {
    return Promise.all(BUNDLED_NAMES.map((n) => this.#describeBundled(n)));
  }

  /** The bundled datasets on the first page, then the key's own, oldest first. */
  async list(owner: string, limit: number, cursor?: string): Promise<Page<DatasetRecord>> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      throw invalid("the cursor is not one this service issued", { parameter: "cursor" });
    }
    const own = this.store.datasets.list(owner, limit, after);
    return after ? own : { ...own, items: [...await this.bundled(), ...own.items] };
  }

  async get(owner: string, id: string): Promise<DatasetRecord> {
    if (isBundled(id)) return await this.#describeBundled(id);
    const found = this.store.datasets.get(owner, id);
    if (!found) throw notFound("dataset", id);
    return found;
  }

  async upload(owner: string, files: UploadFiles, meta: DatasetMeta): Promise<DatasetRecord> {
    const format = formatOf(files, meta, formField);
    return await this.#create(owner, "upload", format, files, meta, formField);
  }

  async register(owner: string, source: UrlSource, meta: DatasetMeta): Promise<DatasetRecord> {
    const given = ROLES.filter((r) => source[r] !== undefined);
    const formats = formatsOfRoles(given, meta.format);
    if (!Array.isArray(formats)) throw refuse(formats, jsonField);
    // Refused before any download when no format these URLs can be takes the options given (a
    // lone `url` may be CSV, which needs a target, or JSON, which does not: its bytes tell).
    const options = formats.map((f) => optionsProblem(f, meta));
    if (options.every((p) => p)) throw refuse(options[0]!, jsonField);
    const download = async (url: string, pointer: string) => {
      try {
        return await fetchLimited(url, {
          timeoutMs: this.config.url.timeoutMs,
          maxBytes: this.config.limits.maxUploadBytes,
          allowPrivate: this.config.url.allowPrivate,
        });
      } catch (e) {
        if (e instanceof UrlRefused) {
          throw new ServiceError("invalid", "URL refused", e.message, [{
            detail: e.message,
            pointer,
          }]);
        }
        if (e instanceof UrlTooLarge) {
          throw new ServiceError("too-large", "Download too large", e.message, [{
            detail: e.message,
            pointer,
          }]);
        }
        if (e instanceof UrlFetchFailed) {
          throw new ServiceError("invalid", "URL could not be fetched", e.message, [{
            detail: e.message,
            pointer,
          }]);
        }
        throw e;
      }
    };
    const files: UploadFiles = Object.fromEntries(
      await Promise.all(
        given.map(async (r) => [r, await download(source[r]!, jsonField(r).pointer!)]),
      ),
    );
    const format = formatOf(files, meta, jsonField);
    const urls = rolesOf(format).map((r) => source[r]).join(" ");
    return await this.#create(owner, "url", format, files, meta, jsonField, urls);
  }

  delete(owner: string, id: string, activeJobs: number): void {
    if ((BUNDLED_NAMES as readonly string[]).includes(id)) {
      throw new ServiceError(
        "conflict",
        "Bundled dataset",
        `${id} is bundled and cannot be deleted`,
      );
    }
    if (!this.store.datasets.get(owner, id)) throw notFound("dataset", id);
    if (activeJobs > 0) {
      throw new ServiceError(
        "conflict",
        "Dataset in use",
        `${activeJobs} queued or running search(es) use dataset ${id}; cancel them first`,
      );
    }
    this.store.datasets.delete(owner, id);
    Deno.removeSync(`${this.config.dataDir}/${id}`, { recursive: true });
  }

  /** The dataset a search runs on, with the task it asks for (checked, and re-read if needed). */
  async refFor(
    owner: string,
    id: string,
    task?: Task,
  ): Promise<{ record: DatasetRecord; ref: DatasetRef; info: DatasetRecord["info"] }> {
    let record: DatasetRecord;
    try {
      record = await this.get(owner, id);
    } catch (e) {
      if (e instanceof ServiceError && e.kind === "not-found") {
        throw invalid(
          `unknown dataset '${id}': use a bundled one (${
            BUNDLED_NAMES.join(", ")
          }) or the id of an upload`,
          { pointer: "/dataset" },
        );
      }
      throw e;
    }
    if (!task || task === record.info.task) return { record, ref: record.ref, info: record.info };
    if (record.ref.kind === "bundled" || !FORMATS[record.ref.kind].task) {
      throw invalid(
        `dataset ${id} is a ${record.info.task} dataset; it cannot be read for ${task}`,
        {
          pointer: "/task",
        },
      );
    }
    const ref = { ...record.ref, task };
    const end = await this.admit();
    try {
      return { record, ref, info: await inspectDataset(ref, record.info.target, this.#inflate) };
    } catch (e) {
      if (e instanceof InspectError && e.dataError) {
        throw invalid(`dataset ${id} cannot be read for ${task}: ${e.message}`, {
          pointer: "/task",
          row: e.row,
          column: e.column,
        });
      }
      throw e;
    } finally {
      end();
    }
  }

  /** Gzip files inflate to at most the upload limit, counted while they inflate. */
  get #inflate() {
    return { maxInflatedBytes: this.config.limits.maxUploadBytes };
  }

  /** Removes temporary and unrecorded files left by a crash. */
  async sweep(): Promise<void> {
    const known = this.store.datasets.allIds();
    try {
      for await (const entry of Deno.readDir(this.config.dataDir)) {
        if (!known.has(entry.name)) {
          await Deno.remove(`${this.config.dataDir}/${entry.name}`, { recursive: true });
        }
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }

  async #create(
    owner: string,
    source: "upload" | "url",
    format: FormatName,
    files: UploadFiles,
    meta: DatasetMeta,
    at: Locate,
    url?: string,
  ): Promise<DatasetRecord> {
    const id = randomId("ds");
    const dir = `${this.config.dataDir}/${id}`;
    const tmp = `${dir}.tmp`;
    const roles = rolesOf(format);
    const stored = (role: Role) => `${role}${FORMATS[format].extensions[0]}`;
    await Deno.mkdir(tmp, { recursive: true });
    let renamed = false;
    try {
      for (const role of roles) await Deno.writeFile(`${tmp}/${stored(role)}`, files[role]!);
      const name = meta.name ?? id;
      const refAt = (d: string): DatasetRef =>
        fileRef(format, Object.fromEntries(roles.map((r) => [r, `${d}/${stored(r)}`])), {
          target: meta.target,
          task: meta.task,
          name,
        });
      let info;
      try {
        info = await inspectDataset(refAt(tmp), meta.target, this.#inflate);
      } catch (e) {
        if (e instanceof InspectError && e.dataError) {
          // The loaders say which file is at fault (a single-file format has only one).
          const role = (e.role as Role | undefined) ?? roleNamed(format, e.message);
          const [kind, title] = e.tooLarge
            ? ["too-large", "Dataset too large"] as const
            : ["invalid", "Invalid dataset"] as const;
          throw new ServiceError(kind, title, e.message, [{
            detail: e.message,
            ...(role ? at(role) : {}),
            row: e.row,
            column: e.column,
          }]);
        }
        throw e;
      }
      if (info.rows > this.config.limits.maxRows) {
        throw new ServiceError(
          "too-large",
          "Too many rows",
          `the dataset has ${info.rows} rows; the limit is ${this.config.limits.maxRows}`,
        );
      }
      await Deno.rename(tmp, dir);
      renamed = true;
      const record: DatasetRecord = {
        id,
        owner,
        name,
        source,
        format,
        ref: refAt(dir),
        info,
        bytes: roles.reduce((n, r) => n + files[r]!.length, 0),
        url,
        createdAt: nowIso(),
      };
      this.store.datasets.insert(record);
      return record;
    } catch (e) {
      await Deno.remove(renamed ? dir : tmp, { recursive: true }).catch(() => {});
      throw e;
    }
  }
}

export function isBundled(id: string): id is BundledName {
  return (BUNDLED_NAMES as readonly string[]).includes(id);
}
