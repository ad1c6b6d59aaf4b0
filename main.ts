/**
 * Lossmith's entry point. `deno task start` runs the service (docs/service.md), `deno task keys`
 * manages its API keys, and `deno task search` runs one search from the command line.
 */
type Command = (argv: string[]) => Promise<number>;

// Loaded on demand: the service must not load TensorFlow.js on its main thread (the search
// command does, to train in process).
const COMMANDS: Record<string, () => Promise<{ main: Command }>> = {
  search: () => import("./cli/search.ts"),
  start: () => import("./cli/start.ts"),
  keys: () => import("./cli/keys.ts"),
};

if (import.meta.main) {
  const [command = "search", ...rest] = Deno.args;
  const load = COMMANDS[command];
  if (!load) {
    console.error(`unknown command '${command}'; commands: ${Object.keys(COMMANDS).join(", ")}`);
    Deno.exit(2);
  }
  Deno.exit(await (await load()).main(rest));
}
