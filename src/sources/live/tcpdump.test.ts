import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPipelineError } from '../../core/errors.ts';
import { captureLive, classifyTcpdumpFailure, parseStatsLine, tcpdumpArgs } from './tcpdump.ts';

test('tcpdump command line: pcap to stdout, flushed per packet, filter after --', () => {
  assert.deepEqual(tcpdumpArgs({ interface: 'eth0', filter: ' tcp port 443 ', snaplen: 128, bufferMiB: 8 }), [
    '-i',
    'eth0',
    '-w',
    '-',
    '-U',
    '--immediate-mode',
    '--time-stamp-precision=nano',
    '-s',
    '128',
    '-B',
    '8192',
    '-n',
    '-Z',
    'root',
    '--',
    'tcp port 443',
  ]);
  const noFilter = tcpdumpArgs({ interface: 'lo', filter: '  ' });
  assert.equal(noFilter.includes('--'), false);
  assert.equal(noFilter[noFilter.indexOf('-s') + 1], '262144');
  assert.equal(noFilter[noFilter.indexOf('-B') + 1], '32768');
});

test('counters printed on SIGUSR1 are parsed, in singular and plural', () => {
  assert.deepEqual(
    parseStatsLine('tcpdump: 5 packets captured, 10 packets received by filter, 0 packets dropped by kernel'),
    { captured: 5, receivedByFilter: 10, droppedByKernel: 0, droppedByInterface: 0 },
  );
  assert.deepEqual(
    parseStatsLine(
      'tcpdump: 1 packet captured, 1 packet received by filter, 1 packet dropped by kernel, 7 packets dropped by interface',
    ),
    { captured: 1, receivedByFilter: 1, droppedByKernel: 1, droppedByInterface: 7 },
  );
  assert.equal(
    parseStatsLine('tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes'),
    null,
  );
  assert.equal(parseStatsLine('5 packets captured'), null);
});

test('tcpdump failures are told apart by what tcpdump said', () => {
  // Messages as tcpdump 4.99 / libpcap 1.10 print them.
  const noDevice = classifyTcpdumpFailure(
    'tcpdump: eth9: No such device exists\n(No such device exists)\n',
    { interface: 'eth9' },
    1,
  );
  assert.equal(noDevice.reason, 'no-such-interface');
  assert.equal(noDevice.code, 'PCS_SOURCE_OPEN');
  assert.match(noDevice.message, /cannot capture on eth9: no such interface/);
  assert.ok(isPipelineError(noDevice));

  const perm = classifyTcpdumpFailure(
    "tcpdump: lo: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n",
    { interface: 'lo', filter: 'udp' },
    1,
  );
  assert.equal(perm.reason, 'permission');
  assert.equal(perm.code, 'PCS_SOURCE_OPEN');

  const syntax = classifyTcpdumpFailure(
    "tcpdump: can't parse filter expression: syntax error\n",
    { interface: 'lo', filter: 'udp and and' },
    1,
  );
  assert.equal(syntax.reason, 'bad-filter');
  assert.equal(syntax.code, 'PCS_CONFIG');
  assert.equal(syntax.message, 'bad capture filter "udp and and": can\'t parse filter expression: syntax error');
  assert.equal(syntax.tcpdumpMessage, "tcpdump: can't parse filter expression: syntax error");

  const host = classifyTcpdumpFailure(
    "tcpdump: unknown host 'prot'\n",
    { interface: 'lo', filter: 'udp and dst prot 5' },
    1,
  );
  assert.equal(host.reason, 'bad-filter');

  // Without a filter, an unknown failure is not blamed on one.
  const other = classifyTcpdumpFailure('tcpdump: something odd\n', { interface: 'lo' }, 1);
  assert.equal(other.reason, 'failed');
  assert.match(other.message, /something odd/);
  const silent = classifyTcpdumpFailure('', { interface: 'lo' }, null);
  assert.match(silent.message, /exited with a signal/);
});

test('bad options throw PCS_CONFIG before tcpdump is started', () => {
  const onBatch = (): void => {};
  const bad = [
    { interface: '', onBatch },
    { interface: 'lo', snaplen: 0, onBatch },
    { interface: 'lo', snaplen: 300_000, onBatch },
    { interface: 'lo', bufferMiB: 0, onBatch },
    { interface: 'lo', batchFrames: -1, onBatch },
    { interface: 'lo', maxBatchDelayMs: Number.NaN, onBatch },
  ];
  for (const o of bad)
    assert.throws(
      () => captureLive(o),
      (e) => isPipelineError(e) && e.code === 'PCS_CONFIG',
      JSON.stringify(o),
    );
});
