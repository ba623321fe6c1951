import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapFrames, tsharkRows } from '../../test/helpers/corpus.ts';
import { anomalyCodes as anomalies } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_TCP, LAYER_TLS, layerBit } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { decodeFrame } from './dispatch.ts';
import { decodeTLS } from './tls.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function decodeHex(h: string): PacketContext {
  const f = new Frame();
  f.buf = hex(h);
  f.caplen = f.buf.length;
  f.wirelen = f.buf.length;
  f.linkType = 1;
  const p = new PacketContext();
  decodeFrame(p, f);
  return p;
}

/** Run decodeTLS alone on a TCP payload. */
function tls(bytes: Uint8Array, truncated = false, p = new PacketContext()): PacketContext {
  p.reset(bytes);
  p.truncated = truncated;
  p.layers |= layerBit(LAYER_TCP);
  assert.equal(decodeTLS(p, bytes, 0, bytes.length), -1);
  return p;
}

/** Every frame of a corpus capture: TLS layer present, SNI and anomalies. */
function decodeFile(file: string): { tls: boolean; sni: string; anomalies: string[]; payload: Uint8Array | null }[] {
  return mapFrames(file, (p) => {
    const t = p.has(LAYER_TLS);
    return {
      tls: t,
      sni: t ? p.tlsSni : '',
      anomalies: anomalies(p),
      payload: t ? p.buf.slice(p.payloadOff, p.payloadOff + p.payloadLen) : null,
    };
  });
}

// 22:30:40.232136 IP 10.0.0.4.60830 > 173.194.112.80.443: Flags [P.], seq 655603243:655603431,
//   ack 2164293269, win 16660, length 188   (ppp__tls_client_hello_sni.pcap)
const SNI_FRAME =
  '30469a23fbfa6cf049b2de6e0800450000e4308a40008006a1730a000004adc27050ed9e01bb2713b62b81007e955018' +
  '4114edce000016030100b7010000b303033e7b4a3efdf77a8878eb8c7d4033e053580eb00eb78f688a1871a8e562f2f7' +
  'f5000016c02bc02fc00ac009c013c01400330039002f0035000a0100007400000013001100000e7777772e676f6f676c' +
  '652e636f6dff01000100000a00080006001700180019000b00020100002300003374000000100017001502683208737064' +
  '792f332e3108687474702f312e31000500050100000000000d001600140401050106010201040305030603020304020202';
/** Its TCP payload: record header at 0, ClientHello at 5, the host name at 81..95. */
const HELLO = hex(SNI_FRAME).subarray(54);
const SNI_START = 81;
const SNI_END = 95;

describe('decodeTLS: corpus fixtures', () => {
  it('ClientHello with server_name (ppp__tls_client_hello_sni.pcap)', () => {
    const p = decodeHex(SNI_FRAME);
    assert.ok(p.has(LAYER_TLS));
    assert.deepEqual(anomalies(p), []);
    // tshark: tls.handshake.extensions_server_name www.google.com
    assert.equal(p.tlsSni, 'www.google.com');
    assert.equal(p.payloadLen, 188);
    assert.equal(Buffer.from(HELLO.subarray(SNI_START, SNI_END)).toString('latin1'), 'www.google.com');
  });

  it('server_name extension of length 1 (ppp__tls_malformed.pcap)', () => {
    // 21:37:36.930270 IP 192.168.67.198.40327 > 12.145.177.202.443: Flags [P.], seq
    //   1909955685:1909955870, ack 1634237501, win 14600, length 185
    // tshark: "No more room for vector of length 2", Malformed Packet
    const p = decodeHex(
      '30f70d4883a2f04f7c6be7070800450000e12bc0400040064b8dc0a843c60c91b1ca9d8701bb71d79c6561687c3d5018' +
        '39085829000016030100b4010000b0030251a91820c5e11bd04287eb7311ab99d9bc3563a2d47e3e60f68e8855938a5f' +
        '11000044c014c00ac022c02100390038c00fc0050035c012c008c01cc01b00160013c00dc003000ac013c009c01fc01e' +
        '00330032c00ec004002fc011c007c00cc0020005000400ff0100004300000001010000fffcfc6562352e736563757265' +
        '696e7465726e657462616e6b2e636f6d000b00020100000a0008000600190018001700230000000f00010133740000',
    );
    assert.ok(p.has(LAYER_TLS));
    assert.equal(p.tlsSni, '');
    assert.deepEqual(anomalies(p), ['tls.len_invalid']);
  });

  it('TLS 1.3 hellos over IPv4 and IPv6 (ppp__tls13_v4_v6.pcap)', () => {
    const frames = decodeFile('ppp__tls13_v4_v6.pcap');
    // tshark: #1 ClientHello dogfish, #2 ServerHello, #3 ClientHello www.google.com (IPv6), #4 ServerHello
    assert.deepEqual(
      frames.map((f) => [f.tls, f.sni]),
      [
        [true, 'dogfish'],
        [true, ''],
        [true, 'www.google.com'],
        [true, ''],
      ],
    );
  });

  it('ClientHello with GREASE extensions (ppp__tls_client_hello_grease.pcap)', () => {
    const [f] = decodeFile('ppp__tls_client_hello_grease.pcap');
    assert.deepEqual([f!.tls, f!.sni, f!.anomalies], [true, 'secure.adnxs.com', []]);
  });

  it('ClientHello without server_name (zeek__tls12_session.pcap #4)', () => {
    const frames = decodeFile('zeek__tls12_session.pcap');
    assert.deepEqual([frames[3]!.tls, frames[3]!.sni, frames[3]!.anomalies], [true, '', []]);
    // The SYN, SYN-ACK and bare ACKs carry no payload: no TLS.
    assert.equal(frames[0]!.tls, false);
  });
});

