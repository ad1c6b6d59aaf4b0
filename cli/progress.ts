/**
 * The live progress line, printed from core/progress.ts's `Progress` by `deno task search` and by
 * the service's default search alike. On a terminal it rewrites one line in place; elsewhere (CI,
 * pipes) it prints one line per finished generation and final seed so logs stay readable.
 */
import type { Progress } from "../core/progress.ts";

export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export function progressLine(p: Progress): string {
  const best = p.bestFitness === null ? "-" : p.bestFitness.toFixed(4);
  const phase = p.phase === "search" ? "" : `${p.phase}  `;
  const step = p.final
    ? `  final runs ${p.final.done}/${p.final.total}`
    : p.current
    ? `  gen ${p.current.generation} candidates ${p.current.done}/${p.current.pending}`
    : "";
  const eta = p.phase === "done" ? "" : `  ETA ${p.etaMs === null ? "--:--" : clock(p.etaMs)}`;
  return `${phase}generations ${p.generation}/${p.generations}${step}  evaluations ${p.evaluations}` +
    `  best ${best}  cache hits ${p.filters.cacheHits}  rejected ${p.filters.rejected}` +
    `  elapsed ${clock(p.elapsedMs)}${eta}`;
}

/** What, once it changes, deserves a line of its own in a log: a final run finished, or more
 * planned (the tuned row's, once the trials have chosen). */
const milestone = (p: Progress) =>
  `${p.phase} ${p.generation} ${p.final?.done ?? ""}/${p.final?.total ?? ""}`;

export class ProgressPrinter {
  readonly #tty = Deno.stderr.isTerminal();
  readonly #encoder = new TextEncoder();
  #last?: Progress;

  constructor(private readonly quiet: boolean) {}

  update(p: Progress): void {
    if (this.quiet) return;
    if (this.#tty) {
      const line = progressLine(p).slice(0, Math.max(40, Deno.consoleSize().columns - 1));
      Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[2K${line}`));
    } else if (!this.#last || milestone(p) !== milestone(this.#last)) {
      this.#print(progressLine(p));
    }
    this.#last = p;
  }

  /** Ends the progress line; a message may follow on its own line. */
  done(message?: string): void {
    if (this.quiet) return;
    if (this.#tty && this.#last) Deno.stderr.writeSync(this.#encoder.encode("\n"));
    this.#last = undefined;
    if (message) this.#print(message);
  }

  #print(line: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(line + "\n"));
  }
}
