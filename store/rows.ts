/**
 * Rows as both engines return them, to records. The tables have the same columns in SQLite and
 * PostgreSQL; JSON columns are text, timestamps ISO text, so the values differ only in how the
 * driver types them (a boolean as 0/1 or false/true, a big integer as a number or a string).
 */
import { upgradeConfig } from "../core/search.ts";
import { TooManyLabels } from "./errors.ts";
import type { DatasetRecord, JobError, JobRecord, JobState, StoredEvent } from "./types.ts";

export type Row = Record<string, unknown>;

/** JSON columns: stored as text, parsed on the way out. */
export function json(value: unknown): string {
  return JSON.stringify(value);
}

export function parseJson<T>(text: unknown): T {
  return JSON.parse(String(text)) as T;
}

export function jobFromRow(r: Row): JobRecord {
  return {
    id: r.id as string,
    owner: r.owner as string,
    name: (r.name as string | null) ?? null,
    labels: r.labels == null ? {} : parseJson(r.labels),
    continues: r.continues == null ? null : parseJson(r.continues),
    state: r.state as JobState,
    datasetId: r.dataset_id as string,
    dataInfo: parseJson(r.data_info),
    request: parseJson(r.request),
    config: upgradeConfig(parseJson(r.config)),
    requestHash: r.request_hash as string,
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    progress: parseJson(r.progress),
    error: r.error === null ? null : parseJson<JobError>(r.error),
    cancelRequested: Boolean(r.cancel_requested),
    createdAt: r.created_at as string,
    startedAt: (r.started_at as string | null) ?? null,
    finishedAt: (r.finished_at as string | null) ?? null,
  };
}

/** The parameters of a new job's row, by column. */
export function jobParams(job: JobRecord): Row {
  return {
    id: job.id,
    owner: job.owner,
    name: job.name,
    labels: json(job.labels),
    continues: job.continues && json(job.continues),
    state: job.state,
    datasetId: job.datasetId,
    dataInfo: json(job.dataInfo),
    request: json(job.request),
    config: json(job.config),
    requestHash: job.requestHash,
    idempotencyKey: job.idempotencyKey,
    progress: json(job.progress),
    createdAt: job.createdAt,
  };
}

export function datasetFromRow(r: Row): DatasetRecord {
  return {
    id: r.id as string,
    owner: r.owner as string,
    name: r.name as string,
    source: r.source as DatasetRecord["source"],
    format: r.format as DatasetRecord["format"],
    ref: parseJson(r.ref),
    info: parseJson(r.info),
    bytes: Number(r.bytes),
    url: (r.url as string | null) ?? undefined,
    ...(r.content_hash == null ? {} : { contentHash: r.content_hash as string }),
    createdAt: r.created_at as string,
  };
}

export function datasetParams(d: DatasetRecord): Row {
  return {
    id: d.id,
    owner: d.owner,
    name: d.name,
    source: d.source,
    format: d.format,
    ref: json(d.ref),
    info: json(d.info),
    bytes: d.bytes,
    url: d.url ?? null,
    contentHash: d.contentHash ?? null,
    createdAt: d.createdAt,
  };
}

export function eventFromRow(r: Row): StoredEvent {
  return {
    id: Number(r.id),
    jobId: r.job_id as string,
    type: r.type as string,
    data: parseJson(r.data),
    createdAt: r.created_at as string,
  };
}

/** A page of `limit` items from `limit + 1` rows, with the cursor of the last when there is more. */
export function pageOf<T extends { createdAt: string; id: string }>(
  rows: T[],
  limit: number,
  encode: (key: { createdAt: string; id: string }) => string,
): { items: T[]; nextCursor?: string } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return rows.length > limit ? { items, nextCursor: encode(last) } : { items };
}

/** Labels after a change: a null value removes its key. */
export function mergeLabels(
  labels: Record<string, string>,
  change: Record<string, string | null> = {},
  max = Infinity,
): Record<string, string> {
  const out = { ...labels };
  for (const [k, v] of Object.entries(change)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  const count = Object.keys(out).length;
  if (count > max) throw new TooManyLabels(count, max);
  return out;
}
