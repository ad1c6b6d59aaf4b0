/** Ranked losses, their exports (JSON, PyTorch, TensorFlow.js), and the full result document. */
import type { Service } from "../../service/mod.ts";
import { type ExportFormat, exportLoss } from "../../core/export.ts";
import { ServiceError } from "../../service/errors.ts";
import type { RouteSpec } from "../route.ts";
import { ref } from "../schemas/common.ts";
import { resultView } from "../views.ts";
import { idParam, json, jsonResponse, problems } from "./common.ts";

const EXPORTS: Record<ExportFormat, { type: string; extension: string }> = {
  json: { type: "application/json", extension: "json" },
  pytorch: { type: "text/x-python; charset=utf-8", extension: "py" },
  tfjs: { type: "text/javascript; charset=utf-8", extension: "js" },
};

export function resultRoutes(service: Service): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/v1/searches/{id}/losses",
      operationId: "listLosses",
      summary: "The ranked losses of a search",
      description: "Best first: formula (infix and LaTeX) with the learned weights, the weights " +
        "phi, the fitness, and the final comparison with the standard loss once the search has " +
        "finished. While it runs, the ranking of its last finished generation.",
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
      description: "The code needs nothing but its framework: `learned_loss(logits, target)` " +
        "in Python, `learnedLoss(logits, target)` in JavaScript.",
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
          content: {
            "application/json": { type: "object" },
            "text/x-python": { type: "string" },
            "text/javascript": { type: "string" },
          },
        },
        ...problems(401, 404, 422),
      },
      handler: async (_c, input) => {
        const { job, losses } = await service.jobs.ranked(input.owner, input.path.id);
        const rank = Number(input.path.rank);
        const loss = losses[rank - 1];
        if (!loss) {
          throw new ServiceError(
            "not-found",
            "Not found",
            `search ${job.id} has ${losses.length} ranked loss(es); there is no rank ${rank}`,
          );
        }
        const format = input.path.format as ExportFormat;
        const text = exportLoss(
          { tree: loss.tree, phi: loss.phi, task: job.dataInfo.task },
          format,
        );
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
      responses: { "200": json({ type: "object" }, "The result."), ...problems(401, 404, 409) },
      handler: async (_c, input) => {
        const { job, result } = await service.jobs.result(input.owner, input.path.id);
        if (!result) {
          throw new ServiceError(
            "conflict",
            "No result yet",
            `search ${job.id} is ${job.state}; its result exists once it has finished`,
          );
        }
        return jsonResponse(resultView(result, job.datasetId));
      },
    },
  ];
}
