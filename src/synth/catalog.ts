/**
 * The simulated network: client hosts, servers, DNS names and the byte templates the generator
 * copies into packets (TLS hellos, HTTP heads, payload filler).
 *
 * Model: the capture point is the trunk between an access switch and the router ("router on a
 * stick"). Client frames go to the router's MAC and every reply comes from it. Clients sit on
 * four subnets, two of them tagged with 802.1Q VLAN ids, two of them dual-stack (IPv6 too).
 * Servers are an internal resolver and a few internal web servers, plus a pool of Internet
 * servers that the DNS names resolve to.
 *
 * Everything is derived from the seed once, up front; the per-packet code only indexes arrays
 * and copies bytes out of the buffers built here.
 */
import { mix32, Rng } from './rng.ts';

/** Number of client hosts. Fixed, so a shorter capture is a prefix of a longer one. */
export const CLIENT_COUNT = 2500;
/** First and size of the ephemeral port range clients use (Linux default, 32768-60999). */
export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_COUNT = 28232;
/** Step between successive ports of one client: coprime with the range, so no port repeats. */
export const EPHEMERAL_STEP = 7;
/** Internet servers with IPv4 and with IPv6 addresses. */
export const SERVER4_COUNT = 1024;
export const SERVER6_COUNT = 256;
/** Internal web servers on the server subnet (HTTP on 8080 and HTTPS). */
export const INTERNAL_SERVER_COUNT = 8;
/** DNS names that resolve, and names that do not (NXDOMAIN). */
export const DOMAIN_COUNT = 600;
export const NX_DOMAIN_COUNT = 60;
/** HTTP request templates per name. */
export const REQUESTS_PER_DOMAIN = 3;

/** Client operating systems: they differ in TTL, TCP options and ping payloads. */
export const OS_WINDOWS = 0;
export const OS_LINUX = 1;
export const OS_MACOS = 2;

/** The router's MAC (one for all VLANs), as 16 high and 32 low bits. */
export const ROUTER_MAC_HI = 0x001c;
export const ROUTER_MAC_LO = 0x73a1b2c3;

/** Client subnet: a /16 for IPv4, an optional /64 for IPv6, a VLAN id (0 = untagged). */
interface Subnet {
  v4: number;
  vlan: number;
  /** First 8 bytes of the /64, or null when the subnet is IPv4-only. */
  v6: number[] | null;
}

const SUBNETS: Subnet[] = [
  { v4: ip4(10, 10, 0, 0), vlan: 0, v6: [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x10, 0x00, 0x00] },
  { v4: ip4(10, 20, 0, 0), vlan: 20, v6: [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x20, 0x00, 0x00] },
  { v4: ip4(10, 30, 0, 0), vlan: 30, v6: null },
  { v4: ip4(172, 16, 0, 0), vlan: 0, v6: null },
];
/** Which subnet client i is on, by i % 8: a quarter of the clients are on tagged VLANs. */
const SUBNET_OF = [0, 0, 3, 1, 0, 2, 0, 3];

/** The internal resolver and the internal web servers live on 10.0.0.0/24 and 2001:db8::/64. */
export const RESOLVER4 = ip4(10, 0, 0, 53);
export const RESOLVER6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53];
const INTERNAL_SERVER4_BASE = ip4(10, 0, 0, 10);

/** First octets of the public IPv4 space the Internet servers are drawn from. */
const PUBLIC_FIRST_OCTETS = [
  13, 18, 23, 34, 35, 44, 52, 54, 63, 64, 66, 69, 72, 74, 76, 93, 104, 107, 108, 140, 142, 146, 151, 157, 162, 185, 199,
  204, 205, 208, 209, 216,
];

