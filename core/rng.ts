/**
 * Seeded pseudo-random numbers with a serialisable state: a search that saves `state()` in its
 * checkpoint and resumes with `Rng.fromState` draws exactly the numbers it would have drawn.
 *
 * Generator: xoshiro128** (Blackman and Vigna) over four uint32 words, seeded through
 * splitmix32 so that nearby seeds give unrelated streams. All arithmetic is 32-bit integer
 * (`Math.imul`, `>>> 0`), hence identical on every JavaScript engine.
 */

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** splitmix32: spreads one seed over the four state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  #s: Uint32Array;

  /** `seed` is reduced to 32 bits; a fractional or negative seed is allowed but discouraged. */
  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.#s = new Uint32Array([mix(), mix(), mix(), mix()]);
    // xoshiro is stuck at the all-zero state; splitmix32 cannot give four zeros, but be sure.
    if (this.#s.every((w) => w === 0)) this.#s[0] = 1;
  }

  /** Resume from a state returned by `state()`. */
  static fromState(state: readonly number[]): Rng {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= 2 ** 32)) {
      throw new Error(`Rng state must be four uint32 words, got ${JSON.stringify(state)}`);
    }
    if (state.every((w) => w === 0)) throw new Error("Rng state must not be all zero");
    const rng = new Rng(0);
    rng.#s = new Uint32Array(state);
    return rng;
  }

  /** A copy of the four state words, plain numbers so that it survives JSON. */
  state(): number[] {
    return Array.from(this.#s);
  }

  /** Next uint32 (xoshiro128**). */
  uint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits (two draws), like a full-precision double. */
  next(): number {
    const hi = this.uint32() >>> 6; // 26 bits
    const lo = this.uint32() >>> 5; // 27 bits
    return (hi * 2 ** 27 + lo) / TWO_POW_53;
  }

  /** Uniform integer in [0, n). The bias of flooring a 53-bit uniform is below 2^-26 for
   * any n < 2^26, far beneath anything a GP run could notice. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_26) {
      throw new Error(`Rng.int needs an integer in 1..2^26, got ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /** Standard normal by Box-Muller. The spare value is dropped rather than cached so that the
   * state stays four words. */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick from an empty array");
    return items[this.int(items.length)];
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
