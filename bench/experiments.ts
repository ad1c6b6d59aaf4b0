/**
 * Evidence for speed changes not yet in core/: applies a variant of bench/variants.ts to this
 * process, then times the workloads. One variant per process (the patches are global).
 *
 *   deno run -A bench/experiments.ts VARIANT [--workloads a,b] [--repeats N]
 *
 * VARIANT: base, or any of nocopy, copyclone joined by "+" (see bench/variants.ts). Workloads
 * with a numeric result print it, to check that a variant computes the same thing.
 */
import { parseArgs } from "node:util";
import { tf } from "../engine/tensor/tf.ts";
import { initBackend } from "../engine/tensor/backend.ts";
import { WORKLOADS } from "./workloads.ts";
import { repeatsFor, timeWorkload } from "./timing.ts";
import { applyVariant } from "./variants.ts";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    workloads: { type: "string", default: "mlp_step,mlp_unroll5" },
    repeats: { type: "string", default: "30" },
  },
});
await initBackend("wasm");
const variant = applyVariant(positionals[0] ?? "base");

for (const name of args.workloads.split(",")) {
  const info = WORKLOADS[name];
  const t = await timeWorkload(info, repeatsFor(info, Number(args.repeats)));
  let kernels = "-";
  if (!info.slow) {
    const rep = await info.make!();
    await rep.run();
    kernels = String((await tf.profile(rep.run)).kernels.length);
    const r = await rep.result?.();
    if (r) kernels += `  result ${r.map((v) => v.toPrecision(6)).join(",")}`;
    rep.dispose();
  }
  console.log(
    `${variant.padEnd(18)} ${name.padEnd(15)} mean ${t.ms.toFixed(3).padStart(9)}  median ` +
      `${t.medianMs.toFixed(3).padStart(9)}  min ${t.minMs.toFixed(3).padStart(9)}  ` +
      `kernels ${kernels}`,
  );
}