const LABEL_PREFIXES = [
  'www',
  'api',
  'cdn',
  'static',
  'img',
  'mail',
  'login',
  'app',
  'assets',
  'update',
  'telemetry',
  'ws',
  'media',
  'auth',
  'docs',
  'portal',
  'files',
  'edge',
  'download',
  'm',
];
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'net',
  'tra',
  'vo',
  'zen',
  'pix',
  'cor',
  'lab',
  'data',
  'flow',
  'sky',
  'byte',
  'cloud',
  'star',
  'nova',
  'quik',
  'sun',
  'blue',
  'ri',
  'go',
  'tek',
  'ver',
  'max',
  'lin',
  'sol',
  'hub',
  'bit',
  'ora',
];
const TLDS = ['com', 'net', 'org', 'io', 'de', 'co.uk', 'fr', 'info', 'cloud', 'app', 'com', 'com', 'net'];
const CDN_ZONES = ['edgekey.net', 'cdn-delivery.net', 'akamaiedge.net', 'cloudfront.net', 'fastly-edge.com'];
const PATHS = [
  '/',
  '/index.html',
  '/api/v1/status',
  '/api/v2/items?page=2',
  '/static/js/app.4f9c2e.js',
  '/static/css/main.8a1b.css',
  '/images/logo.png',
  '/favicon.ico',
  '/updates/check?channel=stable',
  '/v1/metrics',
  '/feed.xml',
  '/search?q=network+monitoring',
  '/assets/fonts/inter.woff2',
  '/login',
  '/robots.txt',
];
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'curl/8.5.0',
  'Microsoft-CryptoAPI/10.0',
];
const SERVER_NAMES = ['nginx/1.24.0', 'Apache/2.4.58 (Ubuntu)', 'cloudflare', 'Microsoft-IIS/10.0', 'envoy', 'gws'];
/** Status lines of HTTP responses, with how a response of that status carries a body. */
const STATUS_LINES = [
  '200 OK',
  '200 OK',
  '200 OK',
  '200 OK',
  '304 Not Modified',
  '404 Not Found',
  '301 Moved Permanently',
];
/** Words for the text filler of HTTP bodies. */
const WORDS =
  'the of and to in is that for it as with was on be by at this from or an are which have not but all were when we there can more if no out so said what up its about into than them only other new some could time these two may then first any like now my such make over our even most after also made many before must through back years where much your way well down should because each just those people how too little state good very world still own see men work long get here between both life being under never day same another know while last might great old year off come since against go came right used take three'.split(
    ' ',
  );

export function ip4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Wire-format (length-prefixed labels, zero-terminated) encoding of a dotted name. */
export function encodeName(name: string): Buffer {
  const parts = name.split('.');
  const out = Buffer.alloc(name.length + 2);
  let o = 0;
  for (const p of parts) {
    out[o++] = p.length;
    o += out.write(p, o, 'latin1');
  }
  out[o++] = 0;
  return out.subarray(0, o);
}

/** One resolvable or non-existent DNS name and what it resolves to. */
export interface DomainInfo {
  name: string;
  /** Offset and length of the wire-format name in `Catalog.names`. */
  nameOff: number;
  nameLen: number;
  /** Offset within the wire name where its zone (registered domain) starts, for SOA records. */
  zoneOff: number;
  /** Canonical name it is an alias of (wire format in `names`), or -1 for none. */
  cnameOff: number;
  cnameLen: number;
  /** Index of its first IPv4 server in `server4`, and how many A records it has (1-4). */
  server4: number;
  aCount: number;
  /** Index of its IPv6 server in `server6`, or -1 when it has no AAAA record. */
  server6: number;
  /** True for a name that does not exist (NXDOMAIN). */
  nx: boolean;
  /** TTL of its records, seconds. */
  ttl: number;
  /** Offsets of its ClientHello template in `Catalog.tls` and of the patch points in it. */
  helloOff: number;
  helloLen: number;
  /** HTTP request templates: indexes into `Catalog.requestOff` / `requestLen` / `requestBody`. */
  firstRequest: number;
}

/** Offsets inside a ClientHello template where per-connection random bytes go. */
export const HELLO_RANDOM_AT = 11;
export const HELLO_SESSION_ID_AT = 44;
/** Length of the ServerHello record plus the ChangeCipherSpec record that follows it. */
export const SERVER_HELLO_LEN = 133;
/** Offsets in the ServerHello template of its random, its session id and its key share. */
export const SERVER_HELLO_RANDOM_AT = 11;
export const SERVER_HELLO_SESSION_ID_AT = 44;
export const SERVER_HELLO_KEY_AT = 95;

/**
 * The network of one seed: hosts, names, templates and fillers; read-only once built.
 *
 * @example
 * const cat = new Catalog(seedToU32('demo'));
 * const d = cat.domains[0]!; // d.name, d.server4, d.helloOff ...
 */
