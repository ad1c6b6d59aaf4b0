/**
 * The dashboard (dashboard/): its page at `/` and its files under /assets, the libraries among
 * them served from their npm packages. Public like /docs: they hold no data. The page reads
 * everything through /v1 with the visitor's key, so it follows the API's access rules.
 */
import type { RouteSpec } from "../route.ts";
import { assetResponse, ASSETS, FONT_NAME, FONTS, PAGE } from "../../dashboard/assets.ts";
import { ServiceError } from "../../service/errors.ts";
import { problems } from "./common.ts";

/** A public file by name: where `find` says it is, else 404. */
function fileRoute(
  path: string,
  operationId: string,
  summary: string,
  type: string,
  find: (name: string) => URL | undefined,
): RouteSpec {
  return {
    method: "get",
    path,
    operationId,
    summary,
    tag: "dashboard",
    public: true,
    params: {
      path: { name: { type: "string", minLength: 1, maxLength: 100, description: "Its name." } },
    },
    responses: {
      "200": { description: "The file.", content: { [type]: { type: "string" } } },
      ...problems(404),
    },
    handler: async (_c, input) => {
      const name = input.path.name;
      const url = find(name);
      if (url) {
        try {
          return await assetResponse(url, name);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        }
      }
      throw new ServiceError("not-found", "Not found", `no file ${JSON.stringify(name)}`);
    },
  };
}

export function dashboardRoutes(): RouteSpec[] {
  return [
    {
      method: "get",
      path: "/",
      operationId: "dashboard",
      summary: "The dashboard: searches live, their losses, candidates and reports",
      tag: "dashboard",
      public: true,
      page: true,
      responses: {
        "200": { description: "HTML.", content: { "text/html": { type: "string" } } },
      },
      handler: () => assetResponse(PAGE, "index.html"),
    },
    fileRoute(
      "/assets/{name}",
      "dashboardAsset",
      "A file of the dashboard or of /docs (scripts, styles)",
      "*/*",
      (name) => Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined,
    ),
    fileRoute(
      "/assets/fonts/{name}",
      "dashboardFont",
      "A font of KaTeX, as its style sheet asks for it",
      "font/woff2",
      (name) => FONT_NAME.test(name) ? new URL(name, FONTS) : undefined,
    ),
  ];
}
