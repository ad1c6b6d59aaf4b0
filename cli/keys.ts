/**
 * `lossmith keys`: API keys for the service. Creating the first key switches the service from
 * local mode (no key needed, loopback only) to keys required, at once, even while it runs.
 *
 *   deno task keys create NAME [--db FILE]   prints the key once; only its hash is stored
 *   deno task keys list [--db FILE]
 *   deno task keys revoke ID [--db FILE]   also cancels the key's queued and running searches
 */
import { parseArgs } from "node:util";
import { Store } from "../store/mod.ts";

export const USAGE = `Usage: deno task keys create NAME | list | revoke ID  [--db FILE]

--db defaults to LOSSMITH_DB, then ./lossmith.sqlite (the service's database).`;

export function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { db: { type: "string" }, help: { type: "boolean" } },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return Promise.resolve(values.help ? 0 : 2);
  }
  const store = new Store(values.db ?? Deno.env.get("LOSSMITH_DB") ?? "lossmith.sqlite");
  return run(store, command, arg).finally(() => store.close());
}

async function run(store: Store, command: string, arg: string | undefined): Promise<number> {
  switch (command) {
    case "create": {
      if (!arg) break;
      const { id, token } = await store.keys.create(arg);
      console.log(token);
      console.error(
        `Created key ${id} (${arg}). The line above is the key: it is not shown again.`,
      );
      return 0;
    }
    case "list":
      for (const k of store.keys.list()) {
        console.log(
          `${k.id}\t${k.name}\t${k.createdAt}\t${
            k.revokedAt ? `revoked ${k.revokedAt}` : "active"
          }`,
        );
      }
      return 0;
    case "revoke":
      if (!arg) break;
      if (store.keys.revoke(arg)) {
        // Its searches stop too: a running service cancels them within seconds, and one that
        // is not running finds them cancelled at its next start.
        const searches = store.jobs.requestCancelAll(arg);
        console.log(`Revoked ${arg}; ${searches} queued or running search(es) cancelled.`);
        return 0;
      }
      console.error(`No active key ${arg}.`);
      return 1;
  }
  console.error(USAGE);
  return 2;
}
