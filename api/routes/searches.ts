/**
 * /v1/searches: submit (202 + Location, idempotent), list (filtered by state, name and labels),
 * status, rename and relabel, cancel, continue, delete.
 */
import type { Service } from "../../service/mod.ts";
import type { ContinueRequest, SearchRequest } from "../../service/search_request.ts";
import { FINISHED_STATES, JOB_STATES, type JobState } from "../../service/types.ts";
import type { RouteSpec } from "../route.ts";
import { cursorParam, limitParam, pageOf, ref } from "../schemas/common.ts";
import {
  continueRequest,
  LABEL_KEY,
  LABEL_VALUE,
  name,
  searchPatch,
  searchRequest,
} from "../schemas/search.ts";
import { searchView } from "../views.ts";
import { HEADERS, idParam, json, jsonResponse, pageResponse, problems } from "./common.ts";

/** How long a cancel request waits for the job to stop before answering 202 instead of 200. */
const CANCEL_WAIT_MS = 5000;

const idempotencyKey = {
  "Idempotency-Key": {
    type: "string" as const,
    minLength: 1,
    maxLength: 255,
    description: "Any unique string, e.g. a UUID.",
  },
};

/** `key:value` (that label with that value) or `key` (the label, any value). */
const LABEL_FILTER = `^${LABEL_KEY.slice(1, -1)}(:${LABEL_VALUE.slice(1, -1)})?$`;

function labelFilter(values: string[] | undefined): [string, string?][] | undefined {
  return values?.map((v) => {
    const at = v.indexOf(":");
    return at < 0 ? [v] : [v.slice(0, at), v.slice(at + 1)];
  });
}

