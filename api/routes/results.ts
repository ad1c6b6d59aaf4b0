/** Ranked losses, their exports (JSON, PyTorch, TensorFlow.js), and the full result document. */
import type { Service } from "../../service/mod.ts";
import type { SearchResult } from "../../core/result.ts";
import { type ExportFormat, exportLoss } from "../../core/export.ts";
import { provenanceOf } from "../../core/export/provenance.ts";
import { ServiceError } from "../../service/errors.ts";
import type { RouteSpec } from "../route.ts";
import { cursorParam, limitParam, pageOf, ref } from "../schemas/common.ts";
import { renderReport } from "../../report/html.ts";
import { expressionTreeChart } from "../../report/charts.ts";
import { resultView } from "../views.ts";
import { HEADERS, idParam, json, jsonResponse, pageResponse, problems } from "./common.ts";

const EXPORTS: Record<ExportFormat | "svg", { type: string; extension: string }> = {
  json: { type: "application/json", extension: "json" },
  pytorch: { type: "text/x-python; charset=utf-8", extension: "py" },
  tfjs: { type: "text/javascript; charset=utf-8", extension: "js" },
  svg: { type: "image/svg+xml; charset=utf-8", extension: "svg" },
};

/** The result of a search that has one; 409 while it has none. */
async function finishedResult(service: Service, owner: string, id: string) {
  const { job, result } = await service.jobs.result(owner, id);
  if (!result) {
    throw new ServiceError(
      "conflict",
      "No result yet",
      `search ${job.id} is ${job.state}; its result exists once it has finished`,
    );
  }
  return { job, result };
}

