import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transportConformance } from '../../../test/conformance/transport.ts';
import type { ConsumerEvent } from '../../core/transport.ts';
import { openInproc } from './inproc.ts';

let n = 0;
transportConformance('inproc', { open: () => openInproc(new URL('inproc://conformance'), {}), rebalanceMs: 2000 });

describe('inproc back-pressure', () => {
  it('send waits while a partition holds too much uncommitted data, and goes on after a commit', async () => {
    const t = await openInproc(new URL(`inproc://bp-${++n}?maxPartitionBytes=1000`), {});
    await t.ensureTopic('t', 1);
    const c = await t.consumer({ group: 'g', topics: ['t'] });
    const p = await t.producer();
    await p.send('t', [{ partition: 0, value: new Uint8Array(1200) }]);
    let done = false;
    const pending = p.send('t', [{ partition: 0, value: new Uint8Array(10) }]).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(done, false, 'the second send waits');
    let first: ConsumerEvent | undefined;
    for (let i = 0; i < 10 && first === undefined; i++) first = (await c.poll(100)).find((e) => e.kind === 'messages');
    assert.ok(first !== undefined && first.kind === 'messages');
    await c.commit('t', 0, first.messages[0]!.offset);
    await pending;
    assert.equal(done, true);
    await t.close();
  });
});
