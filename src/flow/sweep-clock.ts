/**
 * The flow engine's clock rule, shared with the sensors that feed partitioned engines: the
 * clock is the newest packet time seen, and an expiry sweep runs when a packet moves it to or
 * past the next sweep time, then the next is one second later. A sensor that sees every packet
 * replays this rule to tell each partition's engine when one engine over the whole input would
 * sweep (see `transports/wire/packet-batch.ts`).
 */

/** Packet time between expiry sweeps. */
export const SWEEP_EVERY_US = 1_000_000;

/**
 * @example
 * const clock = new SweepClock();
 * if (clock.advance(tsUs)) sweep(tsUs); // then process the packet; clock.lateUs tells its lag
 */
export class SweepClock {
  /** Newest packet time seen (µs). */
  now = 0;
  /** Time at or after which the next packet triggers a sweep. */
  nextSweep = 0;
  /** How far the last packet lagged `now` before it (0 if it moved the clock). */
  lateUs = 0;

  /** Account a packet at `ts`; true when a sweep runs at `ts`, before the packet. */
  advance(ts: number): boolean {
    if (ts > this.now) {
      this.lateUs = 0;
      this.now = ts;
      if (ts >= this.nextSweep) {
        this.nextSweep = ts + SWEEP_EVERY_US;
        return true;
      }
      return false;
    }
    this.lateUs = this.now - ts;
    return false;
  }
}
