// deno-lint-ignore-file no-explicit-any
/**
 * The user's model over the API, through real HTTP: every model kind of the registry, a search
 * with a small CNN of the user's own (a layer list) on the bundled MNIST images, the layer
 * list's problems answered 422 with the pointer of the layer's field, a model above the
 * service's memory limit refused before anything is stored, and a choice of primitives.
 */
import { assert, assertEquals } from "./support/assert.ts";
import {
  expectProblem,
  finished,
  postJson,
  startTestService,
  tableCounts,
  tinySearch,
  waitFor,
} from "./support/service.ts";
import { parseInfix } from "../core/expr/parse.ts";
import { isOp } from "../core/expr/tree.ts";
import { MODEL_KIND_NAMES } from "../core/model_kinds.ts";
import { tf } from "../engine/tensor/tf.ts";
import type { Layer } from "../core/layers.ts";

await tf.setBackend("cpu");

/** A small budget that still runs every phase of a search on MNIST. */
function mnistSearch(model: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    dataset: "mnist",
    model,
    budget: { population: 3, generations: 1 },
    evaluation: {
      // No screen: any loss of the tiny population goes on to be trained.
      screen: { enabled: false },
      localSearch: { metaSteps: 2 },
      fitnessSteps: 10,
      batchSize: 16,
    },
    final: { steps: 20, seeds: 1, tuneLr: false },
    // 500 validation and 500 test images: the whole-split forward passes stay short.
    split: { testFraction: 0.05, validationFraction: 0.053 },
    seed: 3,
    ...extra,
  };
}

const CNN: Layer[] = [
  { type: "Conv2D", filters: 4, kernelSize: 3, strides: 2, activation: "relu" },
  { type: "MaxPooling2D", poolSize: 2 },
  { type: "Flatten" },
  { type: "Dense", units: 10 },
];

/** TF.js's own count of the same list's parameters on MNIST's images. */
function kerasCount(layers: Layer[]): number {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, strides: 2 }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10 }),
    ],
  });
  assertEquals(model.layers.length, layers.length);
  const n = model.countParams();
  model.dispose();
  return n;
}

