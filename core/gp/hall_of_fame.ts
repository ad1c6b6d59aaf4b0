/**
 * The best losses ever seen, distinct by canonical key, so that add(y, fx) and add(fx, y) take
 * one place, not two. Serialisable to JSON for checkpoints and reports.
 *
 * The order (`compareResults`): a result before none; a result measured at a longer training
 * (multi-fidelity) before one measured shorter; then lower fitness; then, with the tie-breaker, lower validation task
 * loss; then the earlier arrival. Without fidelities or the tie-breaker that is by fitness alone.
 */

import { canonicalKey } from "../expr/canonical.ts";
import { isWellFormed, type Tree } from "../expr/tree.ts";

/** What a loss's ranking compares. */
export interface ResultRecord {
  /** Minimised; null is worst. */
  readonly fitness: number | null;
  /** Training steps of the measurement (multi-fidelity); absent counts as the shortest. */
  readonly fidelity?: number;
  /** Validation task loss of the same measurement (the tie-breaker); absent counts as worst. */
  readonly taskLoss?: number;
}

export interface RankOptions {
  /** Rank equal fitness by the task loss. */
  tieBreak?: boolean;
}

const worstLast = (v: number | null | undefined) =>
  v === null || v === undefined || Number.isNaN(v) ? Infinity : v;

/** Negative when `a` ranks before `b`, 0 when they tie. */
export function compareResults(a: ResultRecord, b: ResultRecord, opts: RankOptions = {}): number {
  const xa = worstLast(a.fitness), xb = worstLast(b.fitness);
  // A loss without a result (rejected, diverged) is worst, whatever length it reached.
  if ((xa === Infinity) !== (xb === Infinity)) return xa === Infinity ? 1 : -1;
  const fa = a.fidelity ?? 0, fb = b.fidelity ?? 0;
  if (fa !== fb) return fb - fa;
  if (xa !== xb) return xa < xb ? -1 : 1;
  if (opts.tieBreak) {
    const la = worstLast(a.taskLoss), lb = worstLast(b.taskLoss);
    if (la !== lb) return la < lb ? -1 : 1;
  }
  return 0;
}

export interface FameEntry extends ResultRecord {
  readonly tree: Tree;
  /** Only finite fitnesses enter (JSON has no Infinity, and a rejected or diverged loss is not
   * an achievement). */
  readonly fitness: number;
  readonly key: string;
  /** The tuned node weights, when the caller has them. */
  readonly phi?: readonly number[];
  /** The scale the loss was multiplied by (`normalizeScale`, core/loss_scale.ts). */
  readonly scale?: number;
}

/** What is recorded of a loss besides its tree, fitness and weights. */
export type FameExtras = Pick<FameEntry, "fidelity" | "taskLoss" | "scale">;

export interface HallOfFameJson {
  capacity: number;
  entries: ({ tree: Tree; fitness: number; phi?: readonly number[] } & FameExtras)[];
}

export class HallOfFame {
  #entries: FameEntry[] = [];

  constructor(readonly capacity: number, readonly options: RankOptions = {}) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new Error(`hall of fame capacity must be >= 1, got ${capacity}`);
    }
  }

  /** Best first; among ties, the one that entered first. */
  get entries(): readonly FameEntry[] {
    return this.#entries;
  }

  best(): FameEntry | undefined {
    return this.#entries[0];
  }

  /**
   * Offer one individual. A key already present is replaced only by a result that ranks
   * strictly better (a better fitness, or a longer training). Returns whether the hall changed.
   */
  consider(tree: Tree, fitness: number, phi?: readonly number[], extras: FameExtras = {}): boolean {
    if (!Number.isFinite(fitness)) return false;
    const key = canonicalKey(tree);
    const entry: FameEntry = {
      tree: [...tree],
      fitness,
      key,
      ...(phi === undefined ? {} : { phi: [...phi] }),
      ...definedOnly(extras),
    };
    const old = this.#entries.findIndex((e) => e.key === key);
    if (old >= 0) {
      if (compareResults(entry, this.#entries[old], this.options) >= 0) return false;
      this.#entries.splice(old, 1);
    }
    // Insert before the first entry that ranks worse: earlier arrivals win ties.
    let at = this.#entries.findIndex((e) => compareResults(e, entry, this.options) > 0);
    if (at < 0) at = this.#entries.length;
    if (at >= this.capacity) return false;
    this.#entries.splice(at, 0, entry);
    this.#entries.length = Math.min(this.#entries.length, this.capacity);
    return true;
  }

  /** Takes a loss out (its longer training diverged: it is no longer a result to rank). */
  remove(tree: Tree): boolean {
    const key = canonicalKey(tree);
    const at = this.#entries.findIndex((e) => e.key === key);
    if (at >= 0) this.#entries.splice(at, 1);
    return at >= 0;
  }

  /** Offer a whole population, in order. */
  update(trees: readonly Tree[], fitnesses: readonly number[]): void {
    if (trees.length !== fitnesses.length) throw new Error("trees and fitnesses differ in length");
    trees.forEach((t, i) => this.consider(t, fitnesses[i]));
  }

  toJSON(): HallOfFameJson {
    return {
      capacity: this.capacity,
      entries: this.#entries.map(({ key: _, tree, phi, ...rest }) => ({
        tree: [...tree],
        ...rest,
        ...(phi === undefined ? {} : { phi: [...phi] }),
      })),
    };
  }

  static fromJSON(json: HallOfFameJson, options: RankOptions = {}): HallOfFame {
    const hall = new HallOfFame(json.capacity, options);
    for (const e of json.entries) {
      if (!isWellFormed(e.tree)) throw new Error(`hall of fame entry is not a tree: ${e.tree}`);
      hall.consider(e.tree, e.fitness, e.phi, e);
    }
    return hall;
  }
}

function definedOnly(extras: FameExtras): FameExtras {
  const out: { -readonly [K in keyof FameExtras]: FameExtras[K] } = {};
  if (extras.fidelity !== undefined) out.fidelity = extras.fidelity;
  if (extras.taskLoss !== undefined) out.taskLoss = extras.taskLoss;
  if (extras.scale !== undefined) out.scale = extras.scale;
  return out;
}
