import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapFrames, tsharkRows } from '../../test/helpers/corpus.ts';
import { anomalyCodes as anomalies } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_HTTP, LAYER_TCP, layerBit } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { decodeFrame } from './dispatch.ts';
import { decodeHTTP, HTTP_MAX_SCAN } from './http.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

function decodeHex(h: string, wirelen?: number): PacketContext {
  const f = new Frame();
  f.buf = hex(h);
  f.caplen = f.buf.length;
  f.wirelen = wirelen ?? f.buf.length;
  f.linkType = 1;
  const p = new PacketContext();
  decodeFrame(p, f);
  return p;
}

/** Run decodeHTTP alone on a TCP payload given as latin1 text. */
function http(text: string | Uint8Array, truncated = false, p = new PacketContext()): PacketContext {
  const b = typeof text === 'string' ? latin1(text) : text;
  p.reset(b);
  p.truncated = truncated;
  p.layers |= layerBit(LAYER_TCP);
  assert.equal(decodeHTTP(p, b, 0, b.length), -1);
  return p;
}

/** [method, uri, host] when the HTTP layer is set, else null. */
const view = (p: PacketContext): [string, string, string] | null =>
  p.has(LAYER_HTTP) ? [p.httpMethod, p.httpUri, p.httpHost] : null;

describe('decodeHTTP: corpus fixtures', () => {
  it('GET request (ppp__http_two_requests.pcap #1)', () => {
    // 19:12:10.217519 IP 10.0.0.1.60378 > 212.199.202.60.80: Flags [P.], seq 542781100:542781456,
    //   ack 475507385, win 16600, length 356: HTTP: GET /home/0,7340,L-8,00.html HTTP/1.1
    const p = decodeHex(
      '30469a23fbfa6cf049b2de6e08004500018c758d40008006dad90a000001d4c7ca3cebda0050205a2eac1c57aab95018' +
        '40d8d1190000474554202f686f6d652f302c373334302c4c2d382c30302e68746d6c20485454502f312e310d0a486f73' +
        '743a207777772e796e65742e636f2e696c0d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a4163636570' +
        '743a20746578742f68746d6c2c6170706c69636174696f6e2f7868746d6c2b786d6c2c6170706c69636174696f6e2f78' +
        '6d6c3b713d302e392c696d6167652f776562702c2a2f2a3b713d302e380d0a557365722d4167656e743a204d6f7a696c' +
        '6c612f352e30202857696e646f7773204e5420362e3129204170706c655765624b69742f3533372e333620284b48544d' +
        '4c2c206c696b65204765636b6f29204368726f6d652f33382e302e323132352e313034205361666172692f3533372e33' +
        '360d0a4163636570742d456e636f64696e673a20677a69702c6465666c6174652c736463680d0a4163636570742d4c61' +
        '6e67756167653a20656e2d55532c656e3b713d302e380d0a0d0a',
    );
    assert.deepEqual(anomalies(p), []);
    // tshark: http.request.method GET, http.request.uri /home/0,7340,L-8,00.html, http.host www.ynet.co.il
    assert.deepEqual(view(p), ['GET', '/home/0,7340,L-8,00.html', 'www.ynet.co.il']);
    assert.equal(p.payloadLen, 356);
  });

  it('request cut by a 96-byte snaplen (zeek__snaplen96_http.pcap #4)', () => {
    // 13:21:45.037333 IP 128.232.110.120.34855 > 66.35.250.204.80: Flags [P.], seq 1:497, ack 1,
    //   win 5840, options [nop,nop,TS val 87269149 ecr 422613849], length 496: HTTP [|http]
    const p = decodeHex(
      '00000c07ac010060979482df080045000224698d40004006a2f680e86e784223facc88270050becbf686ac3013688018' +
        '16d0775e00000101080a05339f1d19309359474554202f696d616765732f73662e6e65745f626f782e67696620485454',
      562,
    );
    // tshark: GET /images/sf.net_box.gif, no http.host
    assert.deepEqual(view(p), ['GET', '/images/sf.net_box.gif', '']);
    assert.ok(anomalies(p).includes('http.truncated'));
  });
});

