/**
 * The dashboard in a real browser during a real run: `pcapstream run` reads a synthetic capture
 * from a pipe, the page is loaded while the run is still reading, and once the run is done every
 * number the page shows (tiles, chart points, protocol bars, flow rows for a filter, anomalies,
 * loss counters) is compared with what the store holds, asked through the same server's
 * /api/query. Saves a screenshot to test-artifacts/dashboard.png.
 *
 * Needs Debian's chromium (`apt-get install chromium`; scripts/test-deps.sh installs it).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { synthesize } from '../../src/synth/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'bin/pcapstream.js');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Rows of a read-only query through the dashboard's own API. */
async function sql(base: string, text: string): Promise<unknown[][]> {
  const url = new URL('/api/query', base);
  url.searchParams.set('sql', text);
  url.searchParams.set('max_rows', '10000');
  const res = await fetch(url);
  const body = (await res.json()) as { rows: unknown[][]; truncated: boolean; error?: string };
  assert.equal(res.status, 200, `${text}: ${body.error}`);
  assert.equal(body.truncated, false, text);
  return body.rows;
}

async function scalar(base: string, text: string): Promise<number> {
  const rows = await sql(base, text);
  return Number(rows[0]![0]);
}

async function value(page: Page, testId: string): Promise<number> {
  const v = await page.getAttribute(`[data-testid="${testId}"]`, 'data-value');
  assert.ok(v !== null && v !== '', `${testId} has no value`);
  return Number(v);
}

/**
 * Break the IPv4 header checksum of every `every`-th IPv4 packet of a little-endian pcap, so
 * the run records `ipv4.checksum_invalid` anomalies.
 */
function corruptChecksums(pcap: Buffer, every: number): Buffer {
  const out = Buffer.from(pcap);
  let ipv4 = 0;
  for (let off = 24; off + 16 <= out.length; ) {
    const len = out.readUInt32LE(off + 8);
    const frame = off + 16;
    let ip = frame + 14;
    let type = out.readUInt16BE(frame + 12);
    if (type === 0x8100) {
      type = out.readUInt16BE(frame + 16);
      ip += 4;
    }
    if (type === 0x0800 && ++ipv4 % every === 0) out[ip + 10] = out[ip + 10]! ^ 0xff;
    off = frame + len;
  }
  return out;
}

/** Poll `check` until it holds, failing after `ms`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Poll `read` until it deep-equals `expected` (the page refreshes tables on its own schedule),
 * then assert, so a mismatch fails with the diff.
 */
