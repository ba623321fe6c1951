/**
 * `pcapstream capture` on the loopback interface with a BPF filter, into a real Redis: the UDP
 * datagrams the test sends to the filtered port are all on the packets topic, nothing else is,
 * and the summary reports the kernel's drop count. Needs root (as CI runs).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RedisServer } from '../../scripts/brokers/redis.ts';
import { PacketContext } from '../../src/core/packet.ts';
import { Frame } from '../../src/core/source.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { topicNames } from '../../src/roles/topics.ts';
import { loadFrame } from '../../src/sources/raw-frame.ts';
import { openTransport } from '../../src/transports/index.ts';
import { FRAME_PACKET, forEachBatchFrame } from '../../src/transports/wire/packet-batch.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function send(port: number, count: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  for (let i = 0; i < count; i++) {
    await new Promise<void>((r, j) => s.send(`pcs ${i}`, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

describe('pcapstream capture', () => {
  let redis: RedisServer;
  before(async () => {
    assert.equal(process.getuid?.(), 0, 'live capture needs root: run the tests as root (CI does)');
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.stop();
    await redis?.cleanup();
  });

  it('captures exactly the filtered traffic on lo and reports kernel drops', { timeout: 60_000 }, async () => {
    const [port, other] = [await freePort(), await freePort()];
    const prefix = `cap${process.pid}`;
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'capture',
        '--interface',
        'lo',
        '--filter',
        `udp and dst port ${port}`,
        '--to',
        redis.url,
        '--topic-prefix',
        prefix,
        '--heartbeat-every',
        '0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const done = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('capturing on lo') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /capturing on lo/, stderr);
    await send(port, 150);
    await send(other, 40);
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    assert.equal(await done, 0, stderr);
    assert.match(stderr, /captured 150 packets/);
    assert.match(stderr, /kernel: \d+ received by filter, \d+ dropped/);

    const t = await openTransport(redis.url);
    const topics = topicNames(prefix);
    const c = await t.consumer({ group: 'check', topics: [topics.packets] });
    const ports: number[] = [];
    const p = new PacketContext();
    const fr = new Frame();
    for (let idle = 0; idle < 4; ) {
      const events = await c.poll(200);
      if (events.length === 0) idle++;
      for (const e of events) {
        if (e.kind !== 'messages') continue;
        for (const m of e.messages) {
          forEachBatchFrame(m.value, (f) => {
            if (f.kind !== FRAME_PACKET) return;
            loadFrame(fr, f);
            decodeFrame(p, fr);
            ports.push(p.dstPort);
          });
        }
      }
    }
    await c.close();
    await t.close();
    assert.equal(ports.length, 150, 'every datagram to the filtered port is on the topic');
    assert.ok(
      ports.every((x) => x === port),
      'and nothing else',
    );
  });
});
