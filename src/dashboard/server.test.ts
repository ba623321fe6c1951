import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  FakeReadModel,
  fakeFlow,
  fakeHealth,
  fakeWindow,
  filledReadModel,
  SSEReader,
  T0_US,
} from '../../test/helpers/dashboard-harness.ts';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { RunHealth } from '../flow/records.ts';
import { MAX_WINDOWS_PER_PUSH } from './events.ts';
import { API_LIMITS, type Dashboard, startDashboard } from './server.ts';

/** GET `path` with a raw Host header (fetch does not let a caller set Host). */
function rawGet(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, url), { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

describe('dashboard HTTP API', () => {
  let dash: Dashboard;
  let rm: FakeReadModel;
  let health: RunHealth;
  const get = (path: string, init?: RequestInit) => fetch(new URL(path, dash.url), init);
  const json = async (path: string, status = 200): Promise<Record<string, unknown>> => {
    const res = await get(path);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
    return body;
  };

  before(async () => {
    rm = filledReadModel(120, 130);
    health = fakeHealth();
    dash = await startDashboard({ port: 0, readModel: rm, health: () => health });
  });
  after(() => dash.close());

  it('serves on 127.0.0.1 with the bound port in its URL', () => {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*\/$/);
  });

  it('returns the live health with security headers and no caching', async () => {
    health.packets = 4242;
    const res = await get('/api/health');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as RunHealth).packets, 4242);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('returns the store summary', async () => {
    const s = await json('/api/summary');
    assert.equal(s.flows, 120);
    assert.equal((s.by_protocol as unknown[]).length, 3);
  });

  it('returns metric windows of the asked length, since a time, limited', async () => {
    const one = await json('/api/metrics');
    assert.equal(one.window_s, 1);
    assert.equal((one.windows as unknown[]).length, 130);
    const sixty = await json('/api/metrics?window=60');
    assert.deepEqual(
      (sixty.windows as { start_us: number }[]).map((w) => w.start_us),
      [T0_US, T0_US + 60_000_000, T0_US + 120_000_000],
    );
    const since = await json(`/api/metrics?window=1&since=${T0_US + 100_000_000}&limit=5`);
    const starts = (since.windows as { start_us: number }[]).map((w) => w.start_us);
    assert.deepEqual(
      starts,
      [100, 101, 102, 103, 104].map((i) => T0_US + i * 1_000_000),
    );
    assert.deepEqual(rm.lastArgs.metrics, { window_s: 1, since_us: T0_US + 100_000_000, limit: 5 });
  });

  it('pages flows newest first and tells whether more exist', async () => {
    const p1 = await json('/api/flows?limit=50');
    const flows = p1.flows as { flow_id: number }[];
    assert.equal(flows.length, 50);
    assert.equal(flows[0]!.flow_id, 120);
    assert.equal(p1.has_more, true);
    const p3 = await json('/api/flows?limit=50&offset=100');
    assert.equal((p3.flows as unknown[]).length, 20);
    assert.equal(p3.has_more, false);
    const exact = await json('/api/flows?limit=40&offset=80');
    assert.equal((exact.flows as unknown[]).length, 40);
    assert.equal(exact.has_more, false);
  });

  it('passes flow filters on, naming protocol numbers', async () => {
    const udp = await json('/api/flows?protocol=17&limit=500');
    const rows = udp.flows as { protocol_name: string }[];
    assert.equal(rows.length, 40);
    assert.ok(rows.every((r) => r.protocol_name === 'udp'));
    assert.deepEqual(rm.lastArgs.flows, {
      protocol: 'udp',
      ip: undefined,
      port: undefined,
      since_us: undefined,
      limit: 501,
      offset: 0,
    });
    const byIp = await json('/api/flows?ip=10.0.0.7&port=443&protocol=TCP');
    const ipRows = byIp.flows as { src_ip: string; dest_port: number }[];
    assert.ok(ipRows.length > 0);
    assert.ok(ipRows.every((r) => r.src_ip === '10.0.0.7' && r.dest_port === 443));
    await json('/api/flows?ip=2001:db8::1');
    assert.equal((rm.lastArgs.flows as { ip?: string }).ip, '2001:db8::1');
    // Blank filters, as a form submits them, mean no filter.
    await json('/api/flows?protocol=&ip=&port=');
    assert.equal((rm.lastArgs.flows as { protocol?: string }).protocol, undefined);
  });

  it('never sends CIC feature vectors in flow rows', async () => {
    const withFeatures = new FakeReadModel();
    withFeatures.flowRows.push({ ...fakeFlow(0), features: new Float64Array(3) } as ReturnType<typeof fakeFlow>);
    const d = await startDashboard({ port: 0, readModel: withFeatures, health: () => health });
    try {
      const body = (await (await fetch(new URL('/api/flows', d.url))).json()) as { flows: object[] };
      assert.equal(body.flows.length, 1);
      assert.equal('features' in body.flows[0]!, false);
    } finally {
      await d.close();
    }
  });

  it('returns merged top lists and anomalies', async () => {
    const top = await json('/api/top?kind=talkers&window=1&n=2');
    assert.equal(top.kind, 'talkers');
    assert.equal(top.window_s, 1);
    const entries = top.entries as { key: string; packets: number }[];
    assert.deepEqual(
      entries.map((e) => e.key),
      ['10.0.0.3', '10.0.0.2'],
    );
    // 130 windows, each giving 10.0.0.3 30 + index packets.
    assert.equal(entries[0]!.packets, 130 * 30 + (129 * 130) / 2);
    const ports = await json('/api/top?kind=ports');
    assert.equal(ports.window_s, 60);
    assert.equal((ports.entries as { key: string }[])[0]!.key, '443');
    const an = await json('/api/anomalies?limit=5');
    assert.deepEqual(an.anomalies, [{ code: 'ipv4.checksum_invalid', count: 3, last_us: T0_US + 2_000_000 }]);
  });

  it('runs read-only SQL through the read model and turns its refusal into a 400', async () => {
    const ok = await json('/api/query?sql=' + encodeURIComponent('SELECT count(*) FROM flows'));
    assert.deepEqual(ok, { columns: ['count_star()'], rows: [[120]], truncated: false });
    assert.deepEqual(rm.lastArgs.query, { sql: 'SELECT count(*) FROM flows', opts: { maxRows: 1000 } });
    await json('/api/query?max_rows=7&sql=SELECT%201');
    assert.deepEqual(rm.lastArgs.query, { sql: 'SELECT 1', opts: { maxRows: 7 } });
    const refused = await json('/api/query?sql=' + encodeURIComponent('DROP TABLE flows'), 400);
    assert.match(String(refused.error), /refused: only SELECT/);
  });

  for (const [path, message] of [
    ['/api/metrics?window=5', /window must be one of 1, 60/],
    ['/api/metrics?since=-1', /since must be a whole number/],
    ['/api/metrics?since=1e6', /since must be a whole number/],
    ['/api/metrics?limit=0', /limit must be a whole number from 1 to 10000/],
    ['/api/metrics?limit=10001', /limit must be a whole number/],
    ['/api/metrics?windows=1', /unknown parameter "windows" \(known: window, since, limit\)/],
    ['/api/metrics?limit=1&limit=2', /given more than once/],
    ['/api/flows?limit=501', /limit must be a whole number from 1 to 500/],
    ['/api/flows?offset=abc', /offset must be a whole number/],
    ['/api/flows?port=65536', /port must be a whole number from 0 to 65535/],
    ['/api/flows?port=%2080', /port must be a whole number/],
    ['/api/flows?ip=10.0.0.256', /ip must be an IPv4 or IPv6 address/],
    ['/api/flows?ip=10.0.0.1%27%20OR%201=1', /ip must be an IPv4 or IPv6 address/],
    ['/api/flows?protocol=256', /protocol must be/],
    ['/api/flows?protocol=ospf', /protocol must be/],
    ['/api/top', /kind is required/],
    ['/api/top?kind=hosts', /kind must be one of talkers, ports, conversations/],
    ['/api/top?kind=ports&n=101', /n must be a whole number from 1 to 100/],
    ['/api/anomalies?limit=1001', /limit must be/],
    ['/api/query', /sql is required/],
    ['/api/query?sql=%20%20', /sql is required/],
    [`/api/query?sql=${'x'.repeat(8193)}`, /longer than 8192 characters/],
    ['/api/query?sql=SELECT%201&max_rows=10001', /max_rows must be/],
    ['/api/health?verbose=1', /unknown parameter "verbose" \(known: none\)/],
    ['/api/events?since=x', /since must be a whole number/],
  ] as const) {
    it(`answers 400 with a clear message for ${path.slice(0, 60)}`, async () => {
      const body = await json(path, 400);
      assert.match(String(body.error), message);
    });
  }

  it('checks limits against the documented caps', () => {
    assert.equal(API_LIMITS.flows.max, 500);
    assert.equal(API_LIMITS.metrics.max, 10_000);
  });

  it('refuses other methods with 405 and an Allow header', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await get('/api/query?sql=SELECT%201', { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(((await res.json()) as { error: string }).error, /not allowed/);
    }
    assert.equal(rm.calls.query !== undefined && rm.calls.query > 0, true);
  });

  it('answers HEAD like GET without a body', async () => {
    const res = await get('/', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    const ev = await get('/api/events', { method: 'HEAD' });
    assert.equal(ev.status, 200);
    assert.match(ev.headers.get('content-type') ?? '', /text\/event-stream/);
  });

  it('serves the page and its whitelisted files', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /<script src="\/d3\.min\.js"><\/script>/);
    assert.match(html, /data-testid="chart-pps"/);
    for (const [path, type] of [
      ['/app.js', /text\/javascript/],
      ['/charts.js', /text\/javascript/],
      ['/format.js', /text\/javascript/],
      ['/style.css', /text\/css/],
      ['/favicon.svg', /image\/svg\+xml/],
      ['/index.html', /text\/html/],
    ] as const) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type, path);
      assert.ok((await res.text()).length > 100, path);
    }
    const d3 = await get('/d3.min.js');
    assert.equal(d3.status, 200);
    assert.match((await d3.text()).slice(0, 200), /d3js\.org v7/);
  });

  it('serves nothing outside the whitelist', async () => {
    for (const path of [
      '/package.json',
      '/static/app.js',
      '/../package.json',
      '/%2e%2e/%2e%2e/package.json',
      '/app.js/',
      '/APP.JS',
      '/server.ts',
      '/.git/config',
      '/api/',
      '/api/nope',
      '/etc/passwd',
      '/%00',
    ]) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
      assert.match(((await res.json()) as { error: string }).error, /not found/);
    }
    // A raw request line that fetch would normalise.
    const raw = await rawGet(dash.url, '/static/../../package.json', { host: new URL(dash.url).host });
    assert.equal(raw.status, 404);
  });

  it('refuses a non-loopback Host header (DNS rebinding)', async () => {
    const evil = await rawGet(dash.url, '/api/health', { host: 'attacker.example:8080' });
    assert.equal(evil.status, 403);
    assert.match(evil.body, /loopback/);
    for (const host of ['localhost:1234', '127.0.0.1', '[::1]:8080', new URL(dash.url).host]) {
      const ok = await rawGet(dash.url, '/api/health', { host });
      assert.equal(ok.status, 200, host);
    }
  });

  it('answers 400 when the read model refuses an argument', async () => {
    const strict = new FakeReadModel();
    strict.flows = () => Promise.reject(new PipelineError('PCS_USAGE', 'protocol must be a protocol name or number'));
    const d = await startDashboard({ port: 0, readModel: strict, health: () => health });
    try {
      const res = await fetch(new URL('/api/flows?protocol=47', d.url));
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { error: 'protocol must be a protocol name or number' });
    } finally {
      await d.close();
    }
  });

  it('answers 500 with a JSON error when the read model fails', async () => {
    const broken = new FakeReadModel();
    broken.summary = () => Promise.reject(new Error('store is closed'));
    const d = await startDashboard({ port: 0, readModel: broken, health: () => health });
    try {
      const res = await fetch(new URL('/api/summary', d.url));
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: 'internal error: store is closed' });
    } finally {
      await d.close();
    }
  });
});