export class Catalog {
  readonly server4 = new Uint32Array(SERVER4_COUNT);
  /** Internet IPv6 servers, 16 bytes each. */
  readonly server6 = new Uint8Array(SERVER6_COUNT * 16);
  /** Hop count between the capture point and each server (for the TTL of its packets). */
  readonly server4Hops = new Uint8Array(SERVER4_COUNT);
  readonly server6Hops = new Uint8Array(SERVER6_COUNT);
  /** Initial TTL of each server's OS (64, 128 or 255). */
  readonly server4Ttl = new Uint8Array(SERVER4_COUNT);
  readonly internal4 = new Uint32Array(INTERNAL_SERVER_COUNT);
  readonly domains: DomainInfo[] = [];
  /** Index of the first NXDOMAIN name in `domains`. */
  readonly firstNx = DOMAIN_COUNT;
  /** All wire-format names, back to back. */
  readonly names: Buffer;
  /** ClientHello templates per name, then one ServerHello + ChangeCipherSpec template. */
  readonly tls: Buffer;
  readonly serverHelloOff: number;
  readonly helloKeyAt: number[] = [];
  /** HTTP request templates, back to back, and each one's offset, length and body length. */
  readonly requests: Buffer;
  readonly requestOff: number[] = [];
  readonly requestLen: number[] = [];
  readonly requestBody: number[] = [];
  /**
   * HTTP response heads up to and including "Content-Length: " (the generator writes the
   * digits and `responseTail`), one per status line and server.
   */
  readonly responseHeads: Buffer[] = [];
  /** Whether the status of each head carries a body (not for 304). */
  readonly responseHasBody: boolean[] = [];
  /** The first `binaryHeads` heads are 200 OK with an application/octet-stream body. */
  readonly binaryHeads = SERVER_NAMES.length;
  readonly responseTail = Buffer.from('\r\nConnection: keep-alive\r\nCache-Control: max-age=3600\r\n\r\n', 'latin1');
  /** Printable text for HTTP bodies and random bytes for TLS ciphertext; each ends with a copy of its start. */
  readonly text: Buffer;
  readonly noise: Buffer;
  /** Usable length of the fillers: reads start below it and may run up to FILLER_SLACK beyond. */
  readonly fillerLen: number;
  /**
   * Prefix sums (mod 2^32) of the 16-bit big-endian words of each filler, for words at even
   * offsets and at odd offsets, so the checksum of any filler slice costs two lookups instead of
   * a pass over its bytes (see `fillerSum`).
   */
  readonly textEven: Uint32Array;
  readonly textOdd: Uint32Array;
  readonly noiseEven: Uint32Array;
  readonly noiseOdd: Uint32Array;

