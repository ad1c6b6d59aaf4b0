/**
 * Wall time of one search on 1, 2 and 3 nodes sharing a PostgreSQL database, and on one SQLite
 * node for reference: `deno run -A bench/nodes.ts [--url postgres://...] [--workers N]`. Each node
 * is a `main.ts start` process with N workers (default 1), so k nodes have k * N workers; the
 * search is the same request and seed each time (one candidate per request, so nothing depends
 * on timing), and the ranked losses are checked to be the same. Without --url (or
 * LOSSMITH_TEST_PG_URL), a throwaway cluster is started as the tests start theirs.
 *
 * More nodes than cores gain nothing: on a 2-core machine the point is that the results are the
 * same, and the figures show what the coordination costs.
 */
import { parseArgs } from "node:util";
import { type Node, startNode, stopNode } from "../tests/support/nodes.ts";
import { testDatabase } from "../tests/support/postgres.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    workers: { type: "string", default: "1" },
    generations: { type: "string", default: "4" },
  },
});
if (values.url) Deno.env.set("LOSSMITH_TEST_PG_URL", values.url);

const BODY = {
  dataset: "iris",
  model: { hidden: [8] },
  budget: { population: 12, generations: Number(values.generations) },
  evaluation: { screen: { steps: 40 }, localSearch: { metaSteps: 30 }, fitnessSteps: 300 },
  execution: { candidateStack: "off" },
  final: { steps: 200, seeds: 3 },
  seed: 5,
};

async function search(entry: Node): Promise<{ ms: number; ranked: string }> {
  const t0 = performance.now();
  const res = await fetch(`${entry.base}/v1/searches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(BODY),
  });
  const { id } = await res.json();
  while (true) {
    const job = await (await fetch(`${entry.base}/v1/searches/${id}`)).json();
    if (["succeeded", "failed", "cancelled"].includes(job.state)) {
      if (job.state !== "succeeded") throw new Error(`${job.state}: ${JSON.stringify(job.error)}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const ms = performance.now() - t0;
  const losses = await (await fetch(`${entry.base}/v1/searches/${id}/losses`)).json();
  const ranked = JSON.stringify(losses.losses.map((l: { canonical: string; fitness: number }) => [
    l.canonical,
    l.fitness,
  ]));
  return { ms, ranked };
}

const common = ["--workers", values.workers!, "--backend", "wasm"];
const rows: { setup: string; ms: number; same: boolean }[] = [];
let reference: string | undefined;

const dir = await Deno.makeTempDir({ prefix: "lossmith-bench-nodes-" });
try {
  const single = await startNode(["--db", `${dir}/single.sqlite`, ...common]);
  try {
    const r = await search(single);
    reference = r.ranked;
    rows.push({ setup: "1 node, SQLite", ms: r.ms, same: true });
  } finally {
    await stopNode(single);
  }
  for (const k of [1, 2, 3]) {
    const db = await testDatabase();
    if ("skip" in db) throw new Error(db.skip);
    const nodes: Node[] = [];
    try {
      for (let i = 0; i < k; i++) {
        nodes.push(
          await startNode([
            "--database-url",
            db.url,
            "--node-id",
            `n${i + 1}`,
            "--data-dir",
            `${dir}/n${k}-${i}`,
            ...common,
          ]),
        );
      }
      const r = await search(nodes[0]);
      rows.push({
        setup: `${k} node${k > 1 ? "s" : ""}, PostgreSQL`,
        ms: r.ms,
        same: r.ranked === reference,
      });
    } finally {
      await Promise.all(nodes.map(stopNode));
      await db.drop();
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log(
  `iris, population ${BODY.budget.population} x ${BODY.budget.generations}, ${values.workers} ` +
    `wasm worker(s) per node, ${navigator.hardwareConcurrency} cores`,
);
console.log("| setup | wall s | ranked losses as on one SQLite node |");
console.log("| --- | --- | --- |");
for (const r of rows) {
  console.log(`| ${r.setup} | ${(r.ms / 1000).toFixed(1)} | ${r.same ? "yes" : "NO"} |`);
}
