/**
 * CMA-ES (Hansen's covariance matrix adaptation evolution strategy, "The CMA Evolution Strategy:
 * A Tutorial", 2016): the (mu/mu_w, lambda) strategy with weighted recombination, cumulative
 * step-size adaptation, and the rank-one and rank-mu covariance updates. It is what TaylorGLO
 * (Gonzalez & Miikkulainen 2021) searches its loss parameters with. No maintained CMA-ES exists
 * on npm for this project, so this is a small one of its own, in plain numbers (tensor-free),
 * driven by ask/tell so that the caller evaluates a generation however it likes.
 */
import { Rng } from "./rng.ts";

export interface CmaesOptions {
  /** Initial mean. */
  mean: number[];
  /** Initial step size. */
  sigma: number;
  /** Offspring per generation; default 4 + floor(3 ln n). */
  lambda?: number;
  seed: number;
}

/** Symmetric eigendecomposition by cyclic Jacobi rotations: C = B diag(d) B^T. */
export function symmetricEigen(c: number[][]): { values: number[]; vectors: number[][] } {
  const n = c.length;
  const a = c.map((row) => [...row]);
  const v = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => +(i === j)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cos = 1 / Math.sqrt(t * t + 1), sin = t * cos;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = cos * akp - sin * akq;
          a[k][q] = sin * akp + cos * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = cos * apk - sin * aqk;
          a[q][k] = sin * apk + cos * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = cos * vkp - sin * vkq;
          v[k][q] = sin * vkp + cos * vkq;
        }
      }
    }
  }
  return { values: a.map((row, i) => row[i]), vectors: v };
}

export class Cmaes {
  readonly n: number;
  readonly lambda: number;
  readonly mu: number;
  mean: number[];
  sigma: number;
  /** The covariance matrix, kept symmetric. */
  C: number[][];
  generation = 0;
  readonly #weights: number[];
  readonly #mueff: number;
  readonly #cs: number;
  readonly #ds: number;
  readonly #cc: number;
  readonly #c1: number;
  readonly #cmu: number;
  readonly #chiN: number;
  #ps: number[];
  #pc: number[];
  #B: number[][];
  #D: number[];
  #rng: Rng;
  /** The standard-normal draws z of the generation asked last (x = m + sigma B D z). */
  #asked: { z: number[]; x: number[] }[] = [];

