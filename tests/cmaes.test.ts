import assert from "node:assert/strict";
import { Cmaes, minimize, symmetricEigen } from "../core/cmaes.ts";

const shift = [1.5, -2, 0.5, 3];
const ellipsoid = (x: number[]) =>
  x.reduce((a, v, i) => a + 10 ** (3 * i / (x.length - 1)) * (v - shift[i]) ** 2, 0);
const rosenbrock = (x: number[]) =>
  x.slice(0, -1).reduce((a, v, i) => a + 100 * (x[i + 1] - v * v) ** 2 + (1 - v) ** 2, 0);

Deno.test("cmaes: minimises a shifted, ill-conditioned ellipsoid in 4 dimensions", () => {
  const { x, value } = minimize(ellipsoid, {
    mean: [0, 0, 0, 0],
    sigma: 1,
    seed: 3,
    generations: 300,
  });
  assert.ok(value < 1e-10, `f = ${value}`);
  x.forEach((v, i) => assert.ok(Math.abs(v - shift[i]) < 1e-4, `x[${i}] = ${v}`));
});

Deno.test("cmaes: finds Rosenbrock's minimum at (1, 1, 1)", () => {
  const { x, value } = minimize(rosenbrock, {
    mean: [-1, 0, 0.5],
    sigma: 0.5,
    seed: 11,
    generations: 800,
  });
  assert.ok(value < 1e-8, `f = ${value}`);
  x.forEach((v, i) => assert.ok(Math.abs(v - 1) < 1e-3, `x[${i}] = ${v}`));
});

Deno.test("cmaes: the covariance stays symmetric positive definite", () => {
  const es = new Cmaes({ mean: [3, -1, 2, 0, 1], sigma: 2, seed: 5 });
  for (let g = 0; g < 60; g++) {
    const xs = es.ask();
    assert.equal(xs.length, es.lambda);
    es.tell(xs.map((x) => rosenbrock(x) + (g % 7 === 0 ? NaN : 0)));
    for (let i = 0; i < es.n; i++) {
      for (let j = 0; j < es.n; j++) assert.equal(es.C[i][j], es.C[j][i]);
    }
    const { values } = symmetricEigen(es.C);
    assert.ok(values.every((v) => v > 0), `eigenvalues ${values}`);
    assert.ok(es.sigma > 0 && Number.isFinite(es.sigma));
  }
});

Deno.test("cmaes: the eigendecomposition reconstructs its matrix", () => {
  const c = [[4, 1, 0.5], [1, 3, -0.2], [0.5, -0.2, 2]];
  const { values, vectors } = symmetricEigen(c);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const v = vectors[i].reduce((a, b, k) => a + b * values[k] * vectors[j][k], 0);
      assert.ok(Math.abs(v - c[i][j]) < 1e-12);
    }
  }
});

Deno.test("cmaes: same seed, same search; tell checks its input", () => {
  const run = () =>
    minimize(ellipsoid, { mean: [0, 0, 0, 0], sigma: 1, seed: 9, generations: 5 }).x;
  assert.deepEqual(run(), run());
  const es = new Cmaes({ mean: [0, 0], sigma: 1, seed: 1 });
  es.ask();
  assert.throws(() => es.tell([1]), /fitness values/);
});