/** A ClientHello record built from its parts, lengths filled in. */
function hello(parts: { sid?: number[]; suites?: number[]; exts?: number[] | null; version?: number }): number[] {
  const suites = parts.suites ?? [0x13, 0x01];
  const body = [
    0x03,
    0x03,
    ...new Array<number>(32).fill(7),
    (parts.sid ?? []).length,
    ...(parts.sid ?? []),
    suites.length >> 8,
    suites.length & 255,
    ...suites,
    1,
    0,
  ];
  if (parts.exts !== null && parts.exts !== undefined)
    body.push(parts.exts.length >> 8, parts.exts.length & 255, ...parts.exts);
  const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
  return [22, 3, parts.version ?? 1, hs.length >> 8, hs.length & 255, ...hs];
}
const ext = (type: number, data: number[]): number[] => [
  type >> 8,
  type & 255,
  data.length >> 8,
  data.length & 255,
  ...data,
];
const sniExt = (...entries: [number, string][]): number[] => {
  const list = entries.flatMap(([t, n]) => [
    t,
    n.length >> 8,
    n.length & 255,
    ...Array.from(n, (c) => c.charCodeAt(0)),
  ]);
  return ext(0, [list.length >> 8, list.length & 255, ...list]);
};

describe('decodeTLS: crafted input', () => {
  it('reads the first host_name entry after other extensions and entry types', () => {
    const m = Uint8Array.from(
      hello({ exts: [...ext(0x0a0a, []), ...ext(10, [0, 2, 0, 29]), ...sniExt([7, 'x'], [0, 'host.example'])] }),
    );
    const p = tls(m);
    assert.deepEqual(anomalies(p), []);
    assert.equal(p.tlsSni, 'host.example');
  });

  it('shows the name as ASCII, other bytes as U+FFFD (tshark: ww\\x01.\\ufffd\\ufffdogle.com)', () => {
    const m = Uint8Array.from(hello({ exts: sniExt([0, 'ww\x01.\xc3\xa9ogle.com']) }));
    assert.equal(tls(m).tlsSni, 'ww\x01.\ufffd\ufffdogle.com');
  });

  it('a hello without extensions has no SNI and no anomaly', () => {
    const p = tls(Uint8Array.from(hello({ exts: null })));
    assert.ok(p.has(LAYER_TLS));
    assert.deepEqual([p.tlsSni, anomalies(p)], ['', []]);
  });

  it('recognises record headers, not other bytes', () => {
    const cases: [string, number[], boolean][] = [
      ['application data, TLS 1.2', [23, 3, 3, 0, 5, 1, 2, 3, 4, 5], true],
      ['change cipher spec, SSL 3.0', [20, 3, 0, 0, 1, 1], true],
      ['alert', [21, 3, 3, 0, 2, 2, 40], true],
      ['content type 25', [25, 3, 3, 0, 1, 0], false],
      ['content type 19', [19, 3, 3, 0, 1, 0], false],
      ['version 3.5', [22, 3, 5, 0, 1, 0], false],
      ['version 2.0', [22, 2, 0, 0, 1, 0], false],
      ['record longer than TLS allows', [23, 3, 3, 0x48, 0x01, 0], false],
      ['HTTP', Array.from('GET / HTTP/1.1\r\n', (c) => c.charCodeAt(0)), false],
      ['four bytes', [22, 3, 1, 0], false],
    ];
    for (const [what, bytes, isTLS] of cases) {
      const p = tls(Uint8Array.from(bytes));
      assert.equal(p.has(LAYER_TLS), isTLS, what);
      assert.deepEqual(anomalies(p), [], what);
    }
  });

  it('a handshake other than ClientHello sets the layer only', () => {
    const m = Uint8Array.from(hello({ exts: sniExt([0, 'a']) }));
    m[5] = 2; // ServerHello
    const p = tls(m);
    assert.ok(p.has(LAYER_TLS));
    assert.deepEqual([p.tlsSni, anomalies(p)], ['', []]);
  });

  it('every prefix of a real hello: tls.truncated when the capture cut it before the name', () => {
    for (let n = 1; n < HELLO.length; n++) {
      const p = tls(HELLO.subarray(0, n), true);
      assert.equal(p.has(LAYER_TLS), n >= 5, `prefix ${n}`);
      if (n < SNI_END) {
        assert.deepEqual(anomalies(p), ['tls.truncated'], `prefix ${n}`);
        assert.equal(p.tlsSni, '', `prefix ${n}`);
      } else {
        assert.deepEqual(anomalies(p), [], `prefix ${n}`);
        assert.equal(p.tlsSni, 'www.google.com', `prefix ${n}`);
      }
    }
  });

  it('every prefix of a real hello without capture truncation: a later segment holds the rest', () => {
    for (let n = 1; n < HELLO.length; n++) {
      const p = tls(HELLO.subarray(0, n), false);
      assert.deepEqual(anomalies(p), [], `prefix ${n}`);
      assert.equal(p.tlsSni, n < SNI_END ? '' : 'www.google.com', `prefix ${n}`);
    }
  });

  it('a hello split over two records is read as far as the first record goes, without an anomaly', () => {
    const m = HELLO.slice();
    m[4] = 60; // record length 60: the hello goes on in a second record
    const p = tls(m);
    assert.deepEqual([p.tlsSni, anomalies(p)], ['', []]);
  });

  // Length fields that run past the structure holding them. Offsets in HELLO: handshake length
  // 6..8, session id length 43, cipher suites length 44..45, compression length 68, extensions
  // length 70..71, server_name extension length 74..75, list length 76..77, name length 79..80.
  const overflow: [string, number, number[]][] = [
    ['handshake too short for version and random', 6, [0, 0, 20]],
    ['session id past the handshake', 43, [0xb0]],
    ['cipher suites past the handshake', 44, [0x00, 0xb0]],
    ['compression methods past the handshake', 68, [0xff]],
    ['extensions past the handshake', 70, [0x00, 0x75]],
    ['extension past the extensions', 74, [0x00, 0x72]],
    ['server_name list past its extension', 76, [0x00, 0x12]],
    ['host name past the list', 79, [0x00, 0x10]],
    ['server_name extension of one byte', 74, [0x00, 0x01]],
  ];
  for (const [what, at, bytes] of overflow) {
    it(`tls.len_invalid: ${what}`, () => {
      const m = HELLO.slice();
      m.set(bytes, at);
      const p = tls(m);
      assert.ok(p.has(LAYER_TLS));
      assert.equal(p.tlsSni, '');
      assert.deepEqual(anomalies(p), ['tls.len_invalid']);
    });
  }

  it('a partial extension header at the end of the extensions is invalid', () => {
    const m = Uint8Array.from(hello({ exts: [...ext(10, [0, 2, 0, 29]), 0, 0] }));
    assert.deepEqual(anomalies(tls(m)), ['tls.len_invalid']);
  });
});

