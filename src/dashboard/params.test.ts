import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadRequestError,
  choiceParam,
  intParam,
  ipParam,
  MAX_SQL_CHARS,
  protocolParam,
  readParams,
  sqlParam,
  windowParam,
} from './params.ts';

const q = (search: string, allowed: readonly string[]) => readParams(new URL(`http://h/x?${search}`), allowed);

describe('readParams', () => {
  it('keeps known parameters, decoded, and drops empty ones', () => {
    const m = q('a=1&b=x%20y&c=', ['a', 'b', 'c']);
    assert.deepEqual(
      [...m],
      [
        ['a', '1'],
        ['b', 'x y'],
      ],
    );
  });

  it('refuses unknown, repeated and over-long parameters', () => {
    assert.throws(() => q('z=1', ['a']), { name: 'BadRequestError', message: /unknown parameter "z" \(known: a\)/ });
    assert.throws(() => q('a=1&a=2', ['a']), /given more than once/);
    assert.throws(() => q('a=&a=', ['a']), /given more than once/);
    assert.throws(() => q(`a=${'1'.repeat(257)}`, ['a']), /longer than 256/);
    assert.equal(q(`sql=${'s'.repeat(MAX_SQL_CHARS)}`, ['sql']).get('sql')!.length, MAX_SQL_CHARS);
    assert.throws(() => q(`sql=${'s'.repeat(MAX_SQL_CHARS + 1)}`, ['sql']), /longer than 8192/);
    assert.throws(() => q(`${'n'.repeat(100)}=1`, []), /unknown parameter "n{40}\.\.\." \(known: none\)/);
  });
});

describe('intParam', () => {
  const rule = { min: 1, max: 500, default: 50 };
  it('reads plain decimal digits within the range', () => {
    assert.equal(intParam(q('', ['n']), 'n', rule), 50);
    assert.equal(intParam(q('', ['n']), 'n', { min: 0, max: 9 }), undefined);
    assert.equal(intParam(q('n=1', ['n']), 'n', rule), 1);
    assert.equal(intParam(q('n=500', ['n']), 'n', rule), 500);
    assert.equal(intParam(q('n=007', ['n']), 'n', rule), 7);
  });

  for (const bad of ['0', '501', '-1', '+1', '1.5', '1e2', '0x10', ' 1', 'abc', '99999999999999999']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => intParam(q(`n=${encodeURIComponent(bad)}`, ['n']), 'n', rule),
        (e: unknown) => e instanceof BadRequestError && /n must be a whole number from 1 to 500/.test(e.message),
      );
    });
  }
});

describe('choice, window, protocol, ip and sql parameters', () => {
  it('choiceParam requires a listed value unless a default is given', () => {
    assert.equal(choiceParam(q('k=b', ['k']), 'k', ['a', 'b']), 'b');
    assert.equal(choiceParam(q('', ['k']), 'k', ['a', 'b'], 'a'), 'a');
    assert.throws(() => choiceParam(q('', ['k']), 'k', ['a', 'b']), /k is required \(one of a, b\)/);
    assert.throws(() => choiceParam(q('k=B', ['k']), 'k', ['a', 'b']), /k must be one of a, b/);
  });

  it('windowParam gives 1 or 60 seconds', () => {
    assert.equal(windowParam(q('window=60', ['window']), 1), 60);
    assert.equal(windowParam(q('', ['window']), 60), 60);
    assert.throws(() => windowParam(q('window=2', ['window']), 1), /window must be one of 1, 60/);
  });

  it('protocolParam maps names and numbers to flow protocol names', () => {
    const p = (v: string) => protocolParam(q(`protocol=${v}`, ['protocol']));
    assert.equal(p('TCP'), 'tcp');
    assert.equal(p('icmpv6'), 'icmpv6');
    assert.equal(p('6'), 'tcp');
    assert.equal(p('17'), 'udp');
    assert.equal(p('1'), 'icmp');
    assert.equal(p('58'), 'icmpv6');
    assert.equal(p('50'), '50');
    assert.equal(p('050'), '50');
    assert.equal(protocolParam(q('', ['protocol'])), undefined);
    assert.throws(() => p('256'), /protocol must be/);
    assert.equal(p('gre'), 'gre');
    assert.equal(p('47'), 'gre');
    assert.throws(() => p('ospf'), /protocol must be/);
  });

  it('ipParam accepts IPv4 and IPv6 text only', () => {
    const ip = (v: string) => ipParam(q(`ip=${encodeURIComponent(v)}`, ['ip']));
    assert.equal(ip('10.0.0.1'), '10.0.0.1');
    assert.equal(ip('2001:db8::1'), '2001:db8::1');
    assert.equal(ipParam(q('', ['ip'])), undefined);
    for (const bad of ['10.0.0', '10.0.0.1/24', 'example.com', "1.2.3.4' OR '1'='1", '::g']) {
      assert.throws(() => ip(bad), /ip must be an IPv4 or IPv6 address/, bad);
    }
  });

  it('sqlParam requires non-blank text', () => {
    assert.equal(sqlParam(q('sql=SELECT%201', ['sql'])), 'SELECT 1');
    assert.throws(() => sqlParam(q('', ['sql'])), /sql is required/);
    assert.throws(() => sqlParam(q('sql=%20%0A', ['sql'])), /sql is required/);
  });
});