  constructor(seed: number) {
    const rng = new Rng(mix32(seed ^ 0x5eed_ca7a));
    // Distinct addresses, so that no two servers (nor two ping targets) are one host.
    const taken = new Set<number>();
    for (let i = 0; i < SERVER4_COUNT; i++) {
      let a: number;
      do {
        const first = PUBLIC_FIRST_OCTETS[rng.int(PUBLIC_FIRST_OCTETS.length)]!;
        a = ip4(first, rng.int(256), rng.int(256), 1 + rng.int(254));
      } while (taken.has(a));
      taken.add(a);
      this.server4[i] = a;
      this.server4Hops[i] = 6 + rng.int(18);
      this.server4Ttl[i] = rng.chance(0.8) ? 64 : rng.chance(0.7) ? 128 : 255;
    }
    for (let i = 0; i < SERVER6_COUNT; i++) {
      const o = i * 16;
      // 2001:db8:xxxx:yyyy::zzzz, the documentation prefix with per-server bits.
      this.server6.set([0x20, 0x01, 0x0d, 0xb8], o);
      // Bytes 4-5 are 0x100 plus the server's index: distinct addresses, apart from the
      // resolver's and the clients' prefixes (2001:db8::, :10:, :20:); the rest looks random.
      this.server6[o + 4] = (0x100 + i) >>> 8;
      this.server6[o + 5] = (0x100 + i) & 0xff;
      for (let j = 6; j < 8; j++) this.server6[o + j] = rng.int(256);
      this.server6[o + 14] = rng.int(256);
      this.server6[o + 15] = 1 + rng.int(255);
      this.server6Hops[i] = 6 + rng.int(18);
    }
    for (let i = 0; i < INTERNAL_SERVER_COUNT; i++) this.internal4[i] = INTERNAL_SERVER4_BASE + i;

    const nameParts: Buffer[] = [];
    let namesLen = 0;
    const addName = (name: string): [number, number] => {
      const w = encodeName(name);
      nameParts.push(w);
      namesLen += w.length;
      return [namesLen - w.length, w.length];
    };
    const seen = new Set<string>();
    while (this.domains.length < DOMAIN_COUNT + NX_DOMAIN_COUNT) {
      const nx = this.domains.length >= DOMAIN_COUNT;
      let sld = '';
      const n = 2 + rng.int(2);
      for (let k = 0; k < n; k++) sld += SYLLABLES[rng.int(SYLLABLES.length)];
      const zone = nx && rng.chance(0.5) ? `corp-${sld}.example` : `${sld}.${TLDS[rng.int(TLDS.length)]}`;
      const host = nx
        ? `${['wpad', 'printer', 'intranet', 'nas', 'old-crm', 'vpn2'][rng.int(6)]}${rng.chance(0.5) ? rng.int(20) : ''}`
        : LABEL_PREFIXES[rng.int(LABEL_PREFIXES.length)]!;
      const name = `${host}.${zone}`;
      if (seen.has(name)) continue;
      seen.add(name);
      const [nameOff, nameLen] = addName(name);
      let cnameOff = -1;
      let cnameLen = 0;
      if (!nx && rng.chance(0.3)) {
        const cdn = `${sld}${rng.int(100)}.${CDN_ZONES[rng.int(CDN_ZONES.length)]}`;
        [cnameOff, cnameLen] = addName(cdn);
      }
      this.domains.push({
        name,
        nameOff,
        nameLen,
        zoneOff: host.length + 1,
        cnameOff,
        cnameLen,
        server4: rng.int(SERVER4_COUNT - 4),
        aCount: rng.chance(0.6) ? 1 : 2 + rng.int(3),
        server6: !nx && rng.chance(0.5) ? rng.int(SERVER6_COUNT) : -1,
        nx,
        ttl: [60, 300, 300, 3600, 86400, 20][rng.int(6)]!,
        helloOff: 0,
        helloLen: 0,
        firstRequest: 0,
      });
    }
    this.names = Buffer.concat(nameParts, namesLen);

    // TLS: a ClientHello per name (it carries the name as SNI), then the shared ServerHello.
    const hellos: Buffer[] = [];
    let tlsLen = 0;
    for (const d of this.domains) {
      const [hello, keyAt] = clientHello(d.name);
      d.helloOff = tlsLen;
      d.helloLen = hello.length;
      this.helloKeyAt.push(keyAt);
      hellos.push(hello);
      tlsLen += hello.length;
    }
    this.serverHelloOff = tlsLen;
    hellos.push(serverHello());
    this.tls = Buffer.concat(hellos);

    // HTTP requests: a few per name, GET mostly, some POST with a text body.
    const reqs: Buffer[] = [];
    let reqLen = 0;
    for (const d of this.domains) {
      d.firstRequest = this.requestOff.length;
      for (let k = 0; k < REQUESTS_PER_DOMAIN; k++) {
        const ua = USER_AGENTS[rng.int(USER_AGENTS.length)]!;
        const post = rng.chance(0.15);
        const body = post ? 64 + rng.int(1200) : 0;
        const path = post ? '/api/v1/events' : PATHS[rng.int(PATHS.length)]!;
        const head =
          `${post ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nHost: ${d.name}\r\nUser-Agent: ${ua}\r\n` +
          'Accept: */*\r\nAccept-Language: en-US,en;q=0.9\r\n' +
          (post ? `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body}\r\n` : '') +
          'Connection: keep-alive\r\n\r\n';
        const b = Buffer.from(head, 'latin1');
        this.requestOff.push(reqLen);
        this.requestLen.push(b.length);
        this.requestBody.push(body);
        reqs.push(b);
        reqLen += b.length;
      }
    }
    this.requests = Buffer.concat(reqs, reqLen);

    for (let k = 0; k < STATUS_LINES.length; k++) {
      const status = STATUS_LINES[k]!;
      for (const server of SERVER_NAMES) {
        const type = k === 0 ? 'application/octet-stream' : 'text/html; charset=utf-8';
        this.responseHeads.push(
          Buffer.from(`HTTP/1.1 ${status}\r\nServer: ${server}\r\nContent-Type: ${type}\r\nContent-Length: `, 'latin1'),
        );
        this.responseHasBody.push(!status.startsWith('304'));
      }
    }

    const fillerLen = 1 << FILLER_BITS;
    this.fillerLen = fillerLen;
    const words: string[] = [];
    let chars = 0;
    let line = 0;
    while (chars < fillerLen) {
      const w = WORDS[rng.int(WORDS.length)]!;
      line += w.length + 1;
      const sep = line > 72 ? '\n' : ' ';
      if (line > 72) line = 0;
      words.push(w, sep);
      chars += w.length + 1;
    }
    this.text = Buffer.allocUnsafe(fillerLen + FILLER_SLACK);
    this.text.write(words.join('').slice(0, fillerLen), 0, 'latin1');
    this.text.copy(this.text, fillerLen, 0, FILLER_SLACK);
    this.noise = Buffer.allocUnsafe(fillerLen + FILLER_SLACK);
    const n32 = new Uint32Array(this.noise.buffer, this.noise.byteOffset, fillerLen / 4);
    for (let i = 0; i < n32.length; i++) n32[i] = rng.u32();
    this.noise.copy(this.noise, fillerLen, 0, FILLER_SLACK);
    [this.textEven, this.textOdd] = prefixSums(this.text);
    [this.noiseEven, this.noiseOdd] = prefixSums(this.noise);
  }

