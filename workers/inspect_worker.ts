/**
 * A one-shot worker that loads and validates one dataset and describes it, so that parsing a
 * large upload never blocks the service's event loop. It imports no tensor code: it starts in
 * milliseconds. Served through the project's one worker protocol (workers/protocol.ts).
 */
import { loadDataset } from "../core/prepare.ts";
import { DataError } from "../core/data/mod.ts";
import type { DatasetRef } from "../core/prepare.ts";
import type { DatasetInfo } from "../store/types.ts";
import { serveOps } from "./protocol.ts";

/** Long name lists are cut: the description is for people, not a copy of the data. */
const MAX_NAMES = 100;

/** What an inspection reports: the description, or why the data cannot be read. */
export type Inspection =
  | { ok: true; info: DatasetInfo }
  | {
    ok: false;
    dataError: boolean;
    message: string;
    row?: number;
    column?: string;
    /** The file at fault, by role (core/data/formats.ts). */
    role?: string;
    tooLarge?: boolean;
  };

export const inspectOps = {
  /** `maxInflatedBytes`: what a gzip file may inflate to (the service's upload limit). */
  async inspect(ref: DatasetRef, target?: string, maxInflatedBytes?: number): Promise<Inspection> {
    try {
      const ds = await loadDataset(ref, { maxInflatedBytes });
      return {
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
      };
    } catch (e) {
      // A data error is the user's to fix, with its row and column; others are ours.
      const err = e as DataError;
      return {
        ok: false,
        dataError: e instanceof DataError,
        message: err.message,
        row: err.row,
        column: err.column,
        role: err.role,
        tooLarge: err.tooLarge,
      };
    }
  },
};

serveOps({ init: () => ({}), opsFor: () => inspectOps });
