/**
 * Open-addressing hash table of flow keys, stored in typed arrays (no object per flow).
 *
 * `findOrInsert` returns a slot number for the key; callers keep per-flow values in their own
 * typed arrays indexed by slot. Linear probing over a power-of-two index of hashes; on a hash
 * match the whole key is compared. The table grows by doubling until `maxFlows`, after which
 * new keys are refused (-1) and counted in `refused`: memory stays bounded.
 *
 * `remove` frees a slot for reuse (a LIFO free list, so a hot slot is reused while still in
 * cache) and closes the gap in the index by shifting later entries of the probe run back,
 * so lookups never meet tombstones. Without removals slots are dense, 0 .. size-1.
 */
import { FLOW_KEY_WORDS } from './flow-key.ts';

export const DEFAULT_MAX_FLOWS = 1 << 24;

export class FlowTable {
  /** Number of keys stored. */
  size = 0;
  /** One past the highest slot ever handed out: live slots are below it. */
  highWater = 0;
  /** Keys refused because the table was full. */
  refused = 0;
  /**
   * Keys beyond this many are refused. Writable so an owner can admit more keys for a while
   * (a restored flow engine holds every flow of its snapshot, then evicts down to its cap).
   */
  maxFlows: number;
  /**
   * Per slot, `stride` words: the key, then `extraWords` words the owner may use (kept in the
   * same cache line as the key, so a lookup also brings the owner's hottest state).
   */
  words: Uint32Array<ArrayBuffer>;
  /** The same memory as 64-bit floats (owner words at even offsets may hold a double). */
  words64: Float64Array<ArrayBuffer>;
  readonly stride: number;
  private hashes: Uint32Array;
  /**
   * Buckets of two words, slot + 1 (0 = empty) and the key's hash: a probe reads one cache
   * line here and touches the key words only on a hash match. (A separate hash array cost a
   * third memory access per packet: ~140 ns with 100k flows, half the probe.)
   */
  private index: Int32Array;
  private mask: number;
  private capacity: number;
  private free: Int32Array;
  private freeCount = 0;

  constructor(initialCapacity = 1 << 12, maxFlows = DEFAULT_MAX_FLOWS, extraWords = 0) {
    this.stride = FLOW_KEY_WORDS + extraWords;
    if (this.stride % 2 !== 0) this.stride++;
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.capacity = cap;
    this.maxFlows = maxFlows;
    this.words = new Uint32Array(cap * this.stride);
    this.words64 = new Float64Array(this.words.buffer);
    this.hashes = new Uint32Array(cap);
    this.index = new Int32Array(cap * 4);
    this.mask = cap * 2 - 1;
    this.free = new Int32Array(0);
  }

  /**
   * Touch every page of the index now. A table sized for its cap up front is a fixed cost;
   * faulting it in at start keeps RSS flat as flows arrive (the keys stay lazily mapped: they
   * fill slot by slot, low first).
   */
  prefault(): void {
    this.index.fill(0);
  }

  /** Slots that may be in use: grow per-slot arrays to at least this. */
  get slotCapacity(): number {
    return this.capacity;
  }

  /**
   * Slot of `key`, inserting it if new; -1 when the table is full.
   * @example
   * const slot = table.findOrInsert(kb.key, kb.hash); if (slot >= 0) packets[slot]++;
   */
  findOrInsert(key: Uint32Array, hash: number): number {
    const idx = this.index;
    const keys = this.words;
    const stride = this.stride;
    const h = hash | 0;
    let b = hash & this.mask;
    while (true) {
      const e = idx[b * 2]!;
      if (e === 0) break;
      const s = e - 1;
      if (idx[b * 2 + 1] === h) {
        const o = s * stride;
        let same = true;
        for (let i = 0; i < FLOW_KEY_WORDS; i++) {
          if (keys[o + i] !== key[i]) {
            same = false;
            break;
          }
        }
        if (same) return s;
      }
      b = (b + 1) & this.mask;
    }
    if (this.size >= this.maxFlows) {
      this.refused++;
      return -1;
    }
    let s: number;
    if (this.freeCount > 0) {
      s = this.free[--this.freeCount]!;
    } else {
      if (this.highWater === this.capacity) {
        this.grow();
        return this.findOrInsert(key, hash);
      }
      s = this.highWater++;
    }
    this.size++;
    keys.set(key, s * stride);
    this.hashes[s] = hash;
    idx[b * 2] = s + 1;
    idx[b * 2 + 1] = h;
    return s;
  }

  /**
   * Remove the key in `slot` (which must be live) and free the slot.
   * @example
   * table.remove(slot); // the slot number may come back from a later findOrInsert
   */
  remove(slot: number): void {
    const idx = this.index;
    const mask = this.mask;
    let b = this.hashes[slot]! & mask;
    while (idx[b * 2] !== slot + 1) b = (b + 1) & mask;
    // Backward-shift deletion: move each later entry of the run into the hole when its home
    // bucket does not lie between the hole and its current bucket.
    let j = b;
    while (true) {
      j = (j + 1) & mask;
      const e = idx[j * 2]!;
      if (e === 0) break;
      const home = this.hashes[e - 1]! & mask;
      if (((j - home) & mask) >= ((j - b) & mask)) {
        idx[b * 2] = e;
        idx[b * 2 + 1] = idx[j * 2 + 1]!;
        b = j;
      }
    }
    idx[b * 2] = 0;
    idx[b * 2 + 1] = 0;
    if (this.freeCount === this.free.length) {
      const f = new Int32Array(Math.max(64, this.free.length * 2));
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeCount++] = slot;
    this.size--;
  }

  /** The 32-bit hash stored for `slot`. */
  hashOf(slot: number): number {
    return this.hashes[slot]!;
  }

  /** Key word `i` of `slot`, without copying. */
  keyWord(slot: number, i: number): number {
    return this.words[slot * this.stride + i]!;
  }

  /** Copy the key of `slot` into `out`. */
  keyOf(slot: number, out: Uint32Array): void {
    const o = slot * this.stride;
    out.set(this.words.subarray(o, o + FLOW_KEY_WORDS));
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const keys = new Uint32Array(cap * this.stride);
    keys.set(this.words);
    const hashes = new Uint32Array(cap);
    hashes.set(this.hashes);
    const idx = new Int32Array(cap * 4);
    const mask = cap * 2 - 1;
    // Growth happens only with no free slot, so every slot below highWater is live.
    for (let s = 0; s < this.highWater; s++) {
      let b = hashes[s]! & mask;
      while (idx[b * 2] !== 0) b = (b + 1) & mask;
      idx[b * 2] = s + 1;
      idx[b * 2 + 1] = hashes[s]! | 0;
    }
    this.words = keys;
    this.words64 = new Float64Array(keys.buffer);
    this.hashes = hashes;
    this.index = idx;
    this.mask = mask;
    this.capacity = cap;
  }
}
