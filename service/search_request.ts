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
import { ServiceError } from "./errors.ts";
import type { Limits } from "./config.ts";

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
