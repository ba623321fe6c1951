/**
 * Seeded randomness for tests, so every failure reproduces from its seed.
 */

/** Deterministic PRNG (mulberry32): numbers in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Chunk sizes spread over 1 byte to several records, so chunk boundaries fall everywhere. */
export function randomChunkSizes(seed: number): () => number {
  const r = rng(seed);
  const scale = [1, 3, 17, 64, 700, 5000];
  return () => 1 + Math.floor(r() * scale[Math.floor(r() * scale.length)]!);
}