describe('TLS SNI agrees with tshark over corpus captures', () => {
  function tshark(file: string): { sni: string; protocols: string; resent: boolean; ipVersion: string }[] {
    return tsharkRows(file, [
      'tls.handshake.extensions_server_name',
      'frame.protocols',
      'tcp.analysis.retransmission',
      'tcp.analysis.out_of_order',
      'ip.version',
    ]).map((cols) => {
      const [sni, protocols, retr, ooo, ipv] = cols;
      return {
        sni: sni!.split('\x1f')[0]!,
        protocols: protocols!,
        resent: retr !== '' || ooo !== '',
        ipVersion: ipv!.split('\x1f')[0]!,
      };
    });
  }

  // [file, frames with an SNI over IPv4, over IPv6]
  const files: [string, number, number][] = [
    ['ppp__LARGE_tls_v4_v6.pcap', 195, 128],
    ['ppp__tls_client_hello_sni.pcap', 1, 0],
    ['ppp__tls_client_hello_grease.pcap', 1, 0],
    ['ppp__tls13_v4_v6.pcap', 1, 1],
    ['zeek__tls12_session.pcap', 0, 0],
    ['ppp__tls_malformed.pcap', 0, 0],
  ];
  for (const [file, v4, v6] of files) {
    it(file, () => {
      const ours = decodeFile(file);
      const theirs = tshark(file);
      assert.equal(ours.length, theirs.length);
      const count: Record<string, number> = { '4': 0, '6': 0 };
      for (let i = 0; i < ours.length; i++) {
        const o = ours[i]!;
        const t = theirs[i]!;
        assert.equal(o.sni, t.sni, `${file} #${i + 1}: SNI`);
        if (t.sni !== '') count[t.ipVersion] = (count[t.ipVersion] ?? 0) + 1;
        // A record header we recognise is TLS to tshark too, except in segments tshark does not
        // dissect (retransmitted or out of order).
        if (o.tls && !t.resent) assert.match(t.protocols, /:tls/, `${file} #${i + 1}: TLS`);
        for (const a of o.anomalies) assert.ok(isKnownAnomaly(a), a);
      }
      assert.deepEqual([count['4'], count['6']], [v4, v6]);
    });
  }
});

