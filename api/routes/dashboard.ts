/**
 * The dashboard (dashboard/): its page at `/` and its files under /assets, the libraries among
 * them served from their npm packages. Public like /docs: they hold no data. The page reads
 * everything through /v1 with the visitor's key, so it follows the API's access rules.
 */
import type { RouteSpec } from "../route.ts";
import { assetResponse, ASSETS, FONT_NAME, FONTS, PAGE } from "../../dashboard/assets.ts";
import { ServiceError } from "../../service/errors.ts";
import { problems } from "./common.ts";

const missing = (name: string) =>
  new ServiceError("not-found", "Not found", `no asset ${JSON.stringify(name)}`);

export function dashboardRoutes(): RouteSpec[] {
  const file = {
    type: "string" as const,
    minLength: 1,
    maxLength: 100,
    description: "The file's name.",
  };
  return [
    {
      method: "get",
      path: "/",
      operationId: "dashboard",
      summary: "The dashboard: searches live, their losses, candidates and reports",
      tag: "dashboard",
      public: true,
      responses: {
        "200": { description: "HTML.", content: { "text/html": { type: "string" } } },
      },
      handler: () => assetResponse(PAGE, "index.html"),
    },
    {
      method: "get",
      path: "/assets/{name}",
      operationId: "dashboardAsset",
      summary: "A file of the dashboard or of /docs (scripts, styles)",
      tag: "dashboard",
      public: true,
      params: { path: { name: file } },
      responses: {
        "200": { description: "The file.", content: { "*/*": { type: "string" } } },
        ...problems(404),
      },
      handler: (_c, input) => {
        const name = input.path.name;
        if (!Object.hasOwn(ASSETS, name)) throw missing(name);
        return assetResponse(ASSETS[name], name);
      },
    },
    {
      method: "get",
      path: "/assets/fonts/{name}",
      operationId: "dashboardFont",
      summary: "A font of KaTeX, as its style sheet asks for it",
      tag: "dashboard",
      public: true,
      params: { path: { name: file } },
      responses: {
        "200": { description: "The font.", content: { "font/woff2": { type: "string" } } },
        ...problems(404),
      },
      handler: (_c, input) => {
        const name = input.path.name;
        if (!FONT_NAME.test(name)) throw missing(name);
        return assetResponse(new URL(name, FONTS), name).catch(() => {
          throw missing(name);
        });
      },
    },
  ];
}
