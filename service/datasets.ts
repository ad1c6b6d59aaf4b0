/**
 * Datasets as the service offers them: the bundled ones (everyone's, read-only) and those a key
 * uploaded or registered by URL (its own), in any format of the registry (core/data/formats.ts),
 * each file by its role. Files are written under a temporary name, read back and validated in a
 * worker, and only then renamed into place and recorded; so neither a failed upload nor a crash
 * halfway leaves a dataset that cannot be read.
 *
 * Several processes may share the data folder (nodes on one machine, or a folder every node
 * mounts), so each writes its uploads in progress under `.incoming/<node>/`, and a dataset folder
 * renamed into place carries a `.pending` file naming its node until its record is stored. The
 * start-up sweep deletes only what no live node owns: the incoming folders of nodes that are gone,
 * and dataset folders with neither a record nor a live node's `.pending`. Where the storage keeps
 * the files (PostgreSQL), a node that lacks a dataset's folder copies it from there on first use.
 */
import { BUNDLED_NAMES, type BundledName } from "../core/data/mod.ts";
import { type DatasetRef, fileRef, refFiles } from "../core/prepare.ts";
import { type DataShape, shapeMismatch } from "../core/data/given.ts";
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
import {
  type DatasetRecord,
  decodeCursor,
  DuplicateKeyError,
  type NodeInfo,
  type Page,
  type Storage,
} from "../store/mod.ts";
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

/** A dataset made, or the owner's dataset of the same content (`existing`). */
export interface Created {
  record: DatasetRecord;
  existing: boolean;
}

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * What makes two datasets one: the bytes of each file by role, and the options they are read
 * with (format, target, task), whatever the name or where the bytes came from.
 */
