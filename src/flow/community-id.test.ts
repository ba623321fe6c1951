import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { communityId } from './community-id.ts';

/** IPv4 text to the number `PacketContext.src4` holds. */
function v4(text: string): number {
  return text.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

/** IPv6 text to the four big-endian words `PacketContext.src6` holds. */
function v6(text: string): Uint32Array {
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  assert.equal(groups.length, 8, text);
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = groups[2 * i]! * 0x10000 + groups[2 * i + 1]!;
  return w;
}

function addr(text: string): number | Uint32Array {
  return text.includes(':') ? v6(text) : v4(text);
}

function cid(src: string, dst: string, proto: number, sp: number | null, dp: number | null, seed = 0): string {
  const s = addr(src);
  const d = addr(dst);
  return communityId(typeof s === 'number' ? 4 : 6, s, d, proto, sp ?? 0, dp ?? 0, seed);
}

/** Digest as hex, for the spec's "no base64" table. */
function hex(id: string): string {
  return '1:' + Buffer.from(id.slice(2), 'base64').toString('hex');
}

const A6 = 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D';
const B6 = 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D';

// The spec's baseline tables (community-id-spec, baseline/README.md): protocol, source,
// destination, ports (type/code for ICMP; none for RSVP), then the ID with seed 0, with seed 1,
// and the seed-0 digest in hex.
// biome-ignore format: one vector per line reads like the published table
const BASELINE: [number, string, string, number | null, number | null, string, string, string][] = [
  [6, '1.2.3.4', '5.6.7.8', 1122, 3344, 'wCb3OG7yAFWelaUydu0D+125CLM=', 'HhA1B+6CoLbiKPEs5nhNYN4XWfk=', 'c026f7386ef200559e95a53276ed03fb5db908b3'],
  [6, '5.6.7.8', '1.2.3.4', 3344, 1122, 'wCb3OG7yAFWelaUydu0D+125CLM=', 'HhA1B+6CoLbiKPEs5nhNYN4XWfk=', 'c026f7386ef200559e95a53276ed03fb5db908b3'],
  [17, '1.2.3.4', '5.6.7.8', 1122, 3344, '0Mu9InQx6z4ZiCZM/7HXi2WMhOg=', 'OShq+iKDAMVouh/4bMxB9Sz4amw=', 'd0cbbd227431eb3e1988264cffb1d78b658c84e8'],
  [17, '5.6.7.8', '1.2.3.4', 3344, 1122, '0Mu9InQx6z4ZiCZM/7HXi2WMhOg=', 'OShq+iKDAMVouh/4bMxB9Sz4amw=', 'd0cbbd227431eb3e1988264cffb1d78b658c84e8'],
  [132, '1.2.3.4', '5.6.7.8', 1122, 3344, 'EKt4MsxuyaE6mL+hmrEkQ9csDD8=', 'uitchpn5MMGAQKBJh7bIr/bAr7s=', '10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f'],
  [132, '5.6.7.8', '1.2.3.4', 3344, 1122, 'EKt4MsxuyaE6mL+hmrEkQ9csDD8=', 'uitchpn5MMGAQKBJh7bIr/bAr7s=', '10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f'],
  [1, '1.2.3.4', '5.6.7.8', 8, 0, 'crodRHL2FEsHjbv3UkRrfbs4bZ0=', '9pr4ZGTICiuZoIh90RRYE2RyXpU=', '72ba1d4472f6144b078dbbf752446b7dbb386d9d'],
  [1, '5.6.7.8', '1.2.3.4', 0, 0, 'crodRHL2FEsHjbv3UkRrfbs4bZ0=', '9pr4ZGTICiuZoIh90RRYE2RyXpU=', '72ba1d4472f6144b078dbbf752446b7dbb386d9d'],
  [1, '1.2.3.4', '5.6.7.8', 11, 0, 'f/YiSyWqczrTgfUCZlBUnvHRcPk=', '1DD7cWGC/Yg91YGsQeni8du3pIA=', '7ff6224b25aa733ad381f5026650549ef1d170f9'],
  [58, A6, B6, 128, 0, '0bf7hyMJUwt3fMED7z8LIfRpBeo=', 'IO27GQzPuCtNnwFvjWALMHu5tJE=', 'd1b7fb872309530b777cc103ef3f0b21f46905ea'],
  [58, B6, A6, 129, 0, '0bf7hyMJUwt3fMED7z8LIfRpBeo=', 'IO27GQzPuCtNnwFvjWALMHu5tJE=', 'd1b7fb872309530b777cc103ef3f0b21f46905ea'],
  [58, A6, B6, 146, 0, 'fYC8+pz24E+EhANP1EZhpX0Dw10=', 'Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=', '7d80bcfa9cf6e04f8484034fd44661a57d03c35d'],
  [46, '1.2.3.4', '5.6.7.8', null, null, 'ikv3kmf89luf73WPz1jOs49S768=', '/buhqeOmaRCopOZFy9HnoJd5XW8=', '8a4bf79267fcf65b9fef758fcf58ceb38f52efaf'],
  [46, '5.6.7.8', '1.2.3.4', null, null, 'ikv3kmf89luf73WPz1jOs49S768=', '/buhqeOmaRCopOZFy9HnoJd5XW8=', '8a4bf79267fcf65b9fef758fcf58ceb38f52efaf'],
  [46, A6, B6, null, null, 'wQ/2mwrnXP4lmJcHdGL5ePjR+e0=', 'j6EyyfBzL4vWKHFXgUqb5Az3OxM=', 'c10ff69b0ae75cfe259897077462f978f8d1f9ed'],
  [46, B6, A6, null, null, 'wQ/2mwrnXP4lmJcHdGL5ePjR+e0=', 'j6EyyfBzL4vWKHFXgUqb5Az3OxM=', 'c10ff69b0ae75cfe259897077462f978f8d1f9ed'],
];

// The reference implementation's unit tests (pycommunityid, tests/communityid_test.py):
// source, destination, ports or type/code, then the ID with seed 0 and with seed 1.
// biome-ignore format: one vector per line reads like the published table
const REFERENCE: [number, string, string, number | null, number | null, string, string][] = [
  [1, '192.168.0.89', '192.168.0.1', 8, 0, 'X0snYXpgwiv9TZtqg64sgzUn6Dk=', '03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, 'X0snYXpgwiv9TZtqg64sgzUn6Dk=', '03g6IloqVBdcZlPyX8r0hgoE7kA='],
  // Type 20 is one-way, so its code is hashed: codes 0 and 1 differ.
  [1, '192.168.0.89', '192.168.0.1', 20, 0, '3o2RFccXzUgjl7zDpqmY7yJi8rI=', 'lCXHHxavE1Vq3oX9NH5ladQg02o='],
  [1, '192.168.0.89', '192.168.0.1', 20, 1, 'tz/fHIDUHs19NkixVVoOZywde+I=', 'Ie3wmFyxiEyikbsbcO03d2nh+PM='],
  // An echo reply's code is ignored: this is the first flow again.
  [1, '192.168.0.1', '192.168.0.89', 0, 20, 'X0snYXpgwiv9TZtqg64sgzUn6Dk=', '03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 0, 'dGHyGvjMfljg6Bppwm3bg0LO8TY=', 'kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 0, 'dGHyGvjMfljg6Bppwm3bg0LO8TY=', 'kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  // One-way ICMPv6 (destination unreachable) keeps its direction: the two directions differ.
  [58, '3ffe:507:0:1:260:97ff:fe07:69ea', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, 'NdobDX8PQNJbAyfkWxhtL2Pqp5w=', 'OlOWx9psIbBFi7lOCw/4MhlKR9M='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:507:0:1:260:97ff:fe07:69ea', 3, 0, '/OGBt9BN1ofenrmSPWYicpij2Vc=', 'Ij4ZxnC87/MXzhOjvH2vHu7LRmE='],
  [132, '192.168.170.8', '192.168.170.56', 7, 80, 'jQgCxbku+pNGw8WPbEc/TS/uTpQ=', 'Y1/0jQg6e+I3ZwZZ9LP65DNbTXU='],
  [132, '192.168.170.56', '192.168.170.8', 80, 7, 'jQgCxbku+pNGw8WPbEc/TS/uTpQ=', 'Y1/0jQg6e+I3ZwZZ9LP65DNbTXU='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, 'LQU9qZlK+B5F3KDmev6m5PMibrg=', '3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, 'LQU9qZlK+B5F3KDmev6m5PMibrg=', '3V71V58M3Ksw/yuFALMcW0LAHvc='],
  // Equal-looking ports in the other byte order (10 = 0x000a, 11569 = 0x2d31): the reference's
  // regression vector for ordering ports as big-endian values.
  [6, '10.0.0.1', '10.0.0.2', 10, 11569, 'SXBGMX1lBOwhhoDrZynfROxnhnM=', 'HmBRGR+fUyXF4t8WEtal7Y0gEAo='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, 'd/FP5EW3wiY1vCndhwleRRKHowQ=', 'Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, 'd/FP5EW3wiY1vCndhwleRRKHowQ=', 'Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [46, '10.1.24.4', '10.1.12.1', null, null, '/nQI4Rh/TtY3mf0R2gJFBkVlgS4=', 'BK3BVW3U2eemuwVQVN3zd/GULno='],
  [46, '10.1.12.1', '10.1.24.4', null, null, '/nQI4Rh/TtY3mf0R2gJFBkVlgS4=', 'BK3BVW3U2eemuwVQVN3zd/GULno='],
];

// The spec's per-packet baseline over its sample captures (baseline/baseline_deflt.json), seed 0.
// For ICMP the JSON lists the port equivalents; for request/reply types the second one is the
// counterpart type, which stands where the code would, and the code is ignored, so both work.
// biome-ignore format: one vector per line reads like the published table
const PACKETS: [number, string, string, number | null, number | null, string][] = [
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, 'dGHyGvjMfljg6Bppwm3bg0LO8TY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 135, 'dGHyGvjMfljg6Bppwm3bg0LO8TY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, 'zavyT/cezQr1fmImYCwYnMXbgck='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 136, 135, 'zavyT/cezQr1fmImYCwYnMXbgck='],
  [58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '2ObVBgIn28oZvibYZhZMBgh7WdQ='],
  [58, '3ffe:501:410:0:2c0:dfff:fe47:33e', '3ffe:507:0:1:200:86ff:fe05:80da', 1, 4, 'hLZd0XGWojozrvxqE0dWB1iM6R0='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 128, 129, '+TW+HtLHvV1xnGhV1lv7XoJrqQg='],
  [58, '3ffe:501:0:1001::2', '3ffe:507:0:1:200:86ff:fe05:80da', 129, 128, '+TW+HtLHvV1xnGhV1lv7XoJrqQg='],
  [58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, 'hO+sN4H+MG5MY/8hIrXPqc4ZQz0='],
  [58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, 'pkvHqCL88/tg1k4cPigmZXUtL00='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, 'X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, 'X0snYXpgwiv9TZtqg64sgzUn6Dk='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, 'YHxtAirCG//0OzkcVAukqKQN9xM='],
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '/qFaeAR+gFe1KYjMzVDsMv+wgU4='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, 'MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, 'MP2EtRCAUIZvTw6MxJHLV7N7JDs='],
  [46, '10.1.12.1', '10.1.12.2', null, null, 'KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
  [46, '10.1.12.2', '10.1.12.1', null, null, 'KHlLkgoJW7ifUTyTSgyVfkFHzKw='],
];

describe('communityId', () => {
  it('matches the spec baseline tables with seed 0, seed 1 and as hex', () => {
    for (const [proto, src, dst, sp, dp, id0, id1, digest] of BASELINE) {
      const label = `${proto} ${src} ${sp} -> ${dst} ${dp}`;
      const got = cid(src, dst, proto, sp, dp);
      assert.equal(got, '1:' + id0, label);
      assert.equal(cid(src, dst, proto, sp, dp, 1), '1:' + id1, label + ' seed 1');
      assert.equal(hex(got), '1:' + digest, label + ' hex');
    }
  });

  it("matches the reference implementation's test vectors with seeds 0 and 1", () => {
    for (const [proto, src, dst, sp, dp, id0, id1] of REFERENCE) {
      const label = `${proto} ${src} ${sp} -> ${dst} ${dp}`;
      assert.equal(cid(src, dst, proto, sp, dp), '1:' + id0, label);
      assert.equal(cid(src, dst, proto, sp, dp, 1), '1:' + id1, label + ' seed 1');
    }
  });

  it("matches the spec's per-packet baseline", () => {
    for (const [proto, src, dst, sp, dp, id] of PACKETS) {
      assert.equal(cid(src, dst, proto, sp, dp), '1:' + id, `${proto} ${src} ${sp} -> ${dst} ${dp}`);
    }
  });

  it('gives both directions of TCP, UDP and SCTP flows the same ID, and different tuples different IDs', () => {
    let x = 0x2545f491;
    const rnd = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const proto = [6, 17, 132][i % 3]!;
      const sp = rnd() & 0xffff;
      const dp = rnd() & 0xffff;
      if (i % 2 === 0) {
        // Same address on both sides in every tenth pair, so the ports decide the order.
        const s = rnd();
        const d = i % 10 === 0 ? s : rnd();
        const fwd = communityId(4, s, d, proto, sp, dp);
        assert.equal(communityId(4, d, s, proto, dp, sp), fwd);
        seen.add(fwd);
      } else {
        const s = Uint32Array.of(rnd(), rnd(), rnd(), rnd());
        const d = i % 10 === 1 ? s.slice() : Uint32Array.of(rnd(), rnd(), rnd(), rnd());
        const fwd = communityId(6, s, d, proto, sp, dp);
        assert.equal(communityId(6, d, s, proto, dp, sp), fwd);
        seen.add(fwd);
      }
    }
    assert.equal(seen.size, 300);
  });

  it('orders IPv4 addresses as unsigned numbers, whatever the sign of the value passed', () => {
    const high = v4('200.1.1.1');
    assert.equal(
      communityId(4, high | 0, v4('10.0.0.1'), 6, 80, 1234),
      communityId(4, high, v4('10.0.0.1'), 6, 80, 1234),
    );
    assert.equal(cid('200.1.1.1', '10.0.0.1', 6, 80, 1234), cid('10.0.0.1', '200.1.1.1', 6, 1234, 80));
  });

  it('pairs every ICMP and ICMPv6 request with its reply, and keeps one-way messages directional', () => {
    const v4pairs = [
      [8, 0],
      [13, 14],
      [15, 16],
      [10, 9],
      [17, 18],
    ];
    for (const [req, rep] of v4pairs) {
      assert.equal(cid('10.0.0.9', '10.0.0.1', 1, req!, 0), cid('10.0.0.1', '10.0.0.9', 1, rep!, 0), `icmp ${req}`);
    }
    const v6pairs = [
      [128, 129],
      [130, 131],
      [133, 134],
      [135, 136],
      [139, 140],
      [144, 145],
    ];
    for (const [req, rep] of v6pairs) {
      assert.equal(cid('2001:db8::9', '2001:db8::1', 58, req!, 0), cid('2001:db8::1', '2001:db8::9', 58, rep!, 0));
    }
    // Destination unreachable, time exceeded, packet too big: no counterpart, so no reordering,
    // and the code is part of the tuple.
    assert.notEqual(cid('10.0.0.9', '10.0.0.1', 1, 3, 3), cid('10.0.0.1', '10.0.0.9', 1, 3, 3));
    assert.notEqual(cid('10.0.0.9', '10.0.0.1', 1, 3, 3), cid('10.0.0.9', '10.0.0.1', 1, 3, 1));
    assert.notEqual(cid('2001:db8::9', '2001:db8::1', 58, 2, 0), cid('2001:db8::1', '2001:db8::9', 58, 2, 0));
    // The tables are per protocol: 128 is echo request only for ICMPv6.
    assert.notEqual(cid('10.0.0.9', '10.0.0.1', 1, 128, 0), cid('10.0.0.1', '10.0.0.9', 1, 129, 0));
    // A "type" beyond 8 bits has no counterpart rather than aliasing a real one (264 & 0xff = 8).
    assert.notEqual(cid('10.0.0.9', '10.0.0.1', 1, 264, 0), cid('10.0.0.9', '10.0.0.1', 1, 8, 0));
  });

  it('ignores port arguments for protocols without ports', () => {
    assert.equal(cid('1.2.3.4', '5.6.7.8', 46, 1, 2), cid('1.2.3.4', '5.6.7.8', 46, null, null));
    assert.equal(cid('1.2.3.4', '5.6.7.8', 47, 99, 0), cid('5.6.7.8', '1.2.3.4', 47, 0, 99));
    assert.equal(cid(A6, B6, 46, 7, 7), '1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=');
  });

  it('does not leak one call into the next through its scratch buffer', () => {
    const v6id = cid(A6, B6, 6, 1, 2);
    const v4id = cid('1.2.3.4', '5.6.7.8', 6, 1122, 3344);
    assert.equal(v4id, '1:wCb3OG7yAFWelaUydu0D+125CLM=');
    assert.equal(cid(A6, B6, 6, 1, 2), v6id);
    assert.equal(cid('1.2.3.4', '5.6.7.8', 46, null, null, 0), '1:ikv3kmf89luf73WPz1jOs49S768=');
  });

  it('rejects a seed outside 16 bits and addresses that do not fit the IP version', () => {
    for (const seed of [-1, 65536, 1.5, Number.NaN]) {
      assert.throws(() => communityId(4, 1, 2, 6, 1, 2, seed), RangeError, String(seed));
    }
    assert.equal(communityId(4, v4('1.2.3.4'), v4('5.6.7.8'), 6, 1122, 3344, 65535).length, 30);
    assert.throws(() => communityId(4, new Uint32Array(4), 2, 6, 1, 2), TypeError);
    assert.throws(() => communityId(6, 1, 2, 6, 1, 2), TypeError);
    assert.throws(() => communityId(6, new Uint32Array(2), new Uint32Array(4), 6, 1, 2), TypeError);
    assert.throws(() => communityId(5 as 4, 1, 2, 6, 1, 2), TypeError);
  });
});
