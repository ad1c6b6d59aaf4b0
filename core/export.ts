/**
 * Export of one learned loss for use outside Lossmith: a JSON document, a PyTorch function, or
 * a TensorFlow.js module. Each computes what engine/metaloss.ts computes: weights on every edge,
 * softmax and sum over classes for classification, mean over the batch.
 *
 *   exportLoss({ ...rankedLoss, task: result.dataset.task }, "pytorch")
 */
import type { ExportableLoss, ExportFormat } from "./export/loss.ts";
import { exportJson } from "./export/json.ts";
import { exportPytorch } from "./export/pytorch.ts";
import { exportTfjs } from "./export/tfjs.ts";

export type { ExportableLoss, ExportFormat, Task } from "./export/loss.ts";
export {
  exportJson,
  LOSS_FORMAT,
  type LossDocument,
  lossDocument,
  readLossJson,
} from "./export/json.ts";
export { exportPytorch } from "./export/pytorch.ts";
export { exportTfjs } from "./export/tfjs.ts";

const EXPORTERS: Record<ExportFormat, (loss: ExportableLoss) => string> = {
  json: exportJson,
  pytorch: exportPytorch,
  tfjs: exportTfjs,
};

/** Source text of `loss` in `format`; throws on a malformed tree or non-finite weights. */
export function exportLoss(loss: ExportableLoss, format: ExportFormat): string {
  const exporter = EXPORTERS[format];
  if (!exporter) throw new Error(`unknown export format ${JSON.stringify(format)}`);
  return exporter(loss);
}
