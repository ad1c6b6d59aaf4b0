/**
 * The memory probes of issue 13 against a real service process (default settings, one wasm
 * worker): a gzip IDX that inflates to 4 GiB, an IDX of 1,000,000 images (0.75 MB of gzip), and
 * the oversized model (eight hidden layers of 4096, 100 unrolled steps, batch 65,536), the service
 * running with the permissions of `deno task start`. For each:
 * the answer, how long it took, and the process's resident set before, at its peak (sampled
 * every 20 ms, all threads) and after.
 *
 *   deno run -A bench/probes.ts
 */
import { startNode, stopNode } from "../tests/support/nodes.ts";

const MiB = 2 ** 20;

function rssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return 1024 * Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/** gzip of an IDX header followed by `zeros` zero bytes, streamed: never whole in memory. */
async function gzipIdx(dims: number[], zeros: number): Promise<Uint8Array> {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d, false));
  const chunk = new Uint8Array(4 * MiB);
  let left = zeros;
  const source = new ReadableStream<BufferSource>({
    start(c) {
      c.enqueue(header);
    },
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, chunk.length);
      c.enqueue(chunk.subarray(0, n));
      left -= n;
    },
  });
  const gz = source.pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(gz).arrayBuffer());
}

const dir = await Deno.makeTempDir({ prefix: "lossmith-probes-" });
// The service as an operator runs it: `deno task start`'s permissions (tests/support/nodes.ts).
const node = await startNode([
  ...["--db", `${dir}/lossmith.sqlite`, "--workers", "1", "--backend", "wasm"],
  ...["--log-level", "warn"],
]);
const base = node.base;
const child = node.child;

async function probe(name: string, send: () => Promise<Response>): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssOf(child.pid);
  let peak = before;
  const timer = setInterval(() => peak = Math.max(peak, rssOf(child.pid)), 20);
  const t0 = performance.now();
  const res = await send();
  const body = await res.text();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  clearInterval(timer);
  const after = rssOf(child.pid);
  const detail = (() => {
    try {
      return JSON.parse(body).detail ?? "";
    } catch {
      return "";
    }
  })();
  console.log(
    `| ${name} | ${res.status} | ${(ms / 1000).toFixed(2)} s | ${(before / MiB).toFixed(0)} | ` +
      `${(peak / MiB).toFixed(0)} | ${(after / MiB).toFixed(0)} | ${detail.slice(0, 90)} |`,
  );
}

const upload = (images: Uint8Array, labels: Uint8Array) => () => {
  const form = new FormData();
  form.append("images", new Blob([images as BlobPart]));
  form.append("labels", new Blob([labels as BlobPart]));
  return fetch(`${base}/v1/datasets`, { method: "POST", body: form });
};

console.log("| probe | status | time | RSS before (MiB) | peak | after | detail |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
const n4g = Math.floor(4 * 2 ** 30 / 784);
const bomb = await gzipIdx([n4g, 28, 28], n4g * 784);
const bombLabels = await gzipIdx([n4g], n4g);
await probe(
  `gzip bomb: ${(bomb.length / MiB).toFixed(1)} MB inflating to 4 GiB`,
  upload(bomb, bombLabels),
);
const million = await gzipIdx([1_000_000, 28, 28], 784_000_000);
const millionLabels = await gzipIdx([1_000_000], 1_000_000);
await probe(
  `1,000,000 images: ${(million.length / MiB).toFixed(2)} MB of gzip`,
  upload(million, millionLabels),
);
await probe(
  "oversized model (8 x 4096, T = 100, batch 65,536)",
  () =>
    fetch(`${base}/v1/searches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        dataset: "mnist",
        model: { hidden: new Array(8).fill(4096) },
        evaluation: { localSearch: { unrollSteps: 100 }, batchSize: 65_536 },
      }),
    }),
);
await stopNode(node);
await Deno.remove(dir, { recursive: true });
