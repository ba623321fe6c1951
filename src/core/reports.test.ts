/**
 * The report definitions shared by every store: time parsing, parameter checks and lookups.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPipelineError } from './errors.ts';
import {
  checkReportParams,
  DEFAULT_REPORT_LIMIT,
  HOST_FLOW_COLUMNS,
  MAX_REPORT_LIMIT,
  parseReportTime,
  REPORT_NAMES,
  REPORTS,
  type ReportParams,
  reportDef,
} from './reports.ts';

const usage = (re: RegExp) => (e: unknown) => isPipelineError(e) && e.code === 'PCS_USAGE' && re.test(e.message);

/** 2024-05-01T10:00:00Z in µs. */
const MAY1_10H = Date.UTC(2024, 4, 1, 10) * 1000;

describe('parseReportTime', () => {
  it('reads seconds since the epoch, with a fraction', () => {
    assert.equal(parseReportTime('0', '--from'), 0);
    assert.equal(parseReportTime('1714557600', '--from'), 1_714_557_600_000_000);
    assert.equal(parseReportTime(' 1714557600.25 ', '--from'), 1_714_557_600_250_000);
    assert.equal(parseReportTime('1.000001', '--from'), 1_000_001);
  });

  it('reads ISO 8601, UTC when no zone is given, keeping microseconds', () => {
    assert.equal(parseReportTime('2024-02-29', '--from'), Date.UTC(2024, 1, 29) * 1000);
    assert.equal(parseReportTime('2000-02-29T23:59:59Z', '--from'), (Date.UTC(2000, 1, 29) + 86_399_000) * 1000);
    assert.equal(parseReportTime('1970-01-01T00:00:01Z', '--from'), 1_000_000);
    assert.equal(parseReportTime('2024-05-01T10:00:00Z', '--from'), MAY1_10H);
    assert.equal(parseReportTime('2024-05-01T10:00:00', '--from'), MAY1_10H);
    assert.equal(parseReportTime('2024-05-01 10:00:00', '--from'), MAY1_10H);
    assert.equal(parseReportTime('2024-05-01T10:00', '--from'), MAY1_10H);
    assert.equal(parseReportTime('2024-05-01T12:00:00+02:00', '--from'), MAY1_10H);
    assert.equal(parseReportTime('2024-05-01', '--from'), MAY1_10H - 10 * 3600e6);
    assert.equal(parseReportTime('2024-05-01T10:00:00.123456Z', '--from'), MAY1_10H + 123_456);
    assert.equal(parseReportTime('2024-05-01T10:00:00.5', '--from'), MAY1_10H + 500_000);
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['', 'yesterday', '-5', '1e9', '2024-05-01T25:00:00Z', '2024/05/01', '0x10', 'Infinity']) {
      assert.throws(() => parseReportTime(bad, '--to'), usage(/^--to must be an ISO 8601 time/), bad);
    }
  });

  it('refuses days that do not exist instead of rolling them over', () => {
    for (const bad of [
      '2024-02-30',
      '2023-02-29T00:00:00Z',
      '2024-04-31 10:00',
      '2024-00-10',
      '2024-05-00',
      '2024-02-29T24:00Z',
    ]) {
      assert.throws(() => parseReportTime(bad, '--to'), usage(/^--to must be an ISO 8601 time/), bad);
    }
  });
});

describe('checkReportParams', () => {
  const ok: ReportParams = { limit: DEFAULT_REPORT_LIMIT, stepS: 60 };

  it('accepts sane parameters, open window ends included', () => {
    for (const r of REPORTS) checkReportParams(r, { ...ok, host: '10.0.0.1' });
    checkReportParams(reportDef('alerts'), { ...ok, fromUs: 5, toUs: 6, limit: MAX_REPORT_LIMIT, stepS: 1 });
    checkReportParams(reportDef('traffic'), { ...ok, fromUs: 5 });
  });

  it('needs --host for host-flows', () => {
    assert.throws(() => checkReportParams(reportDef('host-flows'), ok), usage(/report host-flows needs --host/));
  });

  it('needs --to later than --from', () => {
    const d = reportDef('top-talkers');
    assert.throws(() => checkReportParams(d, { ...ok, fromUs: 10, toUs: 10 }), usage(/--to must be later/));
    assert.throws(() => checkReportParams(d, { ...ok, fromUs: 10, toUs: 9 }), usage(/--to must be later/));
  });

  it('bounds --limit and --step to whole numbers', () => {
    const d = reportDef('traffic');
    for (const limit of [0, -1, 1.5, Number.NaN, MAX_REPORT_LIMIT + 1]) {
      assert.throws(
        () => checkReportParams(d, { ...ok, limit }),
        usage(/--limit must be a whole number/),
        String(limit),
      );
    }
    for (const stepS of [0, 0.5, Number.NaN, 366 * 86400 + 1]) {
      assert.throws(
        () => checkReportParams(d, { ...ok, stepS }),
        usage(/--step must be a whole number/),
        String(stepS),
      );
    }
  });
});

describe('report definitions', () => {
  it('finds each report by name and lists the names for an unknown one', () => {
    assert.deepEqual(REPORT_NAMES, ['top-talkers', 'top-ports', 'host-flows', 'traffic', 'alerts']);
    assert.deepEqual(reportDef('host-flows').columns, HOST_FLOW_COLUMNS);
    assert.throws(
      () => reportDef('top'),
      usage(/no report 'top'; reports: top-talkers, top-ports, host-flows, traffic, alerts/),
    );
  });
});
