/**
 * Seeded pseudo-random numbers for the traffic generator: xoshiro128** (Blackman and Vigna,
 * https://prng.di.unimi.it/) seeded through splitmix32. Fast (a few integer operations per draw,
 * no allocation), good enough statistically for traffic shapes, and the same on every platform,
 * so one seed always gives the same capture.
 */

/** Golden-ratio increment of splitmix32. */
const SPLITMIX_GAMMA = 0x9e3779b9;
/** 2^-32, to turn a 32-bit draw into [0, 1). */
const INV_2_32 = 1 / 4294967296;

/**
 * A 32-bit seed from a number (its low 32 bits, after folding the high part) or a string (FNV-1a).
 * @example
 * seedToU32('foobar'); // 0xbf9cf968
 */
export function seedToU32(seed: number | string): number {
  if (typeof seed === 'number') {
    const hi = Math.floor(seed / 4294967296);
    return ((seed >>> 0) ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Mix a 32-bit value into a well-spread 32-bit hash (the murmur3 finaliser).
 * @example
 * const portBase = mix32(clientIndex ^ seed) % 28232;
 */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seeded generator. Every method advances the state; the sequence depends only on the seed.
 *
 * @example
 * const rng = new Rng(seedToU32('demo'));
 * const port = 1024 + rng.int(64512);
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    let z = seed >>> 0;
    const next = (): number => {
      z = (z + SPLITMIX_GAMMA) >>> 0;
      let x = z;
      x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
      x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
      return (x ^ (x >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    // An all-zero state would stay zero; splitmix32 cannot produce four zeros, but be explicit.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * A generator in the given raw state, to check the algorithm against its reference outputs.
   * @example
   * Rng.fromState(1, 2, 3, 4).u32(); // 11520, the reference xoshiro128** first output
   */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    const r = new Rng(0);
    r.s0 = s0 | 0;
    r.s1 = s1 | 0;
    r.s2 = s2 | 0;
    r.s3 = s3 | 0;
    return r;
  }

  /** Next unsigned 32-bit integer. */
  u32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() * INV_2_32;
  }

  /** Uniform integer in [0, n) for n up to 2^32. */
  int(n: number): number {
    return Math.floor(this.u32() * INV_2_32 * n);
  }

  /** Uniform integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.u32() * INV_2_32 * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() * INV_2_32 < p;
  }

  /** Exponentially distributed with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /**
   * Log-normal with the given median and shape (sigma of the underlying normal): the usual model
   * of object sizes and think times, a long right tail around a typical value. The normal
   * deviate comes from a table of 4096 quantiles (tails cut at about 3.7 sigma), a third of the
   * cost of Box-Muller's log, square root and cosine.
   */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * NORMAL_QUANTILES[this.u32() >>> 20]!);
  }
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Standard normal quantiles at (i + 0.5) / 4096, for `logNormal`. */
const NORMAL_QUANTILES = Float64Array.from({ length: 4096 }, (_, i) => normalQuantile((i + 0.5) / 4096));
