/** What the store keeps, as plain data. The API turns these into its own documents. */
import type { DatasetRef } from "../core/prepare.ts";
import type { SearchConfig } from "../core/search.ts";
import type { Task } from "../core/data/dataset.ts";
import type { FormatName } from "../core/data/formats.ts";
import type { Progress } from "../core/progress.ts";

/** What inspecting a dataset found: enough to describe it and to size a model for it. */
export interface DatasetInfo {
  name: string;
  task: Task;
  rows: number;
  features: number;
  classes?: number;
  classNames?: string[];
  featureNames?: string[];
  imageShape?: [number, number, number];
  target?: string;
}

export type DatasetSource = "bundled" | "upload" | "url";
/** A format of the registry (core/data/formats.ts), or one of the bundled datasets. */
export type DatasetFormat = "bundled" | FormatName;

export interface DatasetRecord {
  id: string;
  /** null for the bundled datasets, which everyone sees. */
  owner: string | null;
  name: string;
  source: DatasetSource;
  format: DatasetFormat;
  ref: DatasetRef;
  info: DatasetInfo;
  bytes: number;
  url?: string;
  /** SHA-256 of the files and the options they were read with (service/datasets.ts): an upload
   * of the same bytes by the same owner is this dataset again. Absent on older records. */
  contentHash?: string;
  createdAt: string;
}

export const JOB_STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobState = typeof JOB_STATES[number];
export const FINISHED_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled"];

export interface JobError {
  title: string;
  detail: string;
}

/** Labels of a search: short keys and values, as in Kubernetes or Vertex AI. */
export type Labels = Record<string, string>;

/** Where a search that continues another one started: that search, at its last generation. */
export interface JobOrigin {
  search: string;
  generation: number;
}

export interface JobRecord {
  id: string;
  owner: string;
  /** For people: not unique, and optional. */
  name: string | null;
  labels: Labels;
  /** Set when the search continues another one from that one's last generation. */
  continues: JobOrigin | null;
  state: JobState;
  datasetId: string;
  /** The dataset as this search reads it (its task may differ from the upload's). */
  dataInfo: DatasetInfo;
  /** The request body as submitted. */
  request: unknown;
  /** Every setting the search runs with: the request resolved against the defaults. */
  config: SearchConfig;
  requestHash: string;
  idempotencyKey: string | null;
  progress: Progress;
  error: JobError | null;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** What `JobStore.list` keeps: every condition given must hold. */
export interface JobFilter {
  state?: JobState;
  /** The exact name. */
  name?: string;
  /** Each [key, value] must be a label; [key] alone asks for the key with any value. */
  labels?: [string, string?][];
}

export interface StoredEvent {
  id: number;
  jobId: string;
  type: string;
  data: unknown;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}
