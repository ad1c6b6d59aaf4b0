/** The text summary of a search result: ranked losses, filter counts, final comparison. Free of
 * tensor code, so the service's main thread can print it. */
import {
  type ComparisonRow,
  describeRow as describePaired,
  type FinalComparison,
} from "../core/final.ts";
import type { SearchResult } from "../core/result.ts";
import { describeStacking } from "../core/stack_plan.ts";
import { clock } from "./progress.ts";

function describeRow(row: ComparisonRow, metric: string, standardName: string): string[] {
  const fmt = (m: number | null, s: number | null) =>
    m === null ? "diverged" : `${m.toFixed(4)} ± ${(s ?? 0).toFixed(4)}`;
  return [
    `    learned loss   ${fmt(row.learned.mean, row.learned.std)}`,
    `    ${standardName.padEnd(14)} ${fmt(row.standard.mean, row.standard.std)}`,
    `    difference     ${describePaired(row, metric)} (${row.outcome.replaceAll("-", " ")})`,
  ];
}

function describeFinal(f: FinalComparison, standardName: string): string[] {
  const lines = [
    `Final evaluation: test ${f.metric}, ${f.steps} steps from scratch, ${f.seeds.length} seeds ` +
    `(each seed's runs share initial weights and batches)`,
    `  the paper's comparison, both losses at learning rate ${f.lr.learned}:`,
    ...describeRow(f, f.metric, standardName),
  ];
  if (f.tuned) {
    const s = f.tuned.selection;
    lines.push(
      `  tuned comparison, each at its own best learning rate (learned ${f.tuned.lr.learned}, ` +
        `${standardName} ${f.tuned.lr.standard}; chosen on validation from ` +
        `${s.candidates.join(", ")} after ${s.steps} steps):`,
      ...describeRow(f.tuned, f.metric, standardName),
    );
  }
  return lines;
}

export function summary(result: SearchResult): string {
  const lines = [
    `Ranked losses (${result.dataset.name}, ${result.config.model.kind}, validation ${
      result.dataset.task === "classification" ? "error rate" : "MSE (standardised targets)"
    }):`,
  ];
  for (const l of result.losses.slice(0, 5)) {
    const at = l.fidelity === undefined ? "" : ` (${l.fidelity} steps)`;
    lines.push(`  ${l.rank}. ${l.fitness.toFixed(4)}${at}  ${l.structure.infix}`);
    lines.push(`     learned: ${l.infix}`);
    lines.push(`     simplified: ${l.simplified.infix}`);
  }
  if (result.losses.length === 0) {
    lines.push(`  (none) ${result.conclusion}`);
  }
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
      ...describeFinal(
        result.final,
        result.dataset.task === "classification" ? "cross-entropy" : "MSE",
      ),
    );
  }
  lines.push(`${result.final ? "Verdict" : "Outcome"}: ${result.conclusion}`);
  for (const w of result.warnings) lines.push(`Warning: ${w}`);
  return lines.join("\n");
}