export function searchRoutes(service: Service): RouteSpec[] {
  const jobs = service.jobs;
  const limits = service.config.limits;
  return [
    {
      method: "post",
      path: "/v1/searches",
      operationId: "createSearch",
      summary: "Start a search for a loss function",
      description: "Answers 202 at once; the search runs in the background. Poll the " +
        "`Location`, or follow its `events`. With an `Idempotency-Key`, repeating the same " +
        "request returns the same search (with `Idempotent-Replayed: true`); the same key with " +
        "another body is an error. `name` and `labels` are for finding it again; `warmStart` " +
        "seeds its first population with another search's best losses.",
      tag: "searches",
      params: { header: idempotencyKey },
      body: { "application/json": searchRequest(limits) },
      responses: {
        "202": {
          ...json(ref("Search"), "Accepted: queued or already running."),
          headers: {
            Location: HEADERS.location("search"),
            "Idempotent-Replayed": HEADERS.idempotentReplayed,
          },
        },
        ...problems(400, 401, 415, 422, 429, 503),
      },
      handler: async (_c, input) => {
        const key = input.headers["Idempotency-Key"] as string | undefined;
        const { job, replayed } = await jobs.submit(input.owner, input.body as SearchRequest, key);
        return accepted(job, replayed);
      },
    },
    {
      method: "get",
      path: "/v1/searches",
      operationId: "listSearches",
      summary: "List this key's searches, newest first",
      description: "Filters combine: every one given must hold. Pages stay whole under " +
        "filters: pass the same filters with `cursor` (the `Link` header does).",
      tag: "searches",
      params: {
        query: {
          state: {
            type: "string",
            enum: [...JOB_STATES],
            description: "Only searches in this state.",
          },
          name: { ...name, description: "Only searches of exactly this name." },
          label: {
            type: "array",
            maxItems: 16,
            items: {
              type: "string",
              pattern: LABEL_FILTER,
              "x-expected": "key:value, or key alone",
            },
            description: "Only searches with this label: `key:value` for that value, `key` " +
              "for any value. Repeat it for several (`label=team:vision&label=tier`): each " +
              "must hold.",
          },
          limit: limitParam,
          cursor: cursorParam,
        },
      },
      responses: {
        "200": {
          ...json(pageOf("Search"), "A page of searches."),
          headers: { Link: HEADERS.link },
        },
        ...problems(400, 401, 422),
      },
      handler: async (c, input) => {
        const q = input.query;
        const page = await jobs.list(
          input.owner,
          (q.limit as number | undefined) ?? 20,
          {
            state: q.state as JobState | undefined,
            name: q.name as string | undefined,
            labels: labelFilter(q.label as string[] | undefined),
          },
          q.cursor as string | undefined,
        );
        return pageResponse(c.req.url, page, searchView);
      },
    },
    {
      method: "get",
      path: "/v1/searches/{id}",
      operationId: "getSearch",
      summary: "State and progress of a search",
      tag: "searches",
      params: { path: { id: idParam("search") } },
      responses: { "200": json(ref("Search"), "The search."), ...problems(401, 404) },
      handler: async (_c, input) =>
        jsonResponse(searchView(await jobs.get(input.owner, input.path.id))),
    },
    {
      method: "patch",
      path: "/v1/searches/{id}",
      operationId: "updateSearch",
      summary: "Rename or relabel a search",
      description: "A JSON merge patch (RFC 7396) of `name` and `labels`, in any state: a " +
        "label given is set, one given as null is removed, the others stay.",
      tag: "searches",
      params: { path: { id: idParam("search") } },
      body: {
        "application/merge-patch+json": searchPatch(),
        "application/json": searchPatch(),
      },
      responses: {
        "200": json(ref("Search"), "The search, renamed or relabelled."),
        ...problems(400, 401, 404, 415, 422),
      },
      handler: async (_c, input) => {
        const change = input.body as {
          name?: string | null;
          labels?: Record<string, string | null>;
        };
        return jsonResponse(searchView(await jobs.relabel(input.owner, input.path.id, change)));
      },
    },
    {
      method: "delete",
      path: "/v1/searches/{id}",
      operationId: "deleteSearch",
      summary: "Delete a search and everything stored of it",
      description: "Its events, checkpoints, candidates, result, report and evaluation " +
        "requests go with it; searches that continued it or were warm-started from it keep " +
        "what they took. A queued or running search is cancelled first, wherever it runs, " +
        "then deleted (its node stops, and writes nothing of it again). Its datasets stay.",
      tag: "searches",
      params: { path: { id: idParam("search") } },
      responses: { "204": { description: "Deleted." }, ...problems(401, 404) },
      handler: async (_c, input) => {
        await jobs.delete(input.owner, input.path.id, CANCEL_WAIT_MS);
        return new Response(null, { status: 204 });
      },
    },
    {
      method: "post",
      path: "/v1/searches/{id}:cancel",
      operationId: "cancelSearch",
      summary: "Cancel a search",
      description: "A queued search is cancelled at once; a running one stops within " +
        "milliseconds (its queued evaluations are dropped and those in flight abandoned) and " +
        "keeps the ranked losses of its finished generations. Answers 200 once it has " +
        "stopped, or 202 if it is still stopping. A finished search is returned unchanged.",
      tag: "searches",
      params: { path: { id: idParam("search") } },
      responses: {
        "200": json(ref("Search"), "The search, stopped."),
        "202": json(ref("Search"), "The search, still stopping."),
        ...problems(401, 404),
      },
      handler: async (_c, input) => {
        await jobs.cancel(input.owner, input.path.id);
        await jobs.stopped(input.path.id, CANCEL_WAIT_MS);
        const job = await jobs.get(input.owner, input.path.id);
        return jsonResponse(searchView(job), FINISHED_STATES.includes(job.state) ? 200 : 202);
      },
    },
    {
      method: "post",
      path: "/v1/searches/{id}:continue",
      operationId: "continueSearch",
      summary: "Continue a finished search for more generations",
      description: "Starts a new search (202, its `Location`) from the last generation the " +
        "finished one reached, with its settings, seed and data, and `generations` more; the " +
        "search continued stays as it is. The new one computes what a single search of all " +
        "those generations would (the same losses, fitnesses and final comparison; only the " +
        "times differ), and names the one it continues in `continues`. It keeps the name and " +
        "labels unless the request gives others. Refused (409) while the search runs, when it " +
        "finished no generation, or when a dataset it read was deleted.",
      tag: "searches",
      params: { path: { id: idParam("search") }, header: idempotencyKey },
      body: { "application/json": continueRequest(limits) },
      responses: {
        "202": {
          ...json(ref("Search"), "Accepted: the new search, queued."),
          headers: {
            Location: HEADERS.location("search"),
            "Idempotent-Replayed": HEADERS.idempotentReplayed,
          },
        },
        ...problems(400, 401, 404, 409, 415, 422, 429, 503),
      },
      handler: async (_c, input) => {
        const { job, replayed } = await jobs.continue(
          input.owner,
          input.path.id,
          input.body as ContinueRequest,
          input.headers["Idempotency-Key"] as string | undefined,
        );
        return accepted(job, replayed);
      },
    },
  ];
}

function accepted(job: Parameters<typeof searchView>[0], replayed: boolean): Response {
  return jsonResponse(searchView(job), 202, {
    location: `/v1/searches/${job.id}`,
    ...(replayed ? { "idempotent-replayed": "true" } : {}),
  });
}
