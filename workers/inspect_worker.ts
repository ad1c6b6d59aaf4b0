/**
 * A one-shot worker that loads and validates one dataset and describes it, so that parsing a
 * large upload never blocks the service's event loop. It imports no tensor code: it starts in
 * milliseconds.
 */
import { loadDataset } from "../core/prepare.ts";
import { DataError } from "../core/data/mod.ts";
import type { InspectReply, InspectRequest } from "./inspect.ts";

const scope = self as unknown as {
  postMessage(message: InspectReply): void;
  onmessage: ((event: MessageEvent<InspectRequest>) => void) | null;
};

/** Long name lists are cut: the description is for people, not a copy of the data. */
const MAX_NAMES = 100;

scope.onmessage = async (event) => {
  const { ref, target } = event.data;
  try {
    const ds = await loadDataset(ref);
    scope.postMessage({
      ok: true,
      info: {
        name: ds.name,
        task: ds.task,
        rows: ds.n,
        features: ds.d,
        classes: ds.nClasses,
        classNames: ds.classNames?.slice(0, MAX_NAMES),
        featureNames: ds.featureNames?.slice(0, MAX_NAMES),
        imageShape: ds.imageShape,
        target,
      },
    });
  } catch (e) {
    const err = e as Error;
    scope.postMessage({
      ok: false,
      dataError: e instanceof DataError,
      message: err.message,
      row: (e as DataError).row,
      column: (e as DataError).column,
    });
  }
};
