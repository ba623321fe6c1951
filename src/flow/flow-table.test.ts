import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketContext } from '../core/packet.ts';
import { FLOW_KEY_WORDS, FlowKeyBuilder, hashWords } from './flow-key.ts';
import { FlowTable } from './flow-table.ts';

function ctx4(src: number, sp: number, dst: number, dp: number, proto = 6): PacketContext {
  const p = new PacketContext();
  p.ipVersion = 4;
  p.src4 = src;
  p.dst4 = dst;
  p.srcPort = sp;
  p.dstPort = dp;
  p.protocol = proto;
  return p;
}

function ctx6(src: number[], sp: number, dst: number[], dp: number): PacketContext {
  const p = new PacketContext();
  p.ipVersion = 6;
  p.src6.set(src);
  p.dst6.set(dst);
  p.srcPort = sp;
  p.dstPort = dp;
  p.protocol = 17;
  return p;
}

describe('FlowKeyBuilder', () => {
  it('gives both directions of an IPv4 conversation one key and hash, and says which way', () => {
    const kb = new FlowKeyBuilder();
    assert.ok(kb.build(ctx4(0x0a000001, 40000, 0x0a000002, 443)));
    const a = Array.from(kb.key);
    const h = kb.hash;
    const fwd = kb.forward;
    assert.ok(kb.build(ctx4(0x0a000002, 443, 0x0a000001, 40000)));
    assert.deepEqual(Array.from(kb.key), a);
    assert.equal(kb.hash, h);
    assert.notEqual(kb.forward, fwd);
  });

  it('orders equal addresses by port, and IPv6 by address words', () => {
    const kb = new FlowKeyBuilder();
    kb.build(ctx4(7, 2000, 7, 1000));
    const a = Array.from(kb.key);
    kb.build(ctx4(7, 1000, 7, 2000));
    assert.deepEqual(Array.from(kb.key), a);
    kb.build(ctx6([0x20010db8, 0, 0, 2], 53, [0x20010db8, 0, 0, 1], 5353));
    const b = Array.from(kb.key);
    const hb = kb.hash;
    kb.build(ctx6([0x20010db8, 0, 0, 1], 5353, [0x20010db8, 0, 0, 2], 53));
    assert.deepEqual(Array.from(kb.key), b);
    assert.equal(kb.hash, hb);
    assert.equal(hashWords(kb.key), hb);
  });

  it('separates protocols and IP versions, and refuses packets without IP', () => {
    const kb = new FlowKeyBuilder();
    kb.build(ctx4(1, 1, 2, 2, 6));
    const tcp = Array.from(kb.key);
    kb.build(ctx4(1, 1, 2, 2, 17));
    assert.notDeepEqual(Array.from(kb.key), tcp);
    assert.equal(kb.build(new PacketContext()), false);
  });
});

describe('FlowTable', () => {
  it('returns a stable dense slot per key through growth', () => {
    const t = new FlowTable(16);
    const kb = new FlowKeyBuilder();
    const slots: number[] = [];
    for (let i = 0; i < 5000; i++) {
      kb.build(ctx4(0x0a000000 + i, 1000 + (i % 50), 0x08080808, 53, 17));
      slots.push(t.findOrInsert(kb.key, kb.hash));
    }
    assert.deepEqual(
      slots,
      Array.from({ length: 5000 }, (_, i) => i),
    );
    assert.equal(t.size, 5000);
    const out = new Uint32Array(FLOW_KEY_WORDS);
    for (let i = 0; i < 5000; i += 97) {
      kb.build(ctx4(0x08080808, 53, 0x0a000000 + i, 1000 + (i % 50), 17));
      assert.equal(t.findOrInsert(kb.key, kb.hash), i);
      t.keyOf(i, out);
      assert.deepEqual(out, kb.key);
    }
  });

  it('compares whole keys when hashes collide', () => {
    const t = new FlowTable(16);
    const a = Uint32Array.from([6, 1, 0, 0, 0, 2, 0, 0, 0, 99]);
    const b = Uint32Array.from([6, 1, 0, 0, 0, 3, 0, 0, 0, 99]);
    assert.equal(t.findOrInsert(a, 42), 0);
    assert.equal(t.findOrInsert(b, 42), 1);
    assert.equal(t.findOrInsert(a, 42), 0);
    assert.equal(t.findOrInsert(b, 42), 1);
  });

  it('refuses new keys at its cap and counts them, keeping known ones', () => {
    const t = new FlowTable(16, 100);
    const kb = new FlowKeyBuilder();
    for (let i = 0; i < 150; i++) {
      kb.build(ctx4(i, 1, 0xffffffff, 2));
      const s = t.findOrInsert(kb.key, kb.hash);
      assert.equal(s, i < 100 ? i : -1);
    }
    assert.equal(t.size, 100);
    assert.equal(t.refused, 50);
    kb.build(ctx4(5, 1, 0xffffffff, 2));
    assert.equal(t.findOrInsert(kb.key, kb.hash), 5);
  });
});

describe('FlowTable removal', () => {
  it('keeps every other key findable through random inserts and removals, and reuses slots', () => {
    const table = new FlowTable(16);
    const key = new Uint32Array(FLOW_KEY_WORDS);
    const live = new Map<number, number>();
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let round = 0; round < 20000; round++) {
      const k = next() % 3000;
      key[1] = k;
      // A weak hash on purpose: long probe runs exercise the backward shift.
      const h = k % 97;
      if (live.has(k) && next() % 2 === 0) {
        table.remove(live.get(k)!);
        live.delete(k);
      } else {
        const s = table.findOrInsert(key, h);
        if (live.has(k)) assert.equal(s, live.get(k));
        live.set(k, s);
      }
    }
    assert.equal(table.size, live.size);
    for (const [k, s] of live) {
      key[1] = k;
      assert.equal(table.findOrInsert(key, k % 97), s, `key ${k}`);
      assert.equal(table.keyWord(s, 1), k);
    }
    assert.equal(table.size, live.size);
    assert.ok(table.highWater <= 3000);
  });
});