Deno.test({
  name: "every model kind over HTTP: a custom CNN, LeNet-5 and AllConv train on MNIST; " +
    "ResNet-18 is refused by its memory estimate",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService({ workers: 2 });
    try {
      const runs: Record<string, any> = {};
      for (const kind of MODEL_KIND_NAMES) {
        const model = kind === "sequential"
          ? { kind, layers: CNN }
          : kind === "mlp"
          ? { kind, hidden: [16] }
          : { kind };
        const res = await t.request("/v1/searches", postJson(mnistSearch(model)));
        const body = await res.json();
        if (kind === "resnet18") {
          // 11 million parameters: a meta-step alone is estimated above the default 2 GiB.
          assertEquals(res.status, 422, JSON.stringify(body));
          const error = body.errors.find((e: any) => e.pointer === "/model");
          assert(/estimated memory/.test(error?.detail), JSON.stringify(body));
          continue;
        }
        assertEquals(res.status, 202, `${kind}: ${JSON.stringify(body)}`);
        assertEquals(body.config.model.kind, kind);
        assert(body.model.parameters > 0 && body.model.estimatedBytes.total > 0, kind);
        runs[kind] = body;
      }
      assertEquals(Object.keys(runs).length, MODEL_KIND_NAMES.length - 1);
      // The custom CNN: its size as TF.js counts it, its layers in the stored configuration.
      const cnn = runs.sequential;
      assertEquals(cnn.model.parameters, kerasCount(CNN));
      assertEquals(cnn.config.model.layers, CNN);
      assert(cnn.model.description.includes("Conv2D(4, 3x3, stride 2x2, relu)"));
      for (const [kind, created] of Object.entries(runs)) {
        const done = await waitFor(t, created.id, finished, 600_000);
        assertEquals(done.state, "succeeded", `${kind}: ${JSON.stringify(done.error)}`);
        const losses = (await t.json(`/v1/searches/${done.id}/losses`)).body;
        assert(losses.losses.length > 0, kind);
        const learned = losses.final.learned.mean;
        assert(learned >= 0 && learned <= 1, `${kind}: learned error ${learned}`);
      }
      // The result records what the CNN was: the fused and stacked engines left it alone.
      const result = (await t.json(`/v1/searches/${cnn.id}/result`)).body;
      assertEquals(result.config.model.layers, CNN);
      const notes = result.generations.map((g: any) => g.stacking?.note).filter(Boolean);
      assert(notes.length > 0 && notes.every((n: string) => /dense stack/.test(n)), `${notes}`);
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a layer list's problems are 422 with the pointer of the layer's field; nothing stored",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService({
      workers: 1,
      limits: { ...(await import("../service/config.ts")).DEFAULT_LIMITS, maxModelBytes: 100e6 },
    });
    try {
      const before = tableCounts(t.service);
      const post = (body: unknown) => postJson(body);
      const search = (model: Record<string, unknown>, dataset = "mnist") =>
        post({ ...mnistSearch(model), dataset });
      const cases: [RequestInit, string, RegExp?][] = [
        // The schema: a field out of bounds, a type the engine refuses, a field of another type.
        [
          search({ kind: "sequential", layers: [{ type: "Conv2D", filters: 0, kernelSize: 3 }] }),
          "/model/layers/0/filters",
        ],
        [
          search({ kind: "sequential", layers: [{ type: "Flatten" }, { type: "Dropout" }] }),
          "/model/layers/1/type",
          /Dropout is not supported/,
        ],
        [
          search({ kind: "sequential", layers: [{ type: "Dense", units: 10, kernelSize: 3 }] }),
          "/model/layers/0/kernelSize",
        ],
        // The shapes: a Dense layer on the image, a kernel larger than its input, the outputs.
        [
          search({ kind: "sequential", layers: [{ type: "Dense", units: 10 }] }),
          "/model/layers/0/type",
          /Flatten/,
        ],
        [
          search({
            kind: "sequential",
            layers: [
              { type: "MaxPooling2D", poolSize: 4 },
              { type: "Conv2D", filters: 2, kernelSize: 9 },
              { type: "Flatten" },
              { type: "Dense", units: 10 },
            ],
          }),
          "/model/layers/1/kernelSize",
          /larger than its input image 7x7x1/,
        ],
        [
          search({
            kind: "sequential",
            layers: [{ type: "Flatten" }, { type: "Dense", units: 3 }],
          }),
          "/model/layers/1/units",
          /must be 10/,
        ],
        [
          search(
            { kind: "sequential", layers: [{ type: "Conv2D", filters: 3, kernelSize: 1 }] },
            "iris",
          ),
          "/model/layers/0/type",
          /no image shape/,
        ],
        // Layers for a kind with its own architecture, and a sequential model without them.
        [search({ kind: "mlp", layers: CNN }), "/model/layers"],
        [search({ kind: "sequential" }), "/model/layers"],
        // Above this service's 100 MB: 64 full-size feature maps of 28x28.
        [
          search({
            kind: "sequential",
            layers: [
              { type: "Conv2D", filters: 64, kernelSize: 3, padding: "same", activation: "relu" },
              { type: "Flatten" },
              { type: "Dense", units: 10 },
            ],
          }),
          "/model/layers",
          /estimated memory.*above this service's limit of 95.4 MiB: the forward pass over a whole/,
        ],
        // Primitives: an unknown name, a repeated one, a set without a binary primitive.
        [post({ dataset: "iris", gp: { primitives: ["add", "exp"] } }), "/gp/primitives/1"],
        [post({ dataset: "iris", gp: { primitives: ["add", "mul", "add"] } }), "/gp/primitives/2"],
        [post({ dataset: "iris", gp: { primitives: ["square", "log"] } }), "/gp/primitives"],
      ];
      for (const [init, pointer, detail] of cases) {
        const p = await expectProblem(t, "/v1/searches", init, 422, { pointer });
        if (detail) {
          const e = p.errors.find((x: any) => x.pointer === pointer);
          assert(detail.test(e.detail), `${pointer}: ${e.detail}`);
        }
      }
      assertEquals(tableCounts(t.service), before, "a refused search leaves no trace");
      // The CNN above fits in 100 MB and is accepted.
      const ok = await t.json("/v1/searches", search({ kind: "sequential", layers: CNN }));
      assertEquals(ok.status, 202, JSON.stringify(ok.body));
      assert(ok.body.model.estimatedBytes.total < 100e6);
      await t.request(`/v1/searches/${ok.body.id}:cancel`, { method: "POST" });
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "a search on a subset of the primitives evaluates, ranks and exports only those",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService({ workers: 2 });
    try {
      const primitives = ["sub", "mul", "abs", "tanh"];
      const created = await t.json(
        "/v1/searches",
        postJson(tinySearch("iris", {
          gp: { primitives, mutationProb: 0.3 },
          evaluation: {
            screen: { enabled: false },
            localSearch: { metaSteps: 3 },
            fitnessSteps: 20,
          },
          final: { steps: 20, seeds: 1, tuneLr: false },
        })),
      );
      assertEquals(created.status, 202, JSON.stringify(created.body));
      assertEquals(created.body.config.gp.primitives, primitives);
      const done = await waitFor(t, created.body.id, finished);
      assertEquals(done.state, "succeeded", JSON.stringify(done.error));
      const opsOf = (infix: string) => parseInfix(infix).filter(isOp);
      let checked = 0;
      const candidates = (await t.json(`/v1/searches/${done.id}/candidates?limit=100`)).body;
      for (const c of candidates.items ?? candidates.candidates) {
        for (const op of opsOf(c.structure)) assert(primitives.includes(op), c.structure);
        checked++;
      }
      const { losses } = (await t.json(`/v1/searches/${done.id}/losses`)).body;
      for (const loss of losses) {
        for (const op of loss.tree.filter(isOp)) assert(primitives.includes(op), loss.infix);
        checked++;
      }
      const code = await (await t.request(`/v1/searches/${done.id}/losses/1/pytorch`)).text();
      const listed = [...code.matchAll(/^\s+(\w+)\((?:a|a, b)\) = /gm)].map((m) => m[1]);
      assert(listed.length > 0 && listed.every((op) => primitives.includes(op)), `${listed}`);
      assert(checked >= 8, `only ${checked} trees checked`);
    } finally {
      await t.close();
    }
  },
});
