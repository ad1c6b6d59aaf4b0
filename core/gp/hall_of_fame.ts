/**
 * The best losses ever seen, distinct by canonical key, so that add(y, fx) and add(fx, y) take
 * one place, not two. Serialisable to JSON for checkpoints and reports.
 */

import { canonicalKey } from "../expr/canonical.ts";
import { isWellFormed, type Tree } from "../expr/tree.ts";

export interface FameEntry {
  readonly tree: Tree;
  /** Minimised; only finite fitnesses enter (JSON has no Infinity, and a rejected or diverged
   * loss is not an achievement). */
  readonly fitness: number;
  readonly key: string;
  /** The tuned node weights, when the caller has them. */
  readonly phi?: readonly number[];
}

export interface HallOfFameJson {
  capacity: number;
  entries: { tree: Tree; fitness: number; phi?: readonly number[] }[];
}

export class HallOfFame {
  #entries: FameEntry[] = [];

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new Error(`hall of fame capacity must be >= 1, got ${capacity}`);
    }
  }

  /** Best first; among equal fitnesses, the one that entered first. */
  get entries(): readonly FameEntry[] {
    return this.#entries;
  }

  best(): FameEntry | undefined {
    return this.#entries[0];
  }

  /**
   * Offer one individual. A key already present is replaced only by a strictly better fitness.
   * Returns whether the hall changed.
   */
  consider(tree: Tree, fitness: number, phi?: readonly number[]): boolean {
    if (!Number.isFinite(fitness)) return false;
    const key = canonicalKey(tree);
    const old = this.#entries.findIndex((e) => e.key === key);
    if (old >= 0) {
      if (fitness >= this.#entries[old].fitness) return false;
      this.#entries.splice(old, 1);
    }
    const entry: FameEntry = phi === undefined
      ? { tree: [...tree], fitness, key }
      : { tree: [...tree], fitness, key, phi: [...phi] };
    // Insert after every entry at least as good: earlier arrivals win ties.
    let at = this.#entries.findIndex((e) => e.fitness > fitness);
    if (at < 0) at = this.#entries.length;
    if (at >= this.capacity) return false;
    this.#entries.splice(at, 0, entry);
    this.#entries.length = Math.min(this.#entries.length, this.capacity);
    return true;
  }

  /** Offer a whole population, in order. */
  update(trees: readonly Tree[], fitnesses: readonly number[]): void {
    if (trees.length !== fitnesses.length) throw new Error("trees and fitnesses differ in length");
    trees.forEach((t, i) => this.consider(t, fitnesses[i]));
  }

  toJSON(): HallOfFameJson {
    return {
      capacity: this.capacity,
      entries: this.#entries.map(({ tree, fitness, phi }) =>
        phi === undefined
          ? { tree: [...tree], fitness }
          : { tree: [...tree], fitness, phi: [...phi] }
      ),
    };
  }

  static fromJSON(json: HallOfFameJson): HallOfFame {
    const hall = new HallOfFame(json.capacity);
    for (const e of json.entries) {
      if (!isWellFormed(e.tree)) throw new Error(`hall of fame entry is not a tree: ${e.tree}`);
      hall.consider(e.tree, e.fitness, e.phi);
    }
    return hall;
  }
}