export function resultRoutes(service: Service): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/v1/searches/{id}/losses",
      operationId: "listLosses",
      summary: "The ranked losses of a search",
      description: "Best first: formula (infix and LaTeX) with the learned weights, the weights " +
        "phi, the fitness, and once the search has finished the final comparison with the " +
        "standard loss (the paper's row and the tuned row, their paired tests), its verdict " +
        "(`outcome`, `conclusion`), the split sizes and warnings about splits too small to " +
        "tell losses apart. While it runs, the ranking of its last finished generation.",
      tag: "results",
      params: { path: { id: idParam("search") } },
      responses: { "200": json(ref("Losses"), "The ranked losses."), ...problems(401, 404) },
      handler: async (_c, input) => {
        const { job, losses, result } = await service.jobs.ranked(input.owner, input.path.id);
        return jsonResponse({
          search: job.id,
          state: job.state,
          stopped: result?.stopped,
          task: job.dataInfo.task,
          metric: job.dataInfo.task === "classification" ? "error rate" : "mse",
          outcome: result?.outcome,
          conclusion: result?.conclusion,
          rows: result?.dataset.rows ?? job.progress.rows ?? null,
          warnings: result?.warnings,
          ...(result?.dataset.sources ? { sources: result.dataset.sources } : {}),
          losses,
          final: result?.final,
          totals: result?.totals,
        });
      },
    },
    {
      method: "get",
      path: "/v1/searches/{id}/losses/{rank}/{format}",
      operationId: "exportLoss",
      summary: "Download one ranked loss as JSON, a PyTorch function or a TensorFlow.js module",
      description: "The code needs nothing but its framework and follows its conventions: in " +
        "Python `learned_loss(input, target, reduction, dim, from_logits)` and its " +
        "`torch.nn.Module` `LearnedLoss` (logits by default, classes along dim 1, as " +
        "CrossEntropyLoss); in JavaScript `learnedLoss(yTrue, yPred, {fromLogits})`, Keras's " +
        "per-example convention for `model.compile` (probabilities by default). Every format " +
        "carries what the " +
        "loss was tuned and validated with (optimiser, learning rate, momentum, steps, batch " +
        "size, initialisation, input scaling, regression target scaling) and its verdict: " +
        "`VALIDATED_WITH` in the code, `validatedWith` and `verdict` in JSON. `svg`: its " +
        "expression tree as a diagram, each edge labelled with its learned weight.",
      tag: "results",
      params: {
        path: {
          id: idParam("search"),
          rank: { type: "integer", minimum: 1, description: "1 is the best loss." },
          format: { type: "string", enum: Object.keys(EXPORTS) },
        },
      },
      responses: {
        "200": {
          description: "The loss in the chosen format, as an attachment.",
          headers: { "Content-Disposition": HEADERS.contentDisposition },
          content: {
            "application/json": ref("LossDocument"),
            "text/x-python": { type: "string" },
            "text/javascript": { type: "string" },
            "image/svg+xml": { type: "string" },
          },
        },
        ...problems(401, 404, 422),
      },
      handler: async (_c, input) => {
        const { job, losses, result } = await service.jobs.ranked(input.owner, input.path.id);
        const rank = Number(input.path.rank);
        const loss = losses[rank - 1];
        if (!loss) {
          throw new ServiceError(
            "not-found",
            "Not found",
            `search ${job.id} has ${losses.length} ranked loss(es); there is no rank ${rank}`,
          );
        }
        const format = input.path.format as ExportFormat | "svg";
        const text = format === "svg"
          ? expressionTreeChart(loss.tree, loss.phi, { subtitle: `L = ${loss.simplified.infix}` })
          : exportLoss({
            tree: loss.tree,
            phi: loss.phi,
            task: job.dataInfo.task,
            validatedWith: provenanceOf(result ?? { config: job.config }, rank),
          }, format);
        const { type, extension } = EXPORTS[format];
        return new Response(text, {
          headers: {
            "content-type": type,
            "content-disposition":
              `attachment; filename="lossmith-${job.id}-rank${rank}.${extension}"`,
          },
        });
      },
    },
    {
      method: "get",
      path: "/v1/searches/{id}/result",
      operationId: "getResult",
      summary: "The whole result document of a finished search",
      description: "Ranked losses, statistics of every generation (what each filter removed), " +
        "totals, the final comparison, and everything needed to run it again.",
      tag: "results",
      params: { path: { id: idParam("search") } },
      responses: {
        "200": json(ref("SearchResult"), "The result."),
        ...problems(401, 404, 409),
      },
      handler: async (_c, input) => {
        const { job, result } = await finishedResult(service, input.owner, input.path.id);
        return jsonResponse(resultView(result, job.datasetId, job.request));
      },
    },
    {
      method: "get",
      path: "/v1/searches/{id}/report",
      operationId: "getReport",
      summary: "The HTML report of a finished search",
      description: "The report the command line writes: setup, ranked losses (simplified, " +
        "structure and weights), the final comparison with its learning curves, the best " +
        "loss's expression tree, the convergence and what each filter removed. One " +
        "self-contained page (inline SVG and CSS).",
      tag: "results",
      params: { path: { id: idParam("search") } },
      responses: {
        "200": { description: "HTML.", content: { "text/html": { type: "string" } } },
        ...problems(401, 404, 409),
      },
      handler: async (_c, input) => {
        const { job, result } = await finishedResult(service, input.owner, input.path.id);
        // The view names the dataset by its id, not its files; the report prints it as it is.
        const view = resultView(result, job.datasetId, job.request) as unknown as SearchResult;
        return new Response(renderReport(view), {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      },
    },
    {
      method: "get",
      path: "/v1/searches/{id}/candidates",
      operationId: "listCandidates",
      summary: "Every distinct loss the search met, and what became of it",
      description: "One record per canonical form, from the last finished generation: its " +
        "formula, outcome (tuned, rejected, diverged, equivalent, failed), fitness, screen " +
        "and local-search figures, and the time of each stage. In the order the search met " +
        "them, or by `fitness` (best first, worst last).",
      tag: "results",
      params: {
        path: { id: idParam("search") },
        query: {
          sort: {
            type: "string",
            enum: ["generation", "fitness"],
            default: "generation",
            description: "The order of the records.",
          },
          limit: { ...limitParam, maximum: 1000, default: 1000 },
          cursor: cursorParam,
        },
      },
      responses: {
        "200": {
          ...json(pageOf("Candidate"), "A page of candidates."),
          headers: { Link: HEADERS.link },
        },
        ...problems(401, 404, 422),
      },
      handler: async (c, input) => {
        const { candidates } = await service.jobs.candidates(input.owner, input.path.id);
        if (input.query.sort === "fitness") {
          // Stable: equal fitness keeps the search's order; null (worst) last.
          candidates.sort((a, b) => (a.fitness ?? Infinity) - (b.fitness ?? Infinity));
        }
        const cursor = input.query.cursor as string | undefined;
        const from = cursor === undefined ? 0 : Number(cursor);
        if (!Number.isInteger(from) || from < 0) {
          throw new ServiceError(
            "invalid",
            "Invalid request",
            "the cursor is not one this " +
              "service issued",
            [{ detail: "not a cursor", parameter: "cursor" }],
          );
        }
        const limit = (input.query.limit as number | undefined) ?? 1000;
        const items = candidates.slice(from, from + limit);
        const next = from + limit < candidates.length ? String(from + limit) : undefined;
        return pageResponse(c.req.url, { items, nextCursor: next }, (x) => x);
      },
    },
  ];
}