export async function contentHash(
  format: FormatName,
  files: UploadFiles,
  meta: DatasetMeta,
): Promise<string> {
  const digests: Record<string, string> = {};
  for (const role of rolesOf(format)) {
    digests[role] = hex(await crypto.subtle.digest("SHA-256", files[role]! as BufferSource));
  }
  const key = JSON.stringify({
    format,
    target: meta.target ?? null,
    task: meta.task ?? null,
    files: digests,
  });
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
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

  constructor(
    private readonly storage: Storage,
    private readonly config: ServiceConfig,
    private readonly node: NodeInfo,
  ) {
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

  /** Where this node writes what it has not finished writing. */
  get #incoming(): string {
    return `${this.config.dataDir}/${INCOMING}/${this.node.id}`;
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

  /** One at a time: four loading workers at once (spam's included) stalled past the inspection
   * timeout on a loaded 2-core machine, and each is described once per process anyway. */
  async bundled(): Promise<DatasetRecord[]> {
    const records: DatasetRecord[] = [];
    for (const name of BUNDLED_NAMES) records.push(await this.#describeBundled(name));
    return records;
  }

  /** The bundled datasets on the first page, then the key's own, oldest first. */
  async list(owner: string, limit: number, cursor?: string): Promise<Page<DatasetRecord>> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && !after) {
      throw invalid("the cursor is not one this service issued", { parameter: "cursor" });
    }
    const own = await this.storage.datasets.list(owner, limit, after);
    return after ? own : { ...own, items: [...await this.bundled(), ...own.items] };
  }

  async get(owner: string, id: string): Promise<DatasetRecord> {
    if (isBundled(id)) return await this.#describeBundled(id);
    const found = await this.storage.datasets.get(owner, id);
    if (!found) throw notFound("dataset", id);
    return found;
  }

  async upload(owner: string, files: UploadFiles, meta: DatasetMeta): Promise<Created> {
    const format = formatOf(files, meta, formField);
    return await this.#create(owner, "upload", format, files, meta, formField);
  }

  async register(owner: string, source: UrlSource, meta: DatasetMeta): Promise<Created> {
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

  async delete(owner: string, id: string, activeJobs: number): Promise<void> {
    if ((BUNDLED_NAMES as readonly string[]).includes(id)) {
      throw new ServiceError(
        "conflict",
        "Bundled dataset",
        `${id} is bundled and cannot be deleted`,
      );
    }
    if (!await this.storage.datasets.get(owner, id)) throw notFound("dataset", id);
    if (activeJobs > 0) {
      throw new ServiceError(
        "conflict",
        "Dataset in use",
        `${activeJobs} queued or running search(es) use dataset ${id}; cancel them first`,
      );
    }
    await this.storage.datasets.delete(owner, id);
    await Deno.remove(`${this.config.dataDir}/${id}`, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
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
      const here = await this.localRef(record.id, ref);
      return { record, ref, info: await inspectDataset(here, record.info.target, this.#inflate) };
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

  /**
   * The request's own validation and test sets, as references for the search: each must be the
   * same kind of data as the training set (`info`), refused at its field otherwise.
   */
  async givenSplits(
    owner: string,
    info: DatasetRecord["info"],
    body: { dataset: string; validation?: string; test?: string },
  ): Promise<{ validation?: DatasetRef; test?: DatasetRef }> {
    const out: { validation?: DatasetRef; test?: DatasetRef } = {};
    for (const role of ["validation", "test"] as const) {
      const id = body[role];
      if (id === undefined) continue;
      const pointer = `/${role}`;
      if (id === body.dataset) {
        // Its rows would be trained on as well: the measurement would not be held out.
        throw invalid(`the ${role} set must be another dataset than the training set`, {
          pointer,
        });
      }
      let found;
      try {
        found = await this.refFor(owner, id, info.task);
      } catch (e) {
        // refFor words its refusals for the training set's fields: point at this one.
        if (e instanceof ServiceError && e.kind === "invalid") {
          throw invalid(`${role}: ${e.message}`, { pointer });
        }
        throw e;
      }
      const problem = shapeMismatch(shapeOfInfo(info), shapeOfInfo(found.info), role);
      if (problem) throw invalid(`dataset ${id}: ${problem}`, { pointer });
      out[role] = found.ref;
    }
    return out;
  }

  /** Rows of the named datasets together (a search's own validation and test sets). */
  async rowsOf(owner: string, ids: (string | undefined)[]): Promise<number> {
    let rows = 0;
    for (const id of ids) if (id !== undefined) rows += (await this.get(owner, id)).info.rows;
    return rows;
  }

  /**
   * The dataset's files as this node reads them: where the storage keeps them, they are copied
   * into this node's data folder the first time (written aside, then renamed into place), and the
   * reference points there; otherwise the folder is shared and the reference stands.
   */
  async localRef(datasetId: string, ref: DatasetRef): Promise<DatasetRef> {
    if (ref.kind === "bundled" || !this.storage.datasets.keepsFiles) return ref;
    const dir = `${this.config.dataDir}/${datasetId}`;
    if (!await exists(dir)) {
      const files = await this.storage.datasets.files(datasetId);
      if (Object.keys(files).length === 0) {
        throw new Error(`the files of dataset ${datasetId} are not in the database`);
      }
      const tmp = `${this.#incoming}/${datasetId}`;
      await Deno.mkdir(tmp, { recursive: true });
      for (const [name, bytes] of Object.entries(files)) {
        await Deno.writeFile(`${tmp}/${name}`, bytes);
      }
      // Another node on this machine may have copied it first: then its copy serves.
      await Deno.rename(tmp, dir).catch(() => Deno.remove(tmp, { recursive: true }));
    }
    const files = Object.fromEntries(
      Object.entries(refFiles(ref)).map(([role, path]) => [role, `${dir}/${basename(path)}`]),
    );
    return fileRef(ref.kind, files, {
      target: "target" in ref ? ref.target : undefined,
      task: "task" in ref ? ref.task : undefined,
      name: ref.name,
    });
  }

  /**
   * Removes what a crash left behind: the incoming folders of nodes that are gone, and dataset
   * folders that no record names and no live node is about to record (`.pending`). Never what a
   * live node owns: several may share the folder.
   */
  async sweep(): Promise<void> {
    const live = new Set(
      (await this.storage.nodes.live(this.config.leaseMs)).map((n) => n.id),
    );
    live.add(this.node.id);
    const dataDir = this.config.dataDir;
    const remove = (path: string) =>
      Deno.remove(path, { recursive: true }).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dataDir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const entry of entries) {
      const path = `${dataDir}/${entry.name}`;
      if (entry.name === INCOMING) {
        for await (const owner of Deno.readDir(path)) {
          if (!live.has(owner.name)) await remove(`${path}/${owner.name}`);
        }
      } else if (entry.name.endsWith(".tmp")) {
        // Where earlier versions wrote uploads in progress: one process each, gone by now.
        if (this.storage.singleProcess) await remove(path);
      } else {
        // The marker first, the record second: a node removes its marker only once its record
        // is stored, so a folder without a marker and without a record is nobody's.
        const pending = await Deno.readTextFile(`${path}/${PENDING}`).catch(() => undefined);
        if (pending !== undefined && live.has(pending.trim())) continue;
        if (await this.storage.datasets.getById(entry.name)) continue;
        await remove(path);
      }
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
  ): Promise<Created> {
    // The same bytes read the same way again: the dataset there is, without reading them.
    const hash = await contentHash(format, files, meta);
    const found = await this.storage.datasets.byContentHash(owner, hash);
    if (found) return { record: found, existing: true };
    const id = randomId("ds");
    const dir = `${this.config.dataDir}/${id}`;
    const tmp = `${this.#incoming}/${id}`;
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
      await Deno.writeTextFile(`${tmp}/${PENDING}`, this.node.id);
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
        contentHash: hash,
        createdAt: nowIso(),
      };
      const kept = this.storage.datasets.keepsFiles
        ? Object.fromEntries(roles.map((r) => [stored(r), files[r]!]))
        : undefined;
      await this.storage.datasets.insert(record, kept);
      await Deno.remove(`${dir}/${PENDING}`);
      return { record, existing: false };
    } catch (e) {
      await Deno.remove(renamed ? dir : tmp, { recursive: true }).catch(() => {});
      // The same upload, sent twice at once: the first one stored is the dataset.
      const first = e instanceof DuplicateKeyError &&
        await this.storage.datasets.byContentHash(owner, hash);
      if (first) return { record: first, existing: true };
      throw e;
    }
  }
}

const shapeOfInfo = (info: DatasetRecord["info"]): DataShape => ({
  task: info.task,
  features: info.features,
  classNames: info.classNames,
  featureNames: info.featureNames,
  imageShape: info.imageShape,
});

/** The folder, under the data folder, of each node's uploads in progress. */
const INCOMING = ".incoming";
/** In a dataset folder renamed into place: the node that is about to record it. */
const PENDING = ".pending";

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

export function isBundled(id: string): id is BundledName {
  return (BUNDLED_NAMES as readonly string[]).includes(id);
}
