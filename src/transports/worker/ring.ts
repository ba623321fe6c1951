/**
 * The shared ring between the decode worker and the aggregating thread: `RING_SLOTS` batches of
 * up to `BATCH_RECORDS` packet records in one SharedArrayBuffer, plus a control block.
 *
 * Protocol (one producer, one consumer):
 * - The producer fills slot `published % RING_SLOTS`, writes its meta (record count, kind,
 *   input progress), then bumps `C_PUBLISHED` with `Atomics.store` and notifies it. The
 *   sequentially consistent store orders the plain writes before it for the consumer.
 * - The consumer reads the slot, copies its meta, then bumps `C_CONSUMED` and notifies it.
 * - Back-pressure: the producer blocks (`Atomics.wait`, it is a worker) while all slots are
 *   full; the consumer waits with `Atomics.waitAsync`, so its event loop keeps running.
 * - `C_STOP` set by the consumer makes the producer drop what follows and finish at once.
 * - `C_NAMES` counts interned names the producer announced on its message port before
 *   publishing the batch that first uses them (see `packet-record.ts`).
 */
import { RECORD_BYTES } from './packet-record.ts';

export const RING_SLOTS = 8;
export const BATCH_RECORDS = 2048;

export const C_PUBLISHED = 0;
export const C_CONSUMED = 1;
export const C_STOP = 2;
export const C_NAMES = 3;

/** Meta words (float64) per slot. */
export const META_WORDS = 4;
export const M_COUNT = 0;
export const M_KIND = 1;
export const M_BYTES_READ = 2;
export const M_SIZE = 3;

/** Slot kinds: records only; the last records of an input chunk; the last batch of the input. */
export const KIND_RECORDS = 0;
export const KIND_CHUNK_END = 1;
export const KIND_END = 2;

/** The buffers both sides view. Plain data: it crosses to the worker in `workerData`. */
export interface RingBuffers {
  control: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  records: SharedArrayBuffer;
}

/**
 * Allocate a ring.
 * @example
 * const ring = createRing(); new Worker(url, { workerData: { ring } });
 */
export function createRing(): RingBuffers {
  return {
    control: new SharedArrayBuffer(64),
    meta: new SharedArrayBuffer(RING_SLOTS * META_WORDS * 8),
    records: new SharedArrayBuffer(RING_SLOTS * BATCH_RECORDS * RECORD_BYTES),
  };
}
