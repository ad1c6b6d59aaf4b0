import assert from "node:assert/strict";
import { Rng } from "../core/rng.ts";
import { children, height, isWellFormed, type Node, type Tree } from "../core/expr/tree.ts";
import { crossoverOnePoint } from "../core/gp/crossover.ts";
import { generate, rampedHalfAndHalf, TERMINALS } from "../core/gp/generate.ts";
import { limitHeight } from "../core/gp/height.ts";
import { mutateUniform } from "../core/gp/mutate.ts";
import { hasBothInputs, repair } from "../core/gp/repair.ts";
import { tournament } from "../core/gp/select.ts";

const SEEDS = Array.from({ length: 40 }, (_, i) => 1000 + i);

/** Depth of every leaf. */
function leafDepths(tree: Tree, at = 0, depth = 0): number[] {
  const kids = children(tree, at);
  return kids.length === 0 ? [depth] : kids.flatMap((k) => leafDepths(tree, k, depth + 1));
}

const sortedNodes = (trees: Tree[]) => trees.flat().map((n) => String(n)).sort();

Deno.test("generate: full reaches the drawn height on every branch, grow stays in range", () => {
  for (const seed of SEEDS) {
    const rng = new Rng(seed);
    for (let i = 0; i < 50; i++) {
      const full = generate(rng, { minHeight: 2, maxHeight: 4, method: "full" });
      assert.ok(isWellFormed(full));
      const depths = leafDepths(full);
      assert.ok(depths.every((d) => d === depths[0]) && depths[0] >= 2 && depths[0] <= 4);
      const grow = generate(rng, { minHeight: 2, maxHeight: 4, method: "grow" });
      assert.ok(isWellFormed(grow));
      assert.ok(leafDepths(grow).every((d) => d >= 2 && d <= 4));
    }
  }
  const lone = generate(new Rng(1), { minHeight: 0, maxHeight: 0, method: "grow" });
  assert.equal(lone.length, 1);
  assert.ok(TERMINALS.includes(lone[0]));
});

Deno.test("generate: ramped half-and-half mixes both methods and all leaves", () => {
  const trees = rampedHalfAndHalf(new Rng(5), 400, 2, 4);
  assert.equal(trees.length, 400);
  const heights = new Set(trees.map((t) => height(t)));
  assert.deepEqual([...heights].sort(), [2, 3, 4]);
  const leaves = new Set(trees.flat().filter((n) => TERMINALS.includes(n)));
  assert.equal(leaves.size, 4);
});

Deno.test("tournament: lowest fitness wins, NaN never does", () => {
  const rng = new Rng(3);
  const f = Array.from({ length: 25 }, (_, i) => 10 + ((i * 7) % 25));
  f[17] = 1;
  // With 2000 entrants the best is drawn except with probability (24/25)^2000.
  assert.equal(tournament(rng, f, 2000), 17);
  assert.equal(tournament(rng, [NaN, 5, NaN], 200), 1);
  // k = 1 is a uniform draw.
  const seen = new Set(Array.from({ length: 500 }, () => tournament(rng, f, 1)));
  assert.equal(seen.size, 25);
  // Among tied fitnesses, selection is not biased to the lowest index.
  const ties = new Set(Array.from({ length: 200 }, () => tournament(rng, [1, 1, 1], 4)));
  assert.equal(ties.size, 3);
  assert.throws(() => tournament(rng, [], 4));
});

Deno.test("crossover: two well-formed children holding exactly the parents' nodes", () => {
  for (const seed of SEEDS) {
    const rng = new Rng(seed);
    for (let i = 0; i < 50; i++) {
      const a = generate(rng, { minHeight: 0, maxHeight: 5, method: "half" });
      const b = generate(rng, { minHeight: 0, maxHeight: 5, method: "half" });
      const [c, d] = crossoverOnePoint(rng, a, b);
      assert.ok(isWellFormed(c) && isWellFormed(d));
      assert.deepEqual(sortedNodes([c, d]), sortedNodes([a, b]));
      if (a.length < 2 || b.length < 2) assert.deepEqual([c, d], [a, b]);
      else assert.equal(c[0], a[0]); // roots stay
    }
  }
  const same = (s: number) => {
    const rng = new Rng(s);
    return crossoverOnePoint(rng, ["add", "y", "square", "fx"], ["sub", "max", "y", 1, "fx"]);
  };
  assert.deepEqual(same(9), same(9));
});

Deno.test("mutation: well formed, and the graft is no taller than asked", () => {
  for (const seed of SEEDS) {
    const rng = new Rng(seed);
    for (let i = 0; i < 50; i++) {
      const t = generate(rng, { minHeight: 0, maxHeight: 5, method: "half" });
      const m = mutateUniform(rng, t, { minHeight: 0, maxHeight: 2 });
      assert.ok(isWellFormed(m));
      // A graft of height <= 2 (at most 7 nodes) replaces at least one node.
      assert.ok(height(m) <= height(t) + 2);
      assert.ok(m.length <= t.length + 6);
    }
  }
});

Deno.test("repair: leaves valid trees alone, fixes the rest with one op(y, f(x))", () => {
  for (const seed of SEEDS) {
    const rng = new Rng(seed);
    for (let i = 0; i < 50; i++) {
      const t = generate(rng, { minHeight: 0, maxHeight: 4, method: "half" });
      const before = rng.state();
      const r = repair(rng, t);
      assert.ok(isWellFormed(r) && hasBothInputs(r));
      if (hasBothInputs(t)) {
        assert.equal(r, t);
        assert.deepEqual(rng.state(), before); // no draws either: same stream for the rest
        continue;
      }
      assert.equal(r.length, t.length + 2);
      assert.ok(height(r) <= height(t) + 1);
      // Exactly one leaf became op(y, fx) or op(fx, y).
      const at = r.findIndex((n, k) => n !== t[k]);
      assert.ok(["add", "sub", "mul", "div"].includes(r[at] as string));
      assert.ok(TERMINALS.includes(t[at]));
      const args = [r[at + 1], r[at + 2]].map(String).sort();
      assert.deepEqual(args, ["fx", "y"]);
      assert.deepEqual(r.slice(at + 3), t.slice(at + 1));
    }
  }
});

Deno.test("height control: a child taller than the limit is replaced by its parent", () => {
  const parent: Node[] = ["add", "y", "fx"];
  let tall: Tree = ["y"];
  for (let i = 0; i < 11; i++) tall = ["abs", ...tall];
  const kept = limitHeight(parent, tall);
  assert.equal(kept, parent);
  const back = limitHeight(tall, parent);
  assert.deepEqual(back, parent);
  assert.notEqual(back, parent); // a copy
  assert.deepEqual(limitHeight(tall.slice(1), parent), tall.slice(1)); // height 10 is allowed
  assert.deepEqual(limitHeight(tall.slice(1), parent, 9), parent);
});
