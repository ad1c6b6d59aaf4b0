// Never called: these name the packages whose files dashboard/assets.ts serves, so that they are
// in the service's module graph and Deno installs them with its other dependencies (`deno run`,
// `deno install --entrypoint`). JavaScript, so that type checking does not load their types.
export const PACKAGES = [
  () => import("katex"),
  () => import("uplot/dist/uPlot.esm.js"),
  () => import("swagger-ui-dist"),
];