async function settle<T>(read: () => Promise<T>, expected: T, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  let got = await read();
  while (!isDeepStrictEqual(got, expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    got = await read();
  }
  assert.deepEqual(got, expected, what);
}

/** The `dashboard: URL` line of the run's stderr. */
function dashboardUrl(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL within 15 s; stderr:\n${stderr()}`)), 15_000);
    const check = () => {
      const m = /dashboard: (http:\/\/\S+)/.exec(stderr());
      if (m !== null) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`run exited (${code}) before serving; stderr:\n${stderr()}`));
    });
    check();
  });
}

describe('dashboard during a run, in chromium', { timeout: 60_000 }, () => {
  let tmp: string;
  let capture: Buffer;
  let child: ChildProcess;
  let stderrText = '';
  let browser: Browser;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-dashboard-'));
    const file = path.join(tmp, 'mixed.pcap');
    // About 30 s of packet time at 40 sessions/s: a few hundred flows and 30 one-second windows.
    await synthesize({ out: file, packets: 12_000, seed: 11, sessionRate: 40 });
    capture = corruptChecksums(fs.readFileSync(file), 400);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the numbers the store holds, live and at the end', async () => {
    const db = path.join(tmp, 'run.duckdb');
    child = spawn(process.execPath, [BIN, 'run', '-', '--db', db, '--host', '127.0.0.1', '--port', '0'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderrText += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stdin = child.stdin!;
    // The first part of the capture now, the rest once the page is up: the page meets a run in progress.
    const split = Math.floor(capture.length / 3);
    stdin.write(capture.subarray(0, split));
    const base = await dashboardUrl(child, () => stderrText);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(base);
    await page.waitForSelector('body[data-loaded="1"]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid="conn-state"][data-state="live"]', { timeout: 10_000 });
    assert.equal(await page.getAttribute('[data-testid="run-state"]', 'data-state'), 'running');
    assert.equal(await page.textContent('[data-testid="run-input"]'), 'stdin');

    // Live: what the run stored from the first part reaches the page through the event stream.
    await until(
      async () =>
        Number(await page.getAttribute('[data-testid="chart-pps"]', 'data-count')) > 0 &&
        Number(await page.getAttribute('[data-testid="kpi-packets"]', 'data-value')) > 0,
      10_000,
      'the first metric windows while the run reads',
    );
    const partWindows = Number(await page.getAttribute('[data-testid="chart-pps"]', 'data-count'));
    assert.equal(await page.getAttribute('[data-testid="run-state"]', 'data-state'), 'running');

    // Feed the rest and end the input: the page follows to state done through its event stream.
    stdin.end(capture.subarray(split));
    await page.waitForSelector('[data-testid="run-state"][data-state="done"]', { timeout: 20_000 });

    // The page settles on the final store content (the last push follows the final flush).
    const storedFlows = await scalar(base, 'SELECT count(*) FROM flows_latest');
    const storedWindows = await scalar(base, 'SELECT count(*) FROM metrics WHERE window_s = 1');
    await until(
      async () =>
        (await page.getAttribute('[data-testid="kpi-flows"]', 'data-value')) === String(storedFlows) &&
        (await page.getAttribute('[data-testid="chart-pps"]', 'data-count')) === String(storedWindows),
      10_000,
      'the page to show the stored flows and windows',
    );
    assert.ok(storedFlows > 100, `flows: ${storedFlows}`);
    assert.ok(storedWindows >= 15, `windows: ${storedWindows}`);
    assert.ok(partWindows < storedWindows, `${partWindows} windows while running, ${storedWindows} at the end`);

    // Tiles: the run's totals equal what the store holds once it is done.
    const [metricPackets, metricBytes] = (
      await sql(base, 'SELECT sum(packets), sum(bytes) FROM metrics WHERE window_s = 1')
    )[0]!.map(Number) as [number, number];
    assert.equal(await value(page, 'kpi-packets'), metricPackets);
    assert.equal(await value(page, 'kpi-bytes'), metricBytes);
    assert.equal(await value(page, 'kpi-flows'), storedFlows);
    const storedAnomalies = await scalar(base, 'SELECT count(*) FROM anomalies');
    assert.ok(storedAnomalies > 0, 'the corrupted checksums are anomalies');
    assert.equal(await value(page, 'kpi-anomalies'), storedAnomalies);
    // 60 s windows count the same packets.
    assert.equal(await scalar(base, 'SELECT sum(packets) FROM metrics WHERE window_s = 60'), metricPackets);

    // Charts: one point per stored 1 s window, same start and value.
    const windows = await sql(
      base,
      'SELECT start_us, packets, bytes FROM metrics WHERE window_s = 1 ORDER BY start_us',
    );
    const points = async (chart: string) =>
      page.$$eval(`[data-testid="${chart}"] [data-testid="point"]`, (els) =>
        els.map((e) => [Number(e.getAttribute('data-t')), Number(e.getAttribute('data-v'))]),
      );
    assert.deepEqual(
      await points('chart-pps'),
      windows.map((w) => [Number(w[0]), Number(w[1])]),
    );
    assert.deepEqual(
      await points('chart-bps'),
      windows.map((w) => [Number(w[0]), Number(w[2]) * 8]),
    );
    const last = windows[windows.length - 1]!;
    assert.equal(await value(page, 'kpi-pps'), Number(last[1]));
    assert.equal(await value(page, 'kpi-bps'), Number(last[2]) * 8);
    assert.equal(await value(page, 'health-packets'), metricPackets);

    // Protocol mix: packets and flows per protocol of the stored flows.
    const byProtocol = await sql(
      base,
      'SELECT protocol_name, count(*), sum(fwd_packets + bwd_packets) FROM flows_latest GROUP BY 1 ORDER BY 1',
    );
    const bars = () =>
      page.$$eval('[data-testid="chart-protocols"] [data-testid="bar"]', (els) =>
        els
          .map((e) => [
            e.getAttribute('data-key'),
            Number(e.getAttribute('data-flows')),
            Number(e.getAttribute('data-packets')),
          ])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
    await settle(
      bars,
      byProtocol.map((r) => [String(r[0]), Number(r[1]), Number(r[2])]),
      'protocol mix',
    );

    // Flows table under a filter: the busiest client's UDP flows, all on one page.
    const [host] = (
      await sql(
        base,
        "SELECT src_ip FROM flows_latest WHERE protocol_name = 'udp' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
      )
    )[0]! as [string];
    const expected = await sql(
      base,
      `SELECT flow_id FROM flows_latest WHERE protocol_name = 'udp' AND (src_ip = '${host}' OR dest_ip = '${host}') ORDER BY first_seen_us DESC, flow_id DESC`,
    );
    assert.ok(expected.length > 0 && expected.length <= 500);
    await page.selectOption('[data-testid="flows-page-size"]', '500');
    await page.selectOption('[data-testid="filter-protocol"]', 'udp');
    await page.fill('[data-testid="filter-ip"]', host);
    await page.waitForSelector(
      `[data-testid="flows-table"][data-query="limit=500&offset=0&protocol=udp&ip=${encodeURIComponent(host)}"]`,
      { timeout: 5000 },
    );
    const rows = await page.$$eval('[data-testid="flow-row"]', (els) =>
      els.map((e) => ({
        id: Number(e.getAttribute('data-flow-id')),
        protocol: e.getAttribute('data-protocol'),
        src: e.getAttribute('data-src-ip'),
        dest: e.getAttribute('data-dest-ip'),
      })),
    );
    assert.equal(rows.length, expected.length);
    assert.deepEqual(
      rows.map((r) => r.id).sort((a, b) => a - b),
      expected.map((r) => Number(r[0])).sort((a, b) => a - b),
    );
    assert.ok(rows.every((r) => r.protocol === 'udp' && (r.src === host || r.dest === host)));

    // Anomalies table and alerts.
    const anomalies = await sql(base, 'SELECT code, count(*) FROM anomalies GROUP BY 1 ORDER BY 1');
    const anomalyRows = () =>
      page.$$eval('[data-testid="anomaly-row"]', (els) =>
        els
          .map((e) => [e.getAttribute('data-code'), Number(e.getAttribute('data-count'))])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
    await settle(
      anomalyRows,
      anomalies.map((r) => [String(r[0]), Number(r[1])]),
      'anomalies table',
    );

    // Pipeline health: every loss counter of the run is on the page with its value.
    const health = (await (await fetch(new URL('/api/health', base))).json()) as { losses: Record<string, number> };
    assert.ok(Object.keys(health.losses).length > 0);
    for (const [name, count] of Object.entries(health.losses)) {
      assert.equal(await value(page, `loss-${name}`), count, name);
    }
    const alerts = await page.$$eval('[data-testid="alert"]', (els) => els.map((e) => e.getAttribute('data-key')));
    for (const [code] of anomalies) assert.ok(alerts.includes(String(code)), `alert for ${code}`);
    for (const [name, count] of Object.entries(health.losses)) {
      assert.equal(alerts.includes(name), count > 0, `alert for ${name}`);
    }

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
    await page.close();

    // Ctrl-C ends the run cleanly.
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderrText);
  });
});