describe('decodeTLS: arbitrary bytes', () => {
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const seen = new Set<string>();

  /** Decode alone and followed by junk: same result, so nothing past the end was read. */
  function check(p: PacketContext, m: Uint8Array, truncated: boolean, junk: Uint8Array): void {
    tls(m, truncated, p);
    const alone = JSON.stringify([p.layers, p.tlsSni, anomalies(p)]);
    for (const a of anomalies(p)) {
      assert.ok(isKnownAnomaly(a), a);
      seen.add(a);
    }
    const padded = new Uint8Array(m.length + junk.length);
    padded.set(m);
    padded.set(junk, m.length);
    p.reset(padded);
    p.truncated = truncated;
    p.layers |= layerBit(LAYER_TCP);
    decodeTLS(p, padded, 0, m.length);
    assert.equal(JSON.stringify([p.layers, p.tlsSni, anomalies(p)]), alone);
  }

  it('20,000 random byte strings and mutated real hellos never throw nor read past the end', () => {
    const real = decodeFile('ppp__LARGE_tls_v4_v6.pcap')
      .filter((f) => f.sni !== '')
      .map((f) => f.payload!);
    assert.ok(real.length > 300);
    const rand = rng(3);
    const p = new PacketContext();
    const junk = new Uint8Array(32);
    for (let n = 0; n < 20000; n++) {
      let m: Uint8Array;
      if (n % 2 === 0) {
        m = new Uint8Array(Math.floor(rand() * 300));
        for (let i = 0; i < m.length; i++) m[i] = Math.floor(rand() * 256);
        // Often a plausible record header, so the hello parser runs on junk.
        if (m.length >= 6 && n % 4 === 0) m.set([22, 3, 1, 0, m.length - 5, 1], 0);
      } else {
        m = real[n % real.length]!.slice();
        const edits = 1 + Math.floor(rand() * 4);
        for (let e = 0; e < edits && m.length > 0; e++) {
          const at = Math.floor(rand() * Math.min(m.length, 300));
          if (rand() < 0.8) m[at] = rand() < 0.5 ? Math.floor(rand() * 256) : 0xff;
          else m = m.slice(0, at);
        }
      }
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      check(p, m, n % 3 === 0, junk);
    }
    assert.deepEqual([...seen].sort(), ['tls.len_invalid', 'tls.truncated']);
  });
});
