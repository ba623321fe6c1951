import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PcapWriter } from '../sources/pcap/pcap-writer.ts';
import type { DomainInfo } from './catalog.ts';
import { Catalog } from './catalog.ts';
import { DNS_MAX_RESPONSE, DNS_TYPE_A, DNS_TYPE_AAAA, writeDnsQuery, writeDnsResponse } from './dns-writer.ts';
import { formatIPv4, formatIPv6 } from './truth.ts';

const dir = mkdtempSync(join(tmpdir(), 'dns-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const cat = new Catalog(77);
const plain = cat.domains.find((d) => !d.nx && d.cnameOff < 0 && d.server6 >= 0 && d.aCount > 1)!;
const aliased = cat.domains.find((d) => d.cnameOff >= 0 && d.server6 < 0)!;
const missing = cat.domains.find((d) => d.nx)!;

/** Ethernet + IPv4 + UDP (checksum 0: none, allowed over IPv4) around a DNS message. */
function frame(msg: (b: Buffer, o: number) => number, fromServer: boolean): Buffer {
  const b = Buffer.alloc(14 + 20 + 8 + DNS_MAX_RESPONSE);
  b.writeUInt16BE(0x0800, 12);
  const len = msg(b, 42);
  b[14] = 0x45;
  b.writeUInt16BE(28 + len, 16);
  b[22] = 64;
  b[23] = 17;
  b.writeUInt32BE(fromServer ? 0x0a000035 : 0x0a0a0105, 26);
  b.writeUInt32BE(fromServer ? 0x0a0a0105 : 0x0a000035, 30);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 24);
  b.writeUInt16BE(fromServer ? 53 : 40000, 34);
  b.writeUInt16BE(fromServer ? 40000 : 53, 36);
  b.writeUInt16BE(8 + len, 38);
  return b.subarray(0, 42 + len);
}

test('queries and responses decode in tshark as written', async () => {
  const path = join(dir, 'dns.pcap');
  const fd = openSync(path, 'w');
  const w = new PcapWriter(fd);
  const add = (f: Buffer, i: number) => w.writePacket(1700000000, i * 1000, f);
  const q = (d: DomainInfo, id: number, type: number, edns: boolean) =>
    frame((b, o) => writeDnsQuery(b, o, cat, d, id, type, edns), false);
  const r = (d: DomainInfo, id: number, type: number, edns: boolean) =>
    frame((b, o) => writeDnsResponse(b, o, cat, d, id, type, edns, 300), true);
  add(q(plain, 0x1234, DNS_TYPE_A, true), 0);
  add(r(plain, 0x1234, DNS_TYPE_A, true), 1);
  add(r(plain, 0x1235, DNS_TYPE_AAAA, false), 2);
  add(r(aliased, 0x0001, DNS_TYPE_A, false), 3);
  add(r(aliased, 0x0002, DNS_TYPE_AAAA, true), 4);
  add(r(missing, 0xffff, DNS_TYPE_A, false), 5);
  await w.close();
  closeSync(fd);

  const fields = [
    'dns.id',
    'dns.flags.response',
    'dns.flags.rcode',
    'dns.qry.name',
    'dns.qry.type',
    'dns.count.answers',
    'dns.count.auth_rr',
    'dns.count.add_rr',
    'dns.a',
    'dns.aaaa',
    'dns.cname',
    'dns.resp.ttl',
    'dns.soa.mname',
    'dns.soa.rname',
    'dns.soa.minimum_ttl',
  ];
  const out = execFileSync('tshark', ['-r', path, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const rows = out
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => l.split('\t'));
  const zone = (d: DomainInfo) => d.name.slice(d.name.indexOf('.') + 1);
  const a4 = (d: DomainInfo) =>
    Array.from({ length: d.aCount }, (_, k) => formatIPv4(cat.server4[d.server4 + k]!)).join(',');
  const cname = (d: DomainInfo) => {
    const labels: string[] = [];
    for (let o = d.cnameOff; cat.names[o]! > 0; o += 1 + cat.names[o]!)
      labels.push(cat.names.subarray(o + 1, o + 1 + cat.names[o]!).toString('latin1'));
    return labels.join('.');
  };
  assert.deepEqual(rows[0], ['0x1234', '0', '', plain.name, '1', '0', '0', '1', '', '', '', '', '', '', '']);
  assert.deepEqual(rows[1], [
    '0x1234',
    '1',
    '0',
    plain.name,
    '1',
    String(plain.aCount),
    '0',
    '1',
    a4(plain),
    '',
    '',
    Array(plain.aCount).fill('300').join(','),
    '',
    '',
    '',
  ]);
  assert.equal(rows[2]![9], formatIPv6(cat.server6, plain.server6 * 16));
  assert.equal(rows[2]![5], '1');
  // CNAME then the addresses of its target; tshark prints the label-dotted target name.
  assert.equal(rows[3]![5], String(1 + aliased.aCount));
  assert.equal(rows[3]![10], cname(aliased));
  assert.match(cname(aliased), /^[a-z]+\d*\.[a-z-]+\.(net|com)$/);
  assert.equal(rows[3]![8], a4(aliased));
  // AAAA for a name without one: the CNAME, no address, and the zone's SOA (NODATA).
  assert.deepEqual(rows[4]!.slice(2, 11), ['0', aliased.name, '28', '1', '1', '1', '', '', rows[3]![10]!]);
  assert.deepEqual(rows[4]!.slice(12), [`ns1.${zone(aliased)}`, `hostmaster.${zone(aliased)}`, '300']);
  // NXDOMAIN: rcode 3, no answer, SOA of the zone.
  assert.deepEqual(rows[5], [
    '0xffff',
    '1',
    '3',
    missing.name,
    '1',
    '0',
    '1',
    '0',
    '',
    '',
    '',
    '900',
    `ns1.${zone(missing)}`,
    `hostmaster.${zone(missing)}`,
    '300',
  ]);
});
