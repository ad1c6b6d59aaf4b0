/**
 * Datasets as the service offers them: the bundled ones (everyone's, read-only) and those a key
 * uploaded or registered by URL (its own). Files are written under a temporary name, read back
 * and validated in a worker, and only then renamed into place and recorded; so neither a failed
 * upload nor a crash halfway leaves a dataset that cannot be read.
 */
import { BUNDLED_NAMES, type BundledName } from "../core/data/mod.ts";
import type { DatasetRef } from "../core/prepare.ts";
import type { Task } from "../core/data/dataset.ts";
import { inspectDataset, InspectError } from "../workers/inspect.ts";
import { type DatasetRecord, decodeCursor, type Page, type Store } from "../store/mod.ts";
import { nowIso, randomId } from "../store/ids.ts";
import { invalid, notFound, ServiceError } from "./errors.ts";
import { fetchLimited, UrlFetchFailed, UrlRefused, UrlTooLarge } from "./url_fetch.ts";
import type { ServiceConfig } from "./config.ts";

export interface UploadFiles {
  /** CSV or TSV text. */
  data?: Uint8Array;
  /** IDX images and labels (each plain or gzip). */
  images?: Uint8Array;
  labels?: Uint8Array;
}

export interface DatasetMeta {
  name?: string;
  target?: string;
  task?: Task;
}

export interface UrlSource {
  url?: string;
  imagesUrl?: string;
  labelsUrl?: string;
}

export class DatasetService {
  readonly #bundled = new Map<BundledName, Promise<DatasetRecord>>();

  constructor(private readonly store: Store, private readonly config: ServiceConfig) {}

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
    if (files.data) {
      if (files.images || files.labels) {
        throw invalid("send either a CSV file or an IDX pair, not both", { parameter: "file" });
      }
      return await this.#create(owner, "upload", { "data.csv": files.data }, meta);
    }
    if (files.images && files.labels) {
      return await this.#create(owner, "upload", {
        "images.idx": files.images,
        "labels.idx": files.labels,
      }, meta);
    }
    throw invalid(
      "send a CSV file in the form field 'file', or an IDX pair in 'images' and 'labels'",
      { parameter: files.images ? "labels" : files.labels ? "images" : "file" },
    );
  }

  async register(owner: string, source: UrlSource, meta: DatasetMeta): Promise<DatasetRecord> {
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
    if (source.url) {
      const data = await download(source.url, "/url");
      return await this.#create(owner, "url", { "data.csv": data }, meta, source.url);
    }
    const [images, labels] = await Promise.all([
      download(source.imagesUrl!, "/imagesUrl"),
      download(source.labelsUrl!, "/labelsUrl"),
    ]);
    return await this.#create(
      owner,
      "url",
      { "images.idx": images, "labels.idx": labels },
      meta,
      `${source.imagesUrl} ${source.labelsUrl}`,
    );
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
    if (record.ref.kind !== "csv") {
      throw invalid(
        `dataset ${id} is a ${record.info.task} dataset; it cannot be read for ${task}`,
        {
          pointer: "/task",
        },
      );
    }
    const ref = { ...record.ref, task };
    try {
      return { record, ref, info: await inspectDataset(ref, record.ref.target) };
    } catch (e) {
      if (e instanceof InspectError && e.dataError) {
        throw invalid(`dataset ${id} cannot be read for ${task}: ${e.message}`, {
          pointer: "/task",
          row: e.row,
          column: e.column,
        });
      }
      throw e;
    }
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
    files: Record<string, Uint8Array>,
    meta: DatasetMeta,
    url?: string,
  ): Promise<DatasetRecord> {
    const id = randomId("ds");
    const dir = `${this.config.dataDir}/${id}`;
    const tmp = `${dir}.tmp`;
    await Deno.mkdir(tmp, { recursive: true });
    let renamed = false;
    try {
      for (const [file, bytes] of Object.entries(files)) {
        await Deno.writeFile(`${tmp}/${file}`, bytes);
      }
      const csv = "data.csv" in files;
      if (csv && !meta.target) {
        throw invalid("a CSV dataset needs the name of its target column", {
          parameter: "target",
          pointer: "/target",
        });
      }
      const name = meta.name ?? id;
      const at = (d: string): DatasetRef =>
        csv
          ? { kind: "csv", path: `${d}/data.csv`, target: meta.target!, task: meta.task, name }
          : { kind: "idx", images: `${d}/images.idx`, labels: `${d}/labels.idx`, name };
      let info;
      try {
        info = await inspectDataset(at(tmp), csv ? meta.target : undefined);
      } catch (e) {
        if (e instanceof InspectError && e.dataError) {
          throw new ServiceError("invalid", "Invalid dataset", e.message, [{
            detail: e.message,
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
        format: csv ? "csv" : "idx",
        ref: at(dir),
        info,
        bytes: Object.values(files).reduce((n, b) => n + b.length, 0),
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
