import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPipelineError } from '../../core/errors.ts';
import {
  type BatchFrame,
  encodePacketBatch,
  FRAME_TICK,
  forEachBatchFrame,
  PACKET_BATCH_END,
  readPacketBatchHeader,
} from './packet-batch.ts';

const frames: BatchFrame[] = [
  {
    tsSec: 1_700_000_000,
    tsNanos: 123_456_789,
    wirelen: 60,
    linkType: 1,
    kind: 0,
    lateUs: 0,
    frameNumber: 1,
    data: new Uint8Array([1, 2, 3]),
  },
  {
    tsSec: 1_700_000_001,
    tsNanos: 0,
    wirelen: 0,
    linkType: 0,
    kind: FRAME_TICK,
    lateUs: 0,
    frameNumber: 0,
    data: new Uint8Array(0),
  },
  {
    tsSec: 18_446_744_073_204,
    tsNanos: 999_999_999,
    wirelen: 9000,
    linkType: 65535,
    kind: 0,
    lateUs: 4_000_000_000,
    frameNumber: 4_000_000_001,
    data: new Uint8Array(9).fill(7),
  },
];

describe('packet batch', () => {
  it('round-trips frames, header fields and flags', () => {
    const bytes = encodePacketBatch(frames, {
      producer: [0xdeadbeef, 0x01020304],
      seq: 2 ** 40 + 3,
      flags: PACKET_BATCH_END,
    });
    assert.equal(bytes.byteLength % 4, 0);
    const h = readPacketBatchHeader(bytes);
    assert.deepEqual(h, { flags: 1, producer: '01020304deadbeef', seq: 2 ** 40 + 3, frames: 3 });
    const back: BatchFrame[] = [];
    const n = forEachBatchFrame(bytes, (f) => back.push({ ...f, data: f.data.slice() }));
    assert.equal(n, 3);
    assert.deepEqual(back, frames);
  });

  it('rejects foreign, future and cut bytes with a reason, after the good frames', () => {
    const bytes = encodePacketBatch(frames, { producer: [1, 2], seq: 1, flags: 0 });
    const reason = (b: Uint8Array): string => {
      try {
        forEachBatchFrame(b, () => {});
      } catch (e) {
        assert.ok(isPipelineError(e) && e.code === 'PCS_TRANSPORT');
        return e.message;
      }
      return 'accepted';
    };
    assert.match(reason(bytes.subarray(0, 10)), /shorter than its header/);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0;
    assert.match(reason(wrongMagic), /not a packet batch/);
    const future = bytes.slice();
    future[4] = 9;
    assert.match(reason(future), /version 9/);
    const zeroSeq = bytes.slice();
    new DataView(zeroSeq.buffer).setFloat64(16, 0, true);
    assert.match(reason(zeroSeq), /sequence/);
    let seen = 0;
    assert.throws(
      () =>
        forEachBatchFrame(bytes.subarray(0, bytes.byteLength - 8), () => {
          seen++;
        }),
      /runs past its end/,
    );
    assert.equal(seen, 2, 'frames before the damage were delivered');
    const lying = bytes.slice();
    new DataView(lying.buffer).setUint32(24, 4, true);
    assert.match(reason(lying), /ends inside frame 4/);
  });
});
