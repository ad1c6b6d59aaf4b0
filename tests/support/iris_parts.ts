/** Bundled Iris as three CSV texts (training, validation, test rows), for the own-splits tests. */
import { loadBundled } from "../../core/data/mod.ts";

export interface IrisParts {
  train: string;
  validation: string;
  test: string;
  rows: { train: number; validation: number; test: number };
}

/** Rows by index: every 7th to validation, every 5th (of the rest) to test, the rest training. */
export async function irisParts(): Promise<IrisParts> {
  const ds = await loadBundled("iris");
  const header = [...ds.featureNames!, "species"].join(",");
  const line = (i: number) =>
    [...ds.x.subarray(i * ds.d, (i + 1) * ds.d)].map((v) => v.toFixed(2))
      .concat(ds.classNames![ds.y[i]]).join(",");
  const parts: Record<"train" | "validation" | "test", number[]> = {
    train: [],
    validation: [],
    test: [],
  };
  for (let i = 0; i < ds.n; i++) {
    (i % 7 === 0 ? parts.validation : i % 5 === 0 ? parts.test : parts.train).push(i);
  }
  const csv = (rows: number[]) => [header, ...rows.map(line)].join("\n") + "\n";
  return {
    train: csv(parts.train),
    validation: csv(parts.validation),
    test: csv(parts.test),
    rows: {
      train: parts.train.length,
      validation: parts.validation.length,
      test: parts.test.length,
    },
  };
}