  /**
   * Copy n filler bytes (n at most FILLER_SLACK) to b[o] and return their one's-complement
   * partial sum (unfolded) as if they began at an even offset. `noise` picks the random filler,
   * else the text; `pick` chooses where in the filler they come from.
   *
   * Longer pieces come from one of VIEW_OFFSETS.length fixed places through cached views, with
   * their sums cached too: `Uint8Array.prototype.set` with a ready view takes about half the
   * time of `Buffer.copy`, which validates its arguments on every call (≈45 against ≈90 ns for
   * 1448 bytes). Short pieces are copied byte by byte from anywhere.
   */
  fill(noise: boolean, b: Uint8Array, o: number, n: number, pick: number): number {
    const src = noise ? this.noise : this.text;
    if (n >= VIEW_MIN) {
      const j = pick & (VIEW_OFFSETS.length - 1);
      const key = ((n - VIEW_MIN) << VIEW_BITS) | j;
      const cache = noise ? this.noiseViews : this.textViews;
      const sums = noise ? this.noiseViewSums : this.textViewSums;
      let v = cache[key]!;
      if (v.length === 0) {
        cache[key] = v = src.subarray(VIEW_OFFSETS[j]!, VIEW_OFFSETS[j]! + n);
        sums[key] = this.fillerSum(noise, VIEW_OFFSETS[j]!, n);
      }
      b.set(v, o);
      return sums[key]!;
    }
    const from = Math.imul(pick, 0x9e3779b1) >>> (32 - FILLER_BITS);
    for (let i = 0; i < n; i++) b[o + i] = src[from + i]!;
    return this.fillerSum(noise, from, n);
  }

  /** Views for `fill` and their sums, by length and offset; empty until first used. */
  private readonly textViews: Uint8Array[] = new Array<Uint8Array>(VIEW_KEYS).fill(NO_VIEW);
  private readonly noiseViews: Uint8Array[] = new Array<Uint8Array>(VIEW_KEYS).fill(NO_VIEW);
  private readonly textViewSums = new Float64Array(VIEW_KEYS);
  private readonly noiseViewSums = new Float64Array(VIEW_KEYS);

  /**
   * One's-complement partial sum (unfolded) of filler bytes [from, from + n), as if they began
   * at an even offset; n is at most FILLER_SLACK. `noise` picks the random filler, else the text.
   */
  fillerSum(noise: boolean, from: number, n: number): number {
    const half = from >>> 1;
    const w = n >>> 1;
    const p = (from & 1) === 0 ? (noise ? this.noiseEven : this.textEven) : noise ? this.noiseOdd : this.textOdd;
    let s = (p[half + w]! - p[half]!) >>> 0;
    if ((n & 1) !== 0) s += (noise ? this.noise : this.text)[from + n - 1]! << 8;
    return s;
  }

