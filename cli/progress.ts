/**
 * The live progress line. On a terminal it rewrites one line in place; elsewhere (CI, pipes) it
 * prints one line per generation so logs stay readable.
 */
import type { SearchProgress } from "../core/search.ts";

export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mmss = `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export function progressLine(p: SearchProgress): string {
  const best = p.bestFitness === null ? "-" : p.bestFitness.toFixed(4);
  const eta = p.etaMs === undefined ? "--:--" : clock(p.etaMs);
  return `gen ${p.generation}/${p.generations}  candidates ${p.done}/${p.pending}  evaluations ${p.evaluations}` +
    `  best ${best}  cache hits ${p.cacheHits}  rejected ${p.rejections}  elapsed ${
      clock(p.elapsedMs)
    }  ETA ${eta}`;
}

export class ProgressPrinter {
  readonly #tty = Deno.stderr.isTerminal();
  readonly #encoder = new TextEncoder();
  #lastGeneration = 0;
  #last?: SearchProgress;

  constructor(private readonly quiet: boolean) {}

  update(p: SearchProgress): void {
    if (this.quiet) return;
    if (this.#tty) {
      const line = progressLine(p).slice(0, Math.max(40, Deno.consoleSize().columns - 1));
      Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[2K${line}`));
    } else if (this.#last && p.generation !== this.#lastGeneration) {
      this.#print(progressLine(this.#last));
    }
    if (p.generation !== this.#lastGeneration) this.#lastGeneration = p.generation;
    this.#last = p;
  }

  /** Ends the progress line; a message may follow on its own line. */
  done(message?: string): void {
    if (this.quiet) return;
    if (this.#tty) Deno.stderr.writeSync(this.#encoder.encode("\n"));
    else if (this.#last) this.#print(progressLine(this.#last));
    if (message) this.#print(message);
  }

  #print(line: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(line + "\n"));
  }
}
