/**
 * Lossmith's entry point. `deno task search` runs a search from the command line; the service
 * (`deno task start`) is added by the API.
 */
import { main as search } from "./cli/search.ts";

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { search };

if (import.meta.main) {
  const [command = "search", ...rest] = Deno.args;
  const run = COMMANDS[command];
  if (!run) {
    console.error(`unknown command '${command}'; commands: ${Object.keys(COMMANDS).join(", ")}`);
    Deno.exit(2);
  }
  Deno.exit(await run(rest));
}