  /** Subnet of client i (index into the subnet table). */
  clientSubnet(i: number): number {
    return SUBNET_OF[i & 7]!;
  }

  clientVlan(i: number): number {
    return SUBNETS[SUBNET_OF[i & 7]!]!.vlan;
  }

  /** True when client i also has an IPv6 address. */
  clientHasV6(i: number): boolean {
    return SUBNETS[SUBNET_OF[i & 7]!]!.v6 !== null;
  }

  /** IPv4 address of client i: its subnet's /16, hosts from .1.0 on. */
  clientV4(i: number): number {
    return (SUBNETS[SUBNET_OF[i & 7]!]!.v4 + 256 + i) >>> 0;
  }

  /** IPv4 address of the router on client i's subnet (x.y.0.1). */
  gatewayV4(i: number): number {
    return (SUBNETS[SUBNET_OF[i & 7]!]!.v4 + 1) >>> 0;
  }

  /** Write client i's IPv6 address (its /64 and a random-looking interface id) at b[o]. */
  clientV6(i: number, b: Uint8Array, o: number): void {
    const p = SUBNETS[SUBNET_OF[i & 7]!]!.v6!;
    for (let k = 0; k < 8; k++) b[o + k] = p[k]!;
    const h1 = mix32(i * 2 + 0x1234567);
    const h2 = mix32(i * 2 + 0x89abcde);
    b[o + 8] = h1 >>> 24;
    b[o + 9] = h1 >>> 16;
    b[o + 10] = h1 >>> 8;
    b[o + 11] = h1;
    b[o + 12] = h2 >>> 24;
    b[o + 13] = h2 >>> 16;
    b[o + 14] = h2 >>> 8;
    b[o + 15] = h2;
  }

  /** Write the router's IPv6 address on client i's subnet (prefix::1) at b[o]. */
  gatewayV6(i: number, b: Uint8Array, o: number): void {
    const p = SUBNETS[SUBNET_OF[i & 7]!]!.v6!;
    for (let k = 0; k < 8; k++) b[o + k] = p[k]!;
    for (let k = 8; k < 15; k++) b[o + k] = 0;
    b[o + 15] = 1;
  }

  /** Client i's MAC: a vendor prefix and three bytes of hash, as 16 high and 32 low bits. */
  clientMacHi(i: number): number {
    return MAC_OUIS[mix32(i + 77) % MAC_OUIS.length]! >>> 8;
  }

  clientMacLo(i: number): number {
    const oui = MAC_OUIS[mix32(i + 77) % MAC_OUIS.length]!;
    return (((oui & 0xff) << 24) | (mix32(i ^ 0xfeed) & 0xffffff)) >>> 0;
  }

  /** Operating system of client i: half Windows, a third Linux, the rest macOS. */
  clientOs(i: number): number {
    const h = mix32(i ^ 0x05) % 12;
    return h < 6 ? OS_WINDOWS : h < 10 ? OS_LINUX : OS_MACOS;
  }
}

/** Fillers are 2^FILLER_BITS bytes (256 KiB): small enough to stay in cache. */
const FILLER_BITS = 18;
/** Bytes a filler read may run past `fillerLen` (one TCP segment's payload at most). */
export const FILLER_SLACK = 2048;
/** Pieces from this length up are copied through cached views (see `Catalog.fill`). */
const VIEW_MIN = 24;
/** Where in the filler those pieces start: 2^VIEW_BITS places, spread over it. */
const VIEW_BITS = 5;
const VIEW_OFFSETS = Array.from({ length: 1 << VIEW_BITS }, (_, j) => (j * 8191 * 7) % (1 << FILLER_BITS));
const VIEW_KEYS = (FILLER_SLACK - VIEW_MIN + 1) << VIEW_BITS;
const NO_VIEW = new Uint8Array(0);

/** Prefix sums of the big-endian words at even offsets (b[2j], b[2j+1]) and at odd ones (b[2j+1], b[2j+2]). */
function prefixSums(b: Uint8Array): [Uint32Array, Uint32Array] {
  const words = b.length >>> 1;
  const even = new Uint32Array(words + 1);
  const odd = new Uint32Array(words + 1);
  for (let j = 0; j < words; j++) {
    even[j + 1] = even[j]! + ((b[2 * j]! << 8) | b[2 * j + 1]!);
    const hi = b[2 * j + 1]!;
    const lo = 2 * j + 2 < b.length ? b[2 * j + 2]! : 0;
    odd[j + 1] = odd[j]! + ((hi << 8) | lo);
  }
  return [even, odd];
}

