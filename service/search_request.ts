/**
 * A search request as clients send it: the dataset's id, optionally a task and a profile, and a
 * partial of the settings (core/settings.ts), whose shape the request schema derived from the
 * same table has already checked. It is resolved by core's `searchConfig`, as the CLI's flags
 * are; what no schema can say (probabilities that must sum to at most 1, elites within the
 * population) comes back with the JSON pointer of the field at fault.
 */
import { type SearchConfig, searchConfig } from "../core/search.ts";
import { type ProfileName, SettingsError, type SettingsPatch } from "../core/settings.ts";
import { pathPointer } from "../core/settings_schema.ts";
import type { DatasetRef } from "../core/prepare.ts";
import type { Task } from "../core/data/dataset.ts";
import { invalid, ServiceError } from "./errors.ts";
import type { Limits } from "./config.ts";
import type { DatasetInfo } from "../store/types.ts";
import { describeModel, MODEL_KINDS, modelIssues, modelSpecFor } from "../core/model_kinds.ts";
import { estimateModelSize, formatBytes, type ModelSize, splitSizes } from "../core/model_size.ts";

export type SearchRequest = SettingsPatch & {
  dataset: string;
  /** Ids of the user's own validation and test sets, in place of the internal split. */
  validation?: string;
  test?: string;
  task?: Task;
  profile?: ProfileName;
  /** For people (not unique), and labels to find it by. */
  name?: string;
  labels?: Record<string, string>;
  /** Seed the initial population with another search's best losses. */
  warmStart?: { search: string; losses?: number };
};

/** Labels a search may have (the schemas' limit, and the sum a merge patch may not pass). */
export const MAX_LABELS = 32;

/** `POST /v1/searches/{id}:continue`: more generations, and the budget limits raised. */
export interface ContinueRequest {
  generations: number;
  maxEvaluations?: number;
  maxSeconds?: number;
  name?: string;
  labels?: Record<string, string>;
}

/** The settings whose maximum is an operator's limit, by dotted path. */
export function limitOf(limits: Limits): (path: string) => number | undefined {
  const byPath: Record<string, number> = {
    "budget.population": limits.maxPopulation,
    "budget.generations": limits.maxGenerations,
    "budget.maxEvaluations": limits.maxEvaluations,
    "budget.maxSeconds": limits.maxSeconds,
    "gp.elites": limits.maxPopulation,
    "final.steps": limits.maxFinalSteps,
    "final.seeds": limits.maxFinalSeeds,
  };
  return (path) => byPath[path];
}

/** The request's settings alone (without the dataset, task and profile fields). */
export function requestSettings(req: SearchRequest): SettingsPatch {
  const {
    dataset: _d,
    validation: _v,
    test: _s,
    task: _t,
    profile: _p,
    name: _n,
    labels: _l,
    warmStart: _w,
    ...settings
  } = req;
  return settings;
}

export function resolveSearchConfig(req: SearchRequest, dataset: DatasetRef): SearchConfig {
  try {
    return searchConfig(dataset, { profile: req.profile, request: requestSettings(req) });
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    const errors = e.issues.map((i) => {
      const pointer = pathPointer(i.path);
      return { pointer, detail: `${pointer} ${i.detail}` };
    });
    throw new ServiceError(
      "invalid",
      "Invalid request",
      errors.map((x) => x.detail).join("; "),
      errors,
    );
  }
}

/** The ids of a stored request's own validation and test sets (a request is stored as sent). */
export function givenIds(request: unknown): { validation?: string; test?: string } {
  const r = (request ?? {}) as Record<string, unknown>;
  const id = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    ...(id(r.validation) ? { validation: id(r.validation) } : {}),
    ...(id(r.test) ? { test: id(r.test) } : {}),
  };
}

/** The model's data shape, from what inspecting the dataset found. */
function modelData(info: DatasetInfo) {
  return {
    task: info.task,
    inputs: info.features,
    nClasses: info.classes,
    imageShape: info.imageShape,
  };
}

/** What a search's model is and costs, as the API shows it (null where it cannot be built). */
export interface ModelSummary {
  description: string;
  parameters: number;
  estimatedBytes: ModelSize["bytes"];
}

export function modelSummary(config: SearchConfig, info: DatasetInfo): ModelSummary | null {
  try {
    const spec = modelSpecFor(config.model, modelData(info));
    const size = estimateModelSize(spec, config, splitSizes(info.rows, config.split));
    return {
      description: describeModel(spec),
      parameters: size.parameters,
      estimatedBytes: size.bytes,
    };
  } catch {
    return null;
  }
}

/**
 * Whether the search's model can be built on its dataset and fits in a worker, before any memory
 * is spent on it: a kind that needs images gets images, a sequential model's layers fit the data's
 * shape (each problem with the pointer of its layer's field), and the estimated memory is within
 * `maxModelBytes`. Throws an `invalid` error; returns the model's size.
 */
export function checkModel(config: SearchConfig, info: DatasetInfo, limits: Limits): ModelSize {
  const kind = config.model.kind;
  if (MODEL_KINDS[kind].needsImages && !info.imageShape) {
    throw invalid(
      `model '${kind}' needs image data; dataset ${info.name} has no image shape ` +
        `(upload images as an IDX pair, or NumPy features of shape [n, height, width])`,
      { pointer: "/model/kind" },
    );
  }
  const issues = modelIssues(config.model, modelData(info));
  if (issues.length) {
    const errors = issues.map((i) => {
      const pointer = pathPointer(i.path);
      return { pointer, detail: `${pointer} ${i.detail}` };
    });
    throw new ServiceError(
      "invalid",
      "Invalid request",
      errors.map((e) => e.detail).join("; "),
      errors,
    );
  }
  let size: ModelSize;
  try {
    size = estimateModelSize(
      modelSpecFor(config.model, modelData(info)),
      config,
      splitSizes(info.rows, config.split),
    );
  } catch (e) {
    // A built-in architecture on images it cannot take (LeNet-5 on 8x8 images).
    throw invalid(
      `model '${kind}' cannot be built on dataset ${info.name}: ${(e as Error).message}`,
      {
        pointer: "/model/kind",
      },
    );
  }
  if (size.bytes.total > limits.maxModelBytes) {
    const b = size.bytes;
    const pointer = MODEL_KINDS[kind].hasLayers ? "/model/layers" : "/model";
    throw invalid(
      `the model's estimated memory, ${formatBytes(b.total)} per worker (${size.parameters} ` +
        `parameters${size.stacked > 1 ? `, ${size.stacked} candidates stacked` : ""}; local ` +
        `search ${formatBytes(b.localSearch)}, evaluation of a split ${
          formatBytes(b.evaluation)
        }, data ${formatBytes(b.data)}), is above this service's limit of ${
          formatBytes(limits.maxModelBytes)
        }: ${
          b.evaluation > b.localSearch
            ? "the forward pass over a whole validation or test split dominates: smaller " +
              "feature maps (strides or pooling early), fewer filters, or smaller splits " +
              "(split.testFraction, split.validationFraction)"
            : "use fewer or smaller layers, a smaller evaluation.batchSize, fewer " +
              "evaluation.localSearch.unrollSteps, or execution.candidateStack off"
        }`,
      { pointer },
    );
  }
  return size;
}
