/**
 * `lossmith keys`: API keys for the service. Creating the first key switches the service from
 * local mode (no key needed, loopback only) to keys required, at once, even while it runs.
 *
 *   deno task keys create NAME [--db FILE | --database-url URL]   prints the key once
 *   deno task keys list [--db FILE | --database-url URL]
 *   deno task keys revoke ID [--db FILE | --database-url URL]   also cancels the key's queued
 *     and running searches, on whichever node runs them
 */
import { parseArgs } from "node:util";
import { openStorage, type Storage } from "../store/mod.ts";
import { revokeKey } from "../service/keys.ts";

export const USAGE =
  `Usage: deno task keys create NAME | list | revoke ID  [--db FILE | --database-url URL]

--db defaults to LOSSMITH_DB, then ./lossmith.sqlite (the service's database); --database-url
(or LOSSMITH_DATABASE_URL) names a PostgreSQL database instead. Only a key's hash is stored.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: "string" },
      "database-url": { type: "string" },
      help: { type: "boolean" },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  // Not the service's lock: keys can be managed while the service runs.
  const store = await openStorage({
    db: values.db ?? Deno.env.get("LOSSMITH_DB") ?? "lossmith.sqlite",
    databaseUrl: values["database-url"] ?? (Deno.env.get("LOSSMITH_DATABASE_URL") || undefined),
  });
  try {
    return await run(store, command, arg);
  } finally {
    await store.close();
  }
}

async function run(store: Storage, command: string, arg: string | undefined): Promise<number> {
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
      for (const k of await store.keys.list()) {
        console.log(
          `${k.id}\t${k.name}\t${k.createdAt}\t${
            k.revokedAt ? `revoked ${k.revokedAt}` : "active"
          }`,
        );
      }
      return 0;
    case "revoke": {
      if (!arg) break;
      const searches = await revokeKey(store, arg);
      if (searches) {
        // Its searches stop too, on whichever node runs them (service/keys.ts).
        console.log(`Revoked ${arg}; ${searches.length} queued or running search(es) cancelled.`);
        return 0;
      }
      console.error(`No active key ${arg}.`);
      return 1;
    }
  }
  console.error(USAGE);
  return 2;
}