/** Vendor prefixes (OUIs) for client MACs: Dell, Apple, Intel, HP, Lenovo, VMware, Raspberry Pi. */
const MAC_OUIS = [0x001422, 0x3c22fb, 0x001b21, 0x3c5282, 0x8c8590, 0x005056, 0xdca632, 0xf01898, 0xa4bb6d];

/**
 * A TLS 1.3 ClientHello record as browsers send it, with `sni` as server name. Random, session
 * id and key share are zero here; the generator fills them per connection. Returns the record and
 * the offset of the key share.
 */
function clientHello(sni: string): [Buffer, number] {
  const name = Buffer.from(sni, 'latin1');
  const suites = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c];
  const ext: number[] = [];
  const u16 = (v: number) => ext.push(v >>> 8, v & 0xff);
  // server_name
  u16(0x0000);
  u16(name.length + 5);
  u16(name.length + 3);
  ext.push(0);
  u16(name.length);
  for (const c of name) ext.push(c);
  // extended_master_secret, renegotiation_info, supported_groups, ec_point_formats, session_ticket
  ext.push(0x00, 0x17, 0x00, 0x00);
  ext.push(0xff, 0x01, 0x00, 0x01, 0x00);
  ext.push(0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18);
  ext.push(0x00, 0x0b, 0x00, 0x02, 0x01, 0x00);
  ext.push(0x00, 0x23, 0x00, 0x00);
  // application_layer_protocol_negotiation: h2, http/1.1
  ext.push(0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08);
  for (const c of Buffer.from('http/1.1')) ext.push(c);
  // status_request, signature_algorithms
  ext.push(0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00);
  ext.push(0x00, 0x0d, 0x00, 0x12, 0x00, 0x10);
  for (const s of [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]) u16(s);
  // key_share (x25519, 32 bytes), psk_key_exchange_modes, supported_versions (1.3, 1.2)
  ext.push(0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20);
  const keyInExt = ext.length;
  for (let i = 0; i < 32; i++) ext.push(0);
  ext.push(0x00, 0x2d, 0x00, 0x02, 0x01, 0x01);
  ext.push(0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03);

  const body: number[] = [0x03, 0x03];
  for (let i = 0; i < 32; i++) body.push(0); // random
  body.push(32);
  for (let i = 0; i < 32; i++) body.push(0); // legacy session id
  body.push((suites.length * 2) >>> 8, (suites.length * 2) & 0xff);
  for (const s of suites) body.push(s >>> 8, s & 0xff);
  body.push(0x01, 0x00); // compression: null only
  body.push(ext.length >>> 8, ext.length & 0xff);
  const extAt = body.length;
  body.push(...ext);
  const hs = [0x01, 0, body.length >>> 8, body.length & 0xff, ...body];
  const rec = [0x16, 0x03, 0x01, hs.length >>> 8, hs.length & 0xff, ...hs];
  return [Buffer.from(rec), 5 + 4 + extAt + keyInExt];
}

/** A TLS 1.3 ServerHello record (random, session id and key share zero) then ChangeCipherSpec. */
function serverHello(): Buffer {
  const body: number[] = [0x03, 0x03];
  for (let i = 0; i < 32; i++) body.push(0);
  body.push(32);
  for (let i = 0; i < 32; i++) body.push(0);
  body.push(0x13, 0x01, 0x00); // TLS_AES_128_GCM_SHA256, no compression
  const ext = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20];
  for (let i = 0; i < 32; i++) ext.push(0);
  body.push(ext.length >>> 8, ext.length & 0xff, ...ext);
  const hs = [0x02, 0, body.length >>> 8, body.length & 0xff, ...body];
  const rec = [0x16, 0x03, 0x03, hs.length >>> 8, hs.length & 0xff, ...hs];
  const ccs = [0x14, 0x03, 0x03, 0x00, 0x01, 0x01];
  const out = Buffer.from([...rec, ...ccs]);
  if (out.length !== SERVER_HELLO_LEN) throw new Error(`ServerHello template is ${out.length} bytes`);
  return out;
}
