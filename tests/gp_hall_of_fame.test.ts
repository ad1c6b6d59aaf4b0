import assert from "node:assert/strict";
import { HallOfFame } from "../core/gp/hall_of_fame.ts";
import type { Tree } from "../core/expr/tree.ts";

const A: Tree = ["add", "y", "fx"];
const A2: Tree = ["add", "fx", "y"]; // same canonical key as A
const B: Tree = ["sub", "y", "fx"];
const C: Tree = ["square", "sub", "y", "fx"];
const D: Tree = ["abs", "sub", "y", "fx"];

Deno.test("hall of fame: keeps the best N, distinct by canonical key", () => {
  const hall = new HallOfFame(3);
  hall.update([A, B, A2, C, D], [0.5, 0.3, 0.4, 0.2, 0.9]);
  assert.deepEqual(hall.entries.map((e) => e.fitness), [0.2, 0.3, 0.4]);
  // A2 improved on A's entry rather than taking a second place.
  assert.deepEqual(hall.entries[2].tree, A2);
  assert.equal(hall.entries[2].key, "add(y, fx)");
  assert.deepEqual(hall.best()?.tree, C);
  // A worse fitness for a known key changes nothing; nor do non-finite fitnesses.
  assert.equal(hall.consider(A, 0.45), false);
  assert.equal(hall.consider(D, NaN), false);
  assert.equal(hall.consider(D, -Infinity), false);
  assert.equal(hall.consider(D, 1), false); // not good enough for a full hall
  assert.equal(hall.consider(D, 0.1, [1, 0.9, 1.1, 1]), true);
  assert.deepEqual(hall.entries.map((e) => e.fitness), [0.1, 0.2, 0.3]);
  assert.deepEqual(hall.best()?.phi, [1, 0.9, 1.1, 1]);
});

Deno.test("hall of fame: ties keep the earlier arrival first", () => {
  const hall = new HallOfFame(5);
  hall.update([B, C, D], [1, 1, 1]);
  assert.deepEqual(hall.entries.map((e) => e.tree), [B, C, D]);
});

Deno.test("hall of fame: JSON round trip", () => {
  const hall = new HallOfFame(4);
  hall.update([A, B, C], [0.5, 0.3, 0.2]);
  hall.consider(D, 0.25, [1, 2, 3, 4]);
  const back = HallOfFame.fromJSON(JSON.parse(JSON.stringify(hall)));
  assert.equal(back.capacity, 4);
  assert.deepEqual(back.entries, hall.entries);
  assert.throws(() =>
    HallOfFame.fromJSON({ capacity: 2, entries: [{ tree: ["add"], fitness: 1 }] })
  );
  assert.throws(() => new HallOfFame(0));
});
