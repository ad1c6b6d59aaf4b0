/**
 * The documents the API returns, made from store records. Server-side details stay inside: file
 * paths in dataset references become dataset ids.
 */
import type { DatasetRecord, JobRecord } from "../service/types.ts";
import type { SearchResult } from "../core/result.ts";
import { progressSummary } from "../core/progress.ts";
import { givenIds, modelSummary } from "../service/search_request.ts";

export function datasetView(d: DatasetRecord) {
  return {
    id: d.id,
    name: d.name,
    source: d.source,
    format: d.format,
    task: d.info.task,
    rows: d.info.rows,
    features: d.info.features,
    classes: d.info.classes,
    classNames: d.info.classNames,
    featureNames: d.info.featureNames,
    imageShape: d.info.imageShape,
    target: d.info.target,
    bytes: d.bytes,
    url: d.url,
    contentHash: d.contentHash,
    createdAt: d.createdAt,
  };
}

/**
 * The configuration with its datasets named by their ids (not by where their files are): the
 * training set, and the validation and test sets the request gave.
 */
export function publicConfig(
  config: JobRecord["config"],
  datasetId: string,
  request: { validation?: string; test?: string } = {},
) {
  const { validation: _v, test: _t, ...rest } = config;
  return {
    ...rest,
    dataset: datasetId,
    ...(request.validation ? { validation: request.validation } : {}),
    ...(request.test ? { test: request.test } : {}),
  };
}

export function searchLinks(id: string) {
  const self = `/v1/searches/${id}`;
  return {
    self,
    events: `${self}/events`,
    losses: `${self}/losses`,
    candidates: `${self}/candidates`,
    result: `${self}/result`,
    report: `${self}/report`,
    cancel: `${self}:cancel`,
    continue: `${self}:continue`,
  };
}

export function searchView(j: JobRecord) {
  return {
    id: j.id,
    name: j.name,
    labels: j.labels,
    continues: j.continues,
    state: j.state,
    dataset: j.datasetId,
    task: j.dataInfo.task,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    cancelRequested: j.cancelRequested,
    progress: progressSummary(j.progress),
    failures: j.progress.failures ?? [],
    error: j.error,
    config: publicConfig(j.config, j.datasetId, givenIds(j.request)),
    model: modelSummary(j.config, j.dataInfo),
    links: searchLinks(j.id),
  };
}

export function resultView(
  r: SearchResult,
  datasetId: string,
  request?: unknown,
) {
  return { ...r, config: publicConfig(r.config, datasetId, givenIds(request)) };
}