describe('decodeHTTP: crafted requests', () => {
  // Request text and what tshark 4.0.17 shows for it (method, uri, host) without reassembly.
  const cases: [string, string, [string, string, string] | null][] = [
    ['LF line ends', 'GET /a HTTP/1.1\nHost: lf.only\n\n', ['GET', '/a', 'lf.only']],
    [
      'header name in capitals, no space after the colon',
      'PUT /x HTTP/1.0\r\nHOST:UPPER\r\n\r\n',
      ['PUT', '/x', 'UPPER'],
    ],
    ['two spaces: empty target', 'POST  /two-spaces HTTP/1.0\r\nHost: h\r\n\r\n', ['POST', '', 'h']],
    ['no version (HTTP/0.9 form)', 'GET /noversion\r\nHost: z\r\n\r\n', ['GET', '/noversion', 'z']],
    ['odd version', 'GET /a HTTP/2.0\r\nHost: v2\r\n\r\n', ['GET', '/a', 'v2']],
    ['tab inside the target', 'GET /a\tb HTTP/1.1\r\nHost: tab\r\n\r\n', ['GET', '/a\tb', 'tab']],
    ['asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: opt\r\n\r\n', ['OPTIONS', '*', 'opt']],
    ['space before the colon: not Host', 'GET * HTTP/1.1\r\nHost : sp\r\n\r\n', ['GET', '*', '']],
    ['empty Host', 'GET /a HTTP/1.1\r\nHost:\r\n\r\n', ['GET', '/a', '']],
    ['Host line cut by the segment end', 'GET /a HTTP/1.1\r\nHost: partial', ['GET', '/a', 'partial']],
    [
      'Host after other headers',
      'DELETE /r HTTP/1.1\r\nX-A: 1\r\nhOsT: mixed.case\r\n\r\n',
      ['DELETE', '/r', 'mixed.case'],
    ],
    ['Host after the empty line is body', 'HEAD / HTTP/1.1\r\nX: 1\r\n\r\nHost: body\r\n', ['HEAD', '/', '']],
    ['every method', 'PATCH /p HTTP/1.1\r\n\r\n', ['PATCH', '/p', '']],
    ['CONNECT', 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n', ['CONNECT', 'h:443', 'h:443']],
    ['TRACE', 'TRACE / HTTP/1.1\r\n\r\n', ['TRACE', '/', '']],
    [
      'bytes from 0x80 as U+FFFD, controls kept',
      'GET /a\x01b\xc3\xa9c HTTP/1.1\r\nHost: h\x01\xffx\r\n\r\n',
      ['GET', '/a\x01b\ufffd\ufffdc', 'h\x01\ufffdx'],
    ],
    // Not requests.
    ['response', 'HTTP/1.1 200 OK\r\nHost: no\r\n\r\n', null],
    ['lowercase method', 'get /lower HTTP/1.1\r\nHost: z\r\n\r\n', null],
    ['method without a space', 'GET/ HTTP/1.1\r\n\r\n', null],
    ['method alone', 'GET', null],
    ['method and space at the segment end', 'GET ', ['GET', '', '']],
    // Deliberate differences from tshark, which shows 'a,b', 'x.y \\t' and decodes PROPFIND.
    ['first of two Host fields', 'GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', ['GET', '/a', 'a']],
    ['Host value trimmed at both ends', 'GET /a HTTP/1.1\r\nhost:\t x.y \t\r\n\r\n', ['GET', '/a', 'x.y']],
    ['WebDAV method', 'PROPFIND /x HTTP/1.1\r\nHost: dav\r\n\r\n', null],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => {
      const p = http(text);
      assert.deepEqual(view(p), expected);
      assert.deepEqual(anomalies(p), []);
    });
  }

  it('reads at most HTTP_MAX_SCAN bytes', () => {
    const longUri = '/' + 'u'.repeat(3000);
    const p = http(`GET ${longUri} HTTP/1.1\r\nHost: far\r\n\r\n`);
    assert.deepEqual(view(p), ['GET', longUri.slice(0, HTTP_MAX_SCAN - 4), '']);
    const filler = 'X-Filler: ' + 'f'.repeat(HTTP_MAX_SCAN) + '\r\n';
    assert.deepEqual(view(http(`GET / HTTP/1.1\r\n${filler}Host: late\r\n\r\n`)), ['GET', '/', '']);
  });

  it('clears the Host of the previous request', () => {
    const p = http('GET /1 HTTP/1.1\r\nHost: one\r\n\r\n');
    http('GET /2 HTTP/1.1\r\n\r\n', false, p);
    assert.deepEqual(view(p), ['GET', '/2', '']);
  });

  it('every prefix of a request: http.truncated only when the capture cut it before the Host value ended', () => {
    const req = 'GET /path HTTP/1.1\r\nAccept: */*\r\nHost: example.org\r\nX: y\r\n\r\n';
    // The Host value is known whole once its line end (LF) is in.
    const hostLineEnd = req.indexOf('\r\nX:') + 2;
    for (let n = 4; n < req.length; n++) {
      const cut = http(req.slice(0, n), true);
      assert.ok(cut.has(LAYER_HTTP), `prefix ${n}`);
      assert.deepEqual(anomalies(cut), n < hostLineEnd ? ['http.truncated'] : [], `prefix ${n}`);
      const segmented = http(req.slice(0, n), false);
      assert.deepEqual(anomalies(segmented), [], `prefix ${n}`);
      assert.equal(segmented.httpHost, cut.httpHost);
    }
  });
});

