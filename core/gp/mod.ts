/** Genetic programming over expression trees: small pure operators with an explicit Rng. */

export { crossoverOnePoint } from "./crossover.ts";
export {
  generate,
  type GenerateMethod,
  type GenerateOptions,
  rampedHalfAndHalf,
  TERMINALS,
} from "./generate.ts";
export { type FameEntry, HallOfFame, type HallOfFameJson } from "./hall_of_fame.ts";
export { limitHeight } from "./height.ts";
export { type MutateOptions, mutateUniform } from "./mutate.ts";
export { hasBothInputs, repair } from "./repair.ts";
export { tournament } from "./select.ts";
export type { GpSettings } from "../settings.ts";
export { DEFAULT_GP_SETTINGS, initialPopulation, vary } from "./vary.ts";