  constructor(opts: CmaesOptions) {
    const n = opts.mean.length;
    this.n = n;
    this.lambda = opts.lambda ?? 4 + Math.floor(3 * Math.log(n));
    this.mu = Math.floor(this.lambda / 2);
    const raw = Array.from(
      { length: this.mu },
      (_, i) => Math.log((this.lambda + 1) / 2) - Math.log(i + 1),
    );
    const sum = raw.reduce((a, b) => a + b, 0);
    this.#weights = raw.map((w) => w / sum);
    this.#mueff = 1 / this.#weights.reduce((a, w) => a + w * w, 0);
    const mueff = this.#mueff;
    this.#cs = (mueff + 2) / (n + mueff + 5);
    this.#ds = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + this.#cs;
    this.#cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n);
    this.#c1 = 2 / ((n + 1.3) ** 2 + mueff);
    this.#cmu = Math.min(
      1 - this.#c1,
      2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff),
    );
    this.#chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
    this.mean = [...opts.mean];
    this.sigma = opts.sigma;
    this.C = identity(n);
    this.#B = identity(n);
    this.#D = new Array(n).fill(1);
    this.#ps = new Array(n).fill(0);
    this.#pc = new Array(n).fill(0);
    this.#rng = new Rng(opts.seed);
  }

  /** The next generation's lambda points. */
  ask(): number[][] {
    this.#asked = Array.from({ length: this.lambda }, () => {
      const z = Array.from({ length: this.n }, () => this.#rng.normal());
      const y = this.#bd(z);
      return { z, x: this.mean.map((m, i) => m + this.sigma * y[i]) };
    });
    return this.#asked.map((a) => [...a.x]);
  }

  /** The fitness (lower is better) of each point `ask` gave, in the same order. */
  tell(fitness: number[]): void {
    if (fitness.length !== this.#asked.length) {
      throw new Error(`tell needs ${this.#asked.length} fitness values, got ${fitness.length}`);
    }
    const n = this.n;
    // Non-finite fitness ranks last.
    const order = fitness.map((f, i) => ({ f: Number.isFinite(f) ? f : Infinity, i }))
      .sort((a, b) => a.f - b.f || a.i - b.i).map((o) => o.i);
    const chosen = order.slice(0, this.mu).map((i) => this.#asked[i]);
    const old = this.mean;
    // y_i = (x_i - m_old) / sigma = B D z_i.
    const ys = chosen.map((a) => a.x.map((x, k) => (x - old[k]) / this.sigma));
    const yw = new Array(n).fill(0);
    const zw = new Array(n).fill(0);
    chosen.forEach((a, r) => {
      for (let k = 0; k < n; k++) {
        yw[k] += this.#weights[r] * ys[r][k];
        zw[k] += this.#weights[r] * a.z[k];
      }
    });
    this.mean = old.map((m, k) => m + this.sigma * yw[k]);
    // C^(-1/2) y_w = B z_w.
    const bz = this.#b(zw);
    const cs = this.#cs, cc = this.#cc, c1 = this.#c1, cmu = this.#cmu, mueff = this.#mueff;
    this.#ps = this.#ps.map((p, k) => (1 - cs) * p + Math.sqrt(cs * (2 - cs) * mueff) * bz[k]);
    const psNorm = Math.hypot(...this.#ps);
    this.generation++;
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * this.generation)) / this.#chiN <
      1.4 + 2 / (n + 1);
    this.#pc = this.#pc.map((p, k) =>
      (1 - cc) * p + (hsig ? Math.sqrt(cc * (2 - cc) * mueff) * yw[k] : 0)
    );
    const deltaH = hsig ? 0 : cc * (2 - cc);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let rankMu = 0;
        for (let r = 0; r < this.mu; r++) rankMu += this.#weights[r] * ys[r][i] * ys[r][j];
        const v = (1 - c1 - cmu) * this.C[i][j] +
          c1 * (this.#pc[i] * this.#pc[j] + deltaH * this.C[i][j]) + cmu * rankMu;
        this.C[i][j] = v;
        this.C[j][i] = v;
      }
    }
    this.sigma *= Math.exp((cs / this.#ds) * (psNorm / this.#chiN - 1));
    const { values, vectors } = symmetricEigen(this.C);
    // Guard against round-off: the covariance stays positive definite.
    const floor = 1e-20 * Math.max(...values.map(Math.abs), 1e-300);
    this.#D = values.map((v) => Math.sqrt(Math.max(v, floor)));
    this.#B = vectors;
  }

  /** B D z. */
  #bd(z: number[]): number[] {
    return this.#B.map((row) => row.reduce((a, b, j) => a + b * this.#D[j] * z[j], 0));
  }

  /** B z. */
  #b(z: number[]): number[] {
    return this.#B.map((row) => row.reduce((a, b, j) => a + b * z[j], 0));
  }
}

function identity(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => +(i === j)));
}

/** Minimises `f` for `generations` generations; returns the best point seen and its value. */
export function minimize(
  f: (x: number[]) => number,
  opts: CmaesOptions & { generations: number },
): { x: number[]; value: number; es: Cmaes } {
  const es = new Cmaes(opts);
  let best = { x: [...opts.mean], value: f(opts.mean) };
  for (let g = 0; g < opts.generations; g++) {
    const xs = es.ask();
    const fs = xs.map(f);
    fs.forEach((v, i) => {
      if (v < best.value) best = { x: xs[i], value: v };
    });
    es.tell(fs);
  }
  return { ...best, es };
}