describe('HTTP requests agree with tshark over corpus captures', () => {
  const FIELDS = ['http.request.method', 'http.request.uri', 'http.host', 'tcp.analysis.retransmission'];

  function tshark(file: string): string[][] {
    return tsharkRows(file, FIELDS);
  }

  function decodeFile(file: string): { view: [string, string, string] | null; anomalies: string[] }[] {
    return mapFrames(file, (p) => ({ view: view(p), anomalies: anomalies(p) }));
  }

  // [file, requests compared, retransmitted requests that tshark does not dissect]
  const files: [string, number, number][] = [
    ['dpkt__http.pcap', 2, 0],
    ['ppp__http_two_requests.pcap', 2, 0],
    ['zeek__http_pipelined.pcap', 5, 0],
    ['ppp__http_4k_requests.pcap', 381, 4],
    ['ppp__http_three_streams.pcap', 3, 0],
    ['ppp__http_650_responses.pcap', 0, 0],
  ];
  for (const [file, requests, resent] of files) {
    it(file, () => {
      const ours = decodeFile(file);
      const theirs = tshark(file);
      assert.equal(ours.length, theirs.length);
      let compared = 0;
      let onlyOurs = 0;
      for (let i = 0; i < ours.length; i++) {
        const o = ours[i]!;
        const [method, uri, host, retransmission] = theirs[i]!;
        const at = `${file} #${i + 1}`;
        for (const a of o.anomalies) assert.ok(isKnownAnomaly(a), a);
        if (method === '') {
          // tshark skips retransmitted segments; we decode every packet on its own.
          if (o.view !== null) {
            assert.notEqual(retransmission, '', `${at}: request tshark does not see`);
            onlyOurs++;
          }
          continue;
        }
        // The first Host value, as we keep only the first field.
        assert.deepEqual(o.view, [method, uri, host!.split('\x1f')[0]], at);
        compared++;
      }
      assert.deepEqual([compared, onlyOurs], [requests, resent]);
    });
  }
});

describe('decodeHTTP: arbitrary bytes', () => {
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

  it('20,000 random and mutated requests never throw nor read past the end', () => {
    const rand = rng(4);
    const p = new PacketContext();
    const base = latin1(
      'GET /index.html?q=1 HTTP/1.1\r\nUser-Agent: x\r\nHost: www.example.com\r\nAccept: */*\r\n\r\n',
    );
    const alphabet = latin1('GETPOS /:\r\nHhost\t \x80\xff');
    const junk = new Uint8Array(16);
    let requests = 0;
    for (let n = 0; n < 20000; n++) {
      let m: Uint8Array;
      if (n % 2 === 0) {
        m = new Uint8Array(Math.floor(rand() * 200));
        for (let i = 0; i < m.length; i++) m[i] = alphabet[Math.floor(rand() * alphabet.length)]!;
        if (m.length > 4 && n % 4 === 0) m.set(latin1('GET '), 0);
      } else {
        m = base.slice(0, Math.floor(rand() * (base.length + 1)));
        for (let e = 0; e < 3 && m.length > 0; e++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      }
      const truncated = n % 3 === 0;
      http(m, truncated, p);
      const alone = JSON.stringify([view(p), anomalies(p)]);
      if (p.has(LAYER_HTTP)) requests++;
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
      for (let i = 0; i < junk.length; i++) junk[i] = alphabet[Math.floor(rand() * alphabet.length)]!;
      const padded = new Uint8Array(m.length + junk.length);
      padded.set(m);
      padded.set(junk, m.length);
      p.reset(padded);
      p.truncated = truncated;
      decodeHTTP(p, padded, 0, m.length);
      assert.equal(JSON.stringify([view(p), anomalies(p)]), alone);
    }
    assert.ok(requests > 5000, `requests decoded: ${requests}`);
  });
});
