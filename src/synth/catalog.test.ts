import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog, CLIENT_COUNT, DOMAIN_COUNT, encodeName, FILLER_SLACK, NX_DOMAIN_COUNT } from './catalog.ts';
import { Rng } from './rng.ts';
import { formatIPv4, formatIPv6 } from './truth.ts';

const cat = new Catalog(1);

/** Plain RFC 1071 sum of b[s, e) as 16-bit big-endian words starting at `s`, folded. */
function reference(b: Uint8Array, s: number, e: number): number {
  let sum = 0;
  for (let i = s; i < e; i += 2) sum += (b[i]! << 8) | (i + 1 < e ? b[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

test('fill copies filler bytes and returns their checksum, for every length and source', () => {
  const r = new Rng(11);
  const out = new Uint8Array(4096);
  for (let n = 0; n < 4000; n++) {
    const len = n < 2000 ? 1 + (n % FILLER_SLACK) : 1 + r.int(1460);
    const noise = r.chance(0.5);
    const at = r.int(100);
    const sum = cat.fill(noise, out, at, len, r.u32());
    assert.equal(fold(sum), reference(out, at, at + len), `len ${len} noise ${noise}`);
    // The bytes are a slice of the filler.
    const src = noise ? cat.noise : cat.text;
    assert.ok(src.indexOf(Buffer.from(out.subarray(at, at + Math.min(len, 64)))) >= 0);
  }
  // Cached views give the same bytes and sum a second time.
  const a = new Uint8Array(1448);
  const b = new Uint8Array(1448);
  assert.equal(cat.fill(true, a, 0, 1448, 7), cat.fill(true, b, 0, 1448, 7));
  assert.deepEqual(a, b);
});

test('fillers: text is printable words, noise is not', () => {
  const text = cat.text.subarray(0, cat.fillerLen).toString('latin1');
  assert.match(text.slice(0, 200), /^[a-z]+( |\n)[a-z]+/);
  assert.doesNotMatch(text, /[^a-z \n]/);
  // The slack past fillerLen repeats the start, so reads may run over the end.
  assert.deepEqual(
    cat.noise.subarray(cat.fillerLen, cat.fillerLen + FILLER_SLACK),
    cat.noise.subarray(0, FILLER_SLACK),
  );
  const counts = new Uint32Array(256);
  for (let i = 0; i < cat.fillerLen; i++) counts[cat.noise[i]!]!++;
  for (const c of counts) assert.ok(Math.abs(c / (cat.fillerLen / 256) - 1) < 0.1);
});

test('DNS names: wire format, zones, resolvable and non-existent ones', () => {
  assert.deepEqual(
    encodeName('www.example.com'),
    Buffer.from([3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 3, 0x63, 0x6f, 0x6d, 0]),
  );
  assert.equal(cat.domains.length, DOMAIN_COUNT + NX_DOMAIN_COUNT);
  assert.equal(new Set(cat.domains.map((d) => d.name)).size, cat.domains.length);
  for (const [i, d] of cat.domains.entries()) {
    assert.deepEqual(cat.names.subarray(d.nameOff, d.nameOff + d.nameLen), encodeName(d.name));
    // The zone starts at a label boundary: what follows the first label.
    assert.equal(d.zoneOff, 1 + d.name.indexOf('.'));
    assert.equal(d.nx, i >= cat.firstNx);
    if (d.nx) assert.ok(d.cnameOff < 0 && d.server6 < 0);
    assert.ok(d.aCount >= 1 && d.aCount <= 4);
    assert.ok(d.helloLen > 200 && d.helloLen < 512, `ClientHello of ${d.helloLen} bytes`);
    // The ClientHello carries the name as SNI.
    assert.ok(cat.tls.subarray(d.helloOff, d.helloOff + d.helloLen).includes(Buffer.from(d.name)));
  }
});

test('hosts: client subnets, VLANs, dual stack; servers in public space', () => {
  const vlans = new Set<number>();
  const v4 = new Set<string>();
  const v6 = new Uint8Array(16);
  for (let i = 0; i < CLIENT_COUNT; i++) {
    const a = formatIPv4(cat.clientV4(i));
    v4.add(a);
    const vlan = cat.clientVlan(i);
    vlans.add(vlan);
    const subnet = { 0: /^(10\.10|172\.16)\./, 20: /^10\.20\./, 30: /^10\.30\./ }[vlan]!;
    assert.match(a, subnet);
    assert.equal(formatIPv4(cat.gatewayV4(i)), a.replace(/\.\d+\.\d+$/, '.0.1'));
    if (cat.clientHasV6(i)) {
      cat.clientV6(i, v6, 0);
      assert.match(formatIPv6(v6, 0), vlan === 20 ? /^2001:db8:20:0:/ : /^2001:db8:10:0:/);
    }
  }
  assert.equal(v4.size, CLIENT_COUNT);
  assert.deepEqual([...vlans].sort(), [0, 20, 30]);
  for (const s of cat.server4) {
    const first = s >>> 24;
    assert.ok(first !== 10 && first !== 127 && first !== 172 && first !== 192 && first < 224);
  }
});