describe('dashboard listening', () => {
  it('rejects with PCS_DASHBOARD_LISTEN when the port is taken', async () => {
    const rm = new FakeReadModel();
    const first = await startDashboard({ port: 0, readModel: rm, health: fakeHealth });
    const port = Number(new URL(first.url).port);
    try {
      await assert.rejects(startDashboard({ port, readModel: rm, health: fakeHealth }), (err: unknown) => {
        assert.ok(isPipelineError(err));
        assert.equal(err.code, 'PCS_DASHBOARD_LISTEN');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}/: the port is in use`));
        assert.match(err.message, /--port 0/);
        return true;
      });
    } finally {
      await first.close();
    }
  });

  it('rejects an address this machine does not have', async () => {
    await assert.rejects(
      startDashboard({ host: '192.0.2.123', port: 0, readModel: new FakeReadModel(), health: fakeHealth }),
      (err: unknown) => isPipelineError(err) && err.code === 'PCS_DASHBOARD_LISTEN' && /--host/.test(err.message),
    );
  });

  it('defaults to 127.0.0.1 and allows any Host when bound elsewhere', async () => {
    const d = await startDashboard({ host: '0.0.0.0', port: 0, readModel: new FakeReadModel(), health: fakeHealth });
    try {
      assert.match(d.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
      const port = new URL(d.url).port;
      const res = await rawGet(`http://127.0.0.1:${port}/`, '/api/health', { host: 'dashboard.example' });
      assert.equal(res.status, 200);
    } finally {
      await d.close();
    }
  });

  it('closes promptly with an event stream open, and close() is idempotent', async () => {
    const d = await startDashboard({ port: 0, readModel: new FakeReadModel(), health: fakeHealth });
    const sse = new SSEReader(await fetch(new URL('/api/events', d.url)));
    await sse.next('health');
    const started = Date.now();
    await Promise.all([d.close(), d.close()]);
    assert.ok(Date.now() - started < 1000);
    // Whatever was queued before the close, the stream then ends.
    await assert.rejects(async () => {
      for (let i = 0; i < 10; i++) await sse.next(undefined, 1000);
    }, /event stream ended|terminated/);
  });
});

describe('dashboard events (SSE)', () => {
  let dash: Dashboard;
  let rm: FakeReadModel;
  let health: RunHealth;
  const open = async (query = '', headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(`/api/events${query}`, dash.url), { headers });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    return new SSEReader(res);
  };

  before(async () => {
    rm = filledReadModel(10, 5);
    health = fakeHealth();
    dash = await startDashboard({ port: 0, readModel: rm, health: () => health });
  });
  after(() => dash.close());

  it('does not touch the store on notify() with no client connected', () => {
    const before = { ...rm.calls };
    for (let i = 0; i < 100; i++) dash.notify();
    assert.deepEqual(rm.calls, before);
  });

  it('sends health on connect, then health, new windows and the summary after notify()', async () => {
    const sse = await open(`?since=${T0_US + 2_000_000}`);
    try {
      const first = await sse.next();
      assert.equal(first.event, 'health');
      assert.equal((first.data as RunHealth).state, 'running');
      // The connect itself triggers a push: the windows past the cursor and the summary.
      const m = await sse.next('metrics');
      const starts = (m.data as { windows: { start_us: number; window_s: number }[] }).windows.map(
        (w) => `${w.window_s}:${w.start_us - T0_US}`,
      );
      assert.deepEqual(starts, ['1:3000000', '1:4000000']);
      assert.equal(m.id, `${T0_US + 4_000_000}:${T0_US + 2_000_000}`);
      const f = await sse.next('flows');
      assert.equal((f.data as { summary: { flows: number } }).summary.flows, 10);

      // New data in the store, then notify(): the client gets only what is new.
      rm.windows.push(fakeWindow(1, 5), fakeWindow(1, 6));
      rm.flowRows.push(fakeFlow(10));
      health.state = 'done';
      health.records_stored++;
      dash.notify();
      const h = await sse.next('health');
      assert.equal((h.data as RunHealth).state, 'done');
      const m2 = await sse.next('metrics');
      assert.deepEqual(
        (m2.data as { windows: { start_us: number }[] }).windows.map((w) => w.start_us - T0_US),
        [5_000_000, 6_000_000],
      );
      const f2 = await sse.next('flows');
      assert.equal((f2.data as { summary: { flows: number } }).summary.flows, 11);
    } finally {
      await sse.cancel();
    }
  });

  it('coalesces a burst of notify() calls to at most 4 pushes and 1 summary read per second', async () => {
    const sse = await open(`?since=${T0_US + 60_000_000}`);
    try {
      await sse.next('flows');
      await new Promise((r) => setTimeout(r, 300));
      const metricsBefore = rm.calls.metrics ?? 0;
      const summaryBefore = rm.calls.summary ?? 0;
      const started = Date.now();
      const timer = setInterval(() => dash.notify(), 5);
      await new Promise((r) => setTimeout(r, 1000));
      // A flow stored at the end of the burst still reaches the client, by the summary's own timer.
      rm.flowRows.push(fakeFlow(rm.flowRows.length));
      const expected = rm.flowRows.length;
      clearInterval(timer);
      for (;;) {
        const f = await sse.next('flows', 2000);
        if ((f.data as { summary: { flows: number } }).summary.flows === expected) break;
      }
      const seconds = (Date.now() - started) / 1000;
      // Each push reads the windows of both lengths.
      const pushes = ((rm.calls.metrics ?? 0) - metricsBefore) / 2;
      const summaries = (rm.calls.summary ?? 0) - summaryBefore;
      assert.ok(pushes >= 3, `pushes: ${pushes}`);
      assert.ok(pushes <= Math.ceil(seconds * 4) + 1, `${pushes} pushes in ${seconds} s`);
      assert.ok(summaries >= 1 && summaries <= Math.ceil(seconds) + 1, `${summaries} summaries in ${seconds} s`);
    } finally {
      await sse.cancel();
    }
  });

  it('resumes from Last-Event-ID after a reconnect', async () => {
    const sse = await open('?since=0', { 'last-event-id': `${T0_US + 5_000_000}:-1` });
    try {
      const m = await sse.next('metrics');
      const windows = (m.data as { windows: { start_us: number; window_s: number }[] }).windows;
      assert.deepEqual(
        windows.map((w) => `${w.window_s}:${w.start_us - T0_US}`),
        ['1:6000000', '60:0'],
      );
    } finally {
      await sse.cancel();
    }
  });

  it('catches a client up from the start over several pushes', async () => {
    const big = new FakeReadModel();
    const total = MAX_WINDOWS_PER_PUSH + 50;
    for (let i = 0; i < total; i++) big.windows.push(fakeWindow(1, i));
    const d = await startDashboard({ port: 0, readModel: big, health: fakeHealth });
    const sse = new SSEReader(await fetch(new URL('/api/events', d.url)));
    try {
      const got: number[] = [];
      while (got.length < total) {
        const m = await sse.next('metrics');
        for (const w of (m.data as { windows: { start_us: number }[] }).windows) got.push(w.start_us);
      }
      assert.equal(got.length, total);
      assert.deepEqual(
        got,
        big.windows.map((w) => w.start_us),
      );
    } finally {
      await sse.cancel();
      await d.close();
    }
  });

  it('gives a client that connects during a push every window it lacks', async () => {
    const slow = filledReadModel(3, 10);
    const metrics = slow.metrics.bind(slow);
    slow.metrics = async (o) => {
      await new Promise((r) => setTimeout(r, 150));
      return metrics(o);
    };
    const d = await startDashboard({ port: 0, readModel: slow, health: fakeHealth });
    const url = (q: string) => new URL(`/api/events${q}`, d.url);
    const a = new SSEReader(await fetch(url(`?since=${T0_US + 5_000_000}`)));
    // A's connect started a push reading past A's cursor; B arrives while it runs.
    await new Promise((r) => setTimeout(r, 50));
    const b = new SSEReader(await fetch(url('')));
    try {
      const got: number[] = [];
      while (got.length < 10) {
        const m = await b.next('metrics');
        for (const w of (m.data as { windows: { window_s: number; start_us: number }[] }).windows) {
          if (w.window_s === 1) got.push(w.start_us);
        }
      }
      assert.deepEqual(
        got,
        Array.from({ length: 10 }, (_, i) => T0_US + i * 1_000_000),
      );
    } finally {
      await a.cancel();
      await b.cancel();
      await d.close();
    }
  });

  it('forgets a client that disconnected', async () => {
    const quiet = new FakeReadModel();
    const d = await startDashboard({ port: 0, readModel: quiet, health: fakeHealth });
    try {
      const sse = new SSEReader(await fetch(new URL('/api/events', d.url)));
      await sse.next('flows');
      await sse.cancel();
      await new Promise((r) => setTimeout(r, 200));
      const calls = { ...quiet.calls };
      for (let i = 0; i < 10; i++) d.notify();
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(quiet.calls, calls);
    } finally {
      await d.close();
    }
  });
});
