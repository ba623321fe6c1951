import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PacketContext } from '../../core/packet.ts';
import { CIC_FEATURES } from '../../flow/cic-features.ts';
import { FlowEngine } from '../../flow/flow-engine.ts';
import type { FlowRecord } from '../../flow/records.ts';
import { synthesize } from '../../synth/index.ts';
import { readDecoded } from '../worker/decode-pipeline.ts';
import { decodeFlowRecord, encodeFlowRecord } from './flow-record.ts';

/** What the wire format is defined as: JSON.stringify of the record, features as an array with non-finite values as text. */
function reference(rec: FlowRecord): string {
  const features = rec.features === null ? null : Array.from(rec.features, (x) => (Number.isFinite(x) ? x : String(x)));
  return JSON.stringify({ ...rec, features });
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('flow record wire format', () => {
  it('encodes engine records exactly as JSON.stringify, and decodes them back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-flow-wire-'));
    try {
      const file = path.join(dir, 'synth.pcap');
      await synthesize({ out: file, packets: 20_000, seed: 5, format: 'pcap' });
      const recs: FlowRecord[] = [];
      const engine = new FlowEngine({ partialEveryS: 0.2, onFlow: (r) => recs.push(r) });
      await readDecoded(file, new PacketContext(), (p) => engine.packet(p), { threads: 1 });
      engine.flushAll('end');
      assert.ok(recs.length > 1000);
      // Every message is kept until all are encoded, as a processor holds them until its checkpoint.
      const encoded = recs.map((r) => encodeFlowRecord(r));
      recs.forEach((r, i) => {
        assert.equal(text(encoded[i]!), reference(r));
        assert.deepEqual(decodeFlowRecord(encoded[i]!), r);
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps awkward numbers and text exact', () => {
    const features = new Float64Array(CIC_FEATURES.length);
    const odd = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      -1.5,
      1e21,
      2 ** 53 + 2,
      0.1 + 0.2,
      5e-324,
      -7,
      123456.789,
    ];
    odd.forEach((x, i) => {
      features[i] = x;
    });
    const rec: FlowRecord = {
      flow_id: 2 ** 40,
      flow_uid: '0123456789abcdef',
      community_id: '1:AbC+/=',
      first_seen_us: 1_700_000_000_123_456,
      last_seen_us: 1_700_000_000_123_457,
      duration_us: 1,
      ip_version: 6,
      protocol: 58,
      protocol_name: 'icmpv6',
      src_ip: 'fe80::1',
      src_port: 0,
      dest_ip: 'ff02::1',
      dest_port: 0,
      vlan_id: -1,
      tunnel_type: 'we"ird\\',
      fwd_packets: 1,
      bwd_packets: 0,
      fwd_bytes: 90,
      bwd_bytes: 0,
      fwd_payload_bytes: 0,
      bwd_payload_bytes: 0,
      fwd_tcp_flags: 0,
      bwd_tcp_flags: 0,
      end_reason: 'idle',
      partial: true,
      features,
    };
    assert.equal(text(encodeFlowRecord(rec)), reference(rec));
    assert.equal(text(encodeFlowRecord({ ...rec, features: null })), reference({ ...rec, features: null }));
    const back = decodeFlowRecord(encodeFlowRecord(rec));
    assert.ok(Number.isNaN(back.features![0]));
    assert.equal(back.features![1], Number.POSITIVE_INFINITY);
    assert.equal(back.features![7], 0.1 + 0.2);
    assert.equal(back.features![8], 5e-324);
  });
});
