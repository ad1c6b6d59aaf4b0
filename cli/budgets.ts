/** Search budgets shared by the CLI and the service's default search (no imports: cheap to load). */

/** The quick default: a real search that ends in about ten minutes on 2 cores (see README). */
export const QUICK_BUDGET = { population: 12, generations: 8, finalSteps: 2000, finalSeeds: 5 };
/** The published budget (method.md). */
export const PAPER_BUDGET = { population: 25, generations: 50, finalSteps: 10_000, finalSeeds: 5 };
