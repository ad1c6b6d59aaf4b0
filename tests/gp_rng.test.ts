import assert from "node:assert/strict";
import { Rng } from "../core/rng.ts";

const draws = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.next());

Deno.test("rng: same seed, same stream; different seeds, different streams", () => {
  assert.deepEqual(draws(new Rng(42), 100), draws(new Rng(42), 100));
  assert.notDeepEqual(draws(new Rng(42), 10), draws(new Rng(43), 10));
});

Deno.test("rng: fromState(state()) continues bit-identically, also through JSON", () => {
  const a = new Rng(7);
  draws(a, 33);
  a.normal();
  const saved = JSON.parse(JSON.stringify(a.state()));
  const b = Rng.fromState(saved);
  for (let i = 0; i < 200; i++) {
    assert.equal(b.uint32(), a.uint32());
    assert.equal(b.next(), a.next());
    assert.equal(b.normal(), a.normal());
    assert.equal(b.int(25), a.int(25));
  }
  // state() is a copy: drawing afterwards does not change what was saved.
  const s = a.state();
  a.next();
  assert.notDeepEqual(a.state(), s);
});

Deno.test("rng: fromState rejects malformed states", () => {
  assert.throws(() => Rng.fromState([1, 2, 3]));
  assert.throws(() => Rng.fromState([0, 0, 0, 0]));
  assert.throws(() => Rng.fromState([1, 2, 3, 2 ** 32]));
  assert.throws(() => Rng.fromState([1, 2, 3, 0.5]));
});

Deno.test("rng: ranges and rough distributions", () => {
  const rng = new Rng(1);
  const n = 20000;
  const u = draws(rng, n);
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const mean = u.reduce((a, b) => a + b) / n;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);

  const counts = new Array(5).fill(0);
  for (let i = 0; i < n; i++) counts[rng.int(5)]++;
  for (const c of counts) assert.ok(Math.abs(c - n / 5) < 300, `counts ${counts}`);

  const z = Array.from({ length: n }, () => rng.normal());
  const zm = z.reduce((a, b) => a + b) / n;
  const zv = z.reduce((a, b) => a + (b - zm) ** 2, 0) / n;
  assert.ok(Math.abs(zm) < 0.03 && Math.abs(zv - 1) < 0.05, `normal ${zm} ${zv}`);

  assert.equal(rng.pick(["only"]), "only");
  assert.throws(() => rng.pick([]));
  assert.throws(() => rng.int(0));
});
