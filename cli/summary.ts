/** The text summary of a search result: ranked losses, filter counts, final comparison. Free of
 * tensor code, so the service's main thread can print it. */
import type { FinalComparison } from "../core/final.ts";
import type { SearchResult } from "../core/result.ts";
import { describeStacking } from "../core/stack_plan.ts";
import { clock } from "./progress.ts";

function describeFinal(f: FinalComparison, standardName: string): string {
  const fmt = (m: number | null, s: number | null) =>
    m === null ? "diverged" : `${m.toFixed(4)} ± ${(s ?? 0).toFixed(4)}`;
  const diff = f.difference === null
    ? "n/a"
    : `${f.difference > 0 ? "+" : ""}${f.difference.toFixed(4)} (${
      f.difference < 0 ? "learned loss better" : f.difference > 0 ? "standard loss better" : "equal"
    })`;
  return [
    `Final evaluation: test ${f.metric}, ${f.steps} steps from scratch, ${f.seeds.length} seeds`,
    `  learned loss   ${fmt(f.learned.mean, f.learned.std)}`,
    `  ${standardName.padEnd(14)} ${fmt(f.standard.mean, f.standard.std)}`,
    `  difference     ${diff}`,
  ].join("\n");
}

export function summary(result: SearchResult): string {
  const lines = [
    `Ranked losses (${result.dataset.name}, ${result.config.model.kind}, validation ${
      result.dataset.task === "classification" ? "error rate" : "MSE (standardised targets)"
    }):`,
  ];
  for (const l of result.losses.slice(0, 5)) {
    lines.push(`  ${l.rank}. ${l.fitness.toFixed(4)}  ${l.structure.infix}`);
    lines.push(`     learned: ${l.infix}`);
    lines.push(`     simplified: ${l.simplified.infix}`);
  }
  if (result.losses.length === 0) lines.push("  (none: every candidate was rejected or diverged)");
  const t = result.totals;
  lines.push(
    `Search: ${t.generations} generations, ${t.evaluations} evaluations, ${t.cacheHits} cache hits, ` +
      `${t.rejected} rejected, ${t.equivalent} equivalent, ${t.diverged} diverged, ${t.failed} failed, ${
        clock(t.wallMs)
      }` +
      ` (stopped: ${result.stopped})`,
  );
  const fitness = describeStacking(result.generations);
  if (fitness) lines.push(fitness);
  if (result.final) {
    lines.push(
      describeFinal(
        result.final,
        result.dataset.task === "classification" ? "cross-entropy" : "MSE",
      ),
    );
  }
  return lines.join("\n");
}
