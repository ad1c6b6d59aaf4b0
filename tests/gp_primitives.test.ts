/**
 * A choice of primitives per search (`gp.primitives`): over many random seeds and random subsets,
 * no tree a run draws (initial populations, crossover, mutation, repair, over generations) and no
 * canonical form it evaluates contains a primitive outside the subset. The generations are drawn
 * by the search's own stage (core/generation.ts's drawGeneration) with random fitnesses in the
 * archive, as its selection would read them from evaluations.
 */
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { drawGeneration } from "../core/generation.ts";
import { newSearchState, searchConfig } from "../core/search.ts";
import { ALL_OPS } from "../core/expr/primitives.ts";
import { canonicalize } from "../core/expr/canonical.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { BINARY_OPS, isOp, type Op, type Tree } from "../core/expr/tree.ts";
import { hasBothInputs } from "../core/gp/mod.ts";
import { Rng } from "../core/rng.ts";
import { SettingsError } from "../core/settings.ts";

const IRIS = { kind: "bundled", name: "iris" } as const;

/** A random subset with at least one binary primitive. */
function randomSubset(rng: Rng): Op[] {
  const binary = BINARY_OPS[rng.int(BINARY_OPS.length)];
  return ALL_OPS.filter((op) => op === binary || rng.next() < 0.35);
}

Deno.test("no tree of a run contains an excluded primitive (80 seeds, random subsets)", () => {
  let trees = 0, evaluated = 0, runs = 0;
  const used = new Set<Op>();
  for (let seed = 0; seed < 80; seed++) {
    const rng = new Rng(1000 + seed);
    const primitives = randomSubset(rng);
    const config = searchConfig(IRIS, {
      request: {
        seed,
        budget: { population: 16, generations: 6 },
        gp: {
          primitives,
          // Every operator often, and tall grafts, so that each gets its chances.
          crossoverProb: 0.5,
          mutationProb: 0.5,
          mutationMaxHeight: 3,
          initMaxHeight: 4,
        },
      },
    });
    assertEquals(config.gp.primitives, primitives);
    const allowed = new Set(primitives);
    const state = newSearchState(config);
    const searchRng = new Rng(seed);
    for (let g = 0; g < config.budget.generations; g++) {
      const drawn = drawGeneration(config, state, searchRng);
      const check = (tree: Tree, what: string) => {
        for (const op of tree.filter(isOp)) {
          assert(allowed.has(op), `seed ${seed}, ${what}: ${op} not in ${primitives}`);
          used.add(op);
        }
      };
      for (const tree of drawn.population) {
        check(tree, "population");
        assert(hasBothInputs(tree), `seed ${seed}: ${tree} misses an input`);
        trees++;
      }
      for (const [key, tree] of drawn.canonical) {
        check(tree, `canonical form of ${key}`);
        evaluated++;
        state.archive[key] = {
          tree,
          outcome: "tuned",
          fitness: searchRng.next() < 0.2 ? null : searchRng.next(),
          generation: g + 1,
        };
      }
      state.population = drawn.population;
      state.generation = g + 1;
    }
    runs++;
  }
  assertEquals(runs, 80);
  assertEquals(trees, 80 * 16 * 6);
  assert(evaluated > 2000, `only ${evaluated} canonical forms checked`);
  // Every primitive was allowed, and drawn, in some run.
  assertEquals([...used].sort(), [...ALL_OPS].sort());
  console.log(`${trees} trees and ${evaluated} canonical forms of 80 runs checked`);
});

Deno.test("the canonical form of a restricted search brings in no other primitive", () => {
  // Unrestricted, x * x becomes square(x), x + x becomes 2 * x, a - (-1 * b) becomes a + b.
  const cases: [string, Op[], Op][] = [
    ["f(x) * f(x) + y", ["mul", "add"], "square"],
    ["(f(x) + f(x)) - y", ["add", "sub"], "mul"],
    ["y - -1 * f(x)", ["sub", "mul"], "add"],
  ];
  for (const [text, ops, brought] of cases) {
    const tree = parseInfix(text);
    assert(canonicalize(tree).includes(brought), `unrestricted ${text} uses ${brought}`);
    const restricted = canonicalize(tree, ops);
    assert(restricted.filter(isOp).every((op) => ops.includes(op)), `${text}: ${restricted}`);
    // Still the same function, and still the form of its own form.
    assertEquals(canonicalize(restricted, ops), restricted);
  }
  // The whole set restricts nothing: the same form as without one.
  const tree = parseInfix("f(x) * f(x) + (y + y)");
  assertEquals(canonicalize(tree, [...ALL_OPS]), canonicalize(tree));
});

Deno.test("a subset without a binary primitive, or with unknown names, is refused", () => {
  const refuse = (primitives: string[]) =>
    assertThrows(
      () => searchConfig(IRIS, { request: { gp: { primitives: primitives as Op[] } } }),
      /primitives/,
    );
  const e = refuse(["square", "log", "tanh"]) as SettingsError;
  assertEquals(e.issues.map((i) => i.path.join(".")), ["gp.primitives"]);
  // The request's order does not matter: the registry's order is kept.
  const config = searchConfig(IRIS, { request: { gp: { primitives: ["tanh", "add"] } } });
  assertEquals(config.gp.primitives, ["add", "tanh"]);
});
