// pcapstream dashboard page: loads the store's data through the JSON API, then follows the
// run through Server-Sent Events (/api/events). See docs/dashboard.md.
//
// Charts and tables show what the store holds (what `pcapstream query` would return); the
// header, the total tiles and the pipeline-health panel show the run's live counters.
import { barChart, lineChart } from './charts.js';
import * as fmt from './format.js';

/** 1 s windows kept for the line charts (one hour); older points scroll out. */
const MAX_POINTS = 3600;
const US = 1_000_000;

const state = {
  health: null,
  summary: null,
  /** 1 s metric windows, oldest first: { t: start µs, packets, bytes }. */
  series: [],
  /** Newest window start received, per window length. */
  cursor: { 1: -1, 60: -1 },
  flows: { offset: 0, limit: 25, protocol: '', ip: '', port: '' },
  topWindow: 'all',
  /** Last answers of /api/top for talkers and ports. */
  top: { talkers: [], ports: [] },
  anomalies: [],
  /**
   * Alerts raised by detectors (scan, flood...) once the run has them: [{ kind, key, text }].
   * Empty for now; rendered with the anomaly and loss alerts.
   */
  detectorAlerts: [],
};

const byId = (id) => document.querySelector(`[data-testid="${id}"]`);

async function getJSON(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** Run `fn` at most once per `ms`, always once more after the last call (trailing edge). */
function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    if (running) {
      again = true;
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } catch (err) {
      console.warn(err);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (timer !== null) return;
    timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
  };
  return schedule;
}

function setValue(id, value, text) {
  const el = byId(id);
  if (el === null) return;
  el.dataset.value = value === null || value === undefined ? '' : String(value);
  el.textContent = text;
  el.title = value === null || value === undefined ? '' : fmt.int(value);
}

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, String(v));
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- header and health ---------------------------------------------------------------------

function renderHealth() {
  const h = state.health;
  if (h === null) return;
  const input = h.input === '-' ? 'stdin' : h.input;
  byId('run-input').textContent = input;
  const st = byId('run-state');
  st.textContent = h.state;
  st.dataset.state = h.state;
  const prog = byId('run-progress');
  if (h.progress === null) prog.removeAttribute('value');
  else prog.value = h.progress;
  prog.dataset.value = h.progress === null ? '' : String(h.progress);
  byId('run-progress-text').textContent = h.progress === null ? 'streaming' : `${(h.progress * 100).toFixed(1)} %`;
  byId('run-elapsed').textContent = fmt.seconds(h.elapsed_s);
  document.title = `pcapstream · ${h.state} · ${input}`;

  const rows = [
    ['state', 'health-state', h.state, h.state],
    ['packets processed', 'health-packets', h.packets, fmt.int(h.packets)],
    ['bytes processed', 'health-bytes', h.bytes, fmt.bytes(h.bytes)],
    ['processing packets/s', 'health-pps', h.packets_per_s, fmt.si(h.packets_per_s)],
    ['processing bits/s', 'health-bps', h.bytes_per_s * 8, `${fmt.si(h.bytes_per_s * 8)}b/s`],
    ['flows live', 'health-flows-live', h.flows_live, fmt.int(h.flows_live)],
    ['flows total', 'health-flows-total', h.flows_total, fmt.int(h.flows_total)],
    ['records stored', 'health-records', h.records_stored, fmt.int(h.records_stored)],
    ['anomalies', 'health-anomalies', h.anomalies, fmt.int(h.anomalies)],
    ['elapsed', 'health-elapsed', h.elapsed_s, fmt.seconds(h.elapsed_s)],
  ];
  renderTiles();
  const body = byId('health-table').tBodies[0];
  body.replaceChildren(
    ...rows.map(([label, id, value, text]) => {
      const tr = el('tr');
      tr.append(el('th', {}, label), el('td', { class: 'num', 'data-testid': id, 'data-value': value }, text));
      return tr;
    }),
  );
  const losses = Object.entries(h.losses ?? {}).sort(([a], [b]) => a.localeCompare(b));
  byId('losses-table').tBodies[0].replaceChildren(
    ...losses.map(([name, count]) => {
      const tr = el('tr', { 'data-testid': 'loss-row', 'data-name': name });
      const td = el('td', { class: 'num', 'data-testid': `loss-${name}`, 'data-value': count }, fmt.int(count));
      if (count > 0) td.classList.add('bad');
      tr.append(el('td', { class: 'mono' }, name), td);
      return tr;
    }),
  );
  renderAlerts();
}

function renderAlerts() {
  const items = [];
  for (const [name, count] of Object.entries(state.health?.losses ?? {})) {
    if (count > 0) items.push({ kind: 'loss', key: name, value: count, text: `loss: ${name} = ${fmt.int(count)}` });
  }
  for (const a of state.anomalies) {
    if (a.count > 0) {
      items.push({ kind: 'anomaly', key: a.code, value: a.count, text: `anomaly ${a.code} × ${fmt.int(a.count)}` });
    }
  }
  for (const a of state.detectorAlerts) items.push(a);
  const list = byId('alerts-list');
  list.dataset.count = String(items.length);
  if (items.length === 0) {
    list.replaceChildren(el('li', { class: 'none' }, 'no alerts'));
    return;
  }
  list.replaceChildren(
    ...items.map((a) =>
      el('li', { 'data-testid': 'alert', 'data-kind': a.kind, 'data-key': a.key, 'data-value': a.value }, a.text),
    ),
  );
}

// ---- tiles and charts ----------------------------------------------------------------------

function renderTiles() {
  const h = state.health;
  if (h !== null) {
    setValue('kpi-packets', h.packets, fmt.si(h.packets));
    setValue('kpi-bytes', h.bytes, fmt.bytes(h.bytes));
    setValue('kpi-flows', h.flows_total, fmt.si(h.flows_total));
    setValue('kpi-anomalies', h.anomalies, fmt.si(h.anomalies));
  }
  const last = state.series[state.series.length - 1];
  setValue('kpi-pps', last?.packets ?? null, last ? fmt.si(last.packets) : '–');
  setValue('kpi-bps', last ? last.bytes * 8 : null, last ? fmt.si(last.bytes * 8) : '–');
}

function renderProtocols() {
  const rows = state.summary?.by_protocol ?? [];
  const entries = rows
    .map((r) => ({
      key: r.protocol,
      value: r.packets,
      title: `${r.protocol}: ${fmt.int(r.packets)} packets, ${fmt.bytes(r.bytes)}, ${fmt.int(r.flows)} flows`,
      data: { flows: r.flows, packets: r.packets, bytes: r.bytes },
    }))
    .sort((a, b) => b.value - a.value || a.key.localeCompare(b.key));
  barChart(byId('chart-protocols'), { entries, colorByKey: true });
}

const renderLines = () => {
  const pps = state.series.map((w) => ({ t: w.t, v: w.packets }));
  const bps = state.series.map((w) => ({ t: w.t, v: w.bytes * 8 }));
  lineChart(byId('chart-pps'), { points: pps, windowUs: US, label: 'packets per second' });
  lineChart(byId('chart-bps'), {
    points: bps,
    windowUs: US,
    label: 'bits per second',
    format: (v) => `${fmt.si(v)}b/s`,
  });
};
let linesQueued = false;
function queueLines() {
  if (linesQueued) return;
  linesQueued = true;
  requestAnimationFrame(() => {
    linesQueued = false;
    renderLines();
    renderTiles();
  });
}

function addWindows(windows) {
  let added = false;
  for (const w of windows) {
    if (!(w.start_us > state.cursor[w.window_s])) continue;
    state.cursor[w.window_s] = w.start_us;
    if (w.window_s === 1) {
      state.series.push({ t: w.start_us, packets: w.packets, bytes: w.bytes });
      added = true;
    }
  }
  if (state.series.length > MAX_POINTS) state.series.splice(0, state.series.length - MAX_POINTS);
  if (added) {
    queueLines();
    refreshTop();
  }
}

// ---- top lists -----------------------------------------------------------------------------

async function loadTop() {
  const qs = new URLSearchParams({ window: '1', n: '10' });
  const newest = state.series[state.series.length - 1];
  if (state.topWindow === 'minute' && newest !== undefined) qs.set('since', String(newest.t - 59 * US));
  const tag = qs.toString();
  const [talkers, ports] = await Promise.all([
    getJSON(`/api/top?kind=talkers&${tag}`),
    getJSON(`/api/top?kind=ports&${tag}`),
  ]);
  state.top = { talkers: talkers.entries, ports: ports.entries, query: tag };
  renderTop();
}

function renderTop() {
  for (const [id, entries] of [
    ['chart-talkers', state.top.talkers],
    ['chart-ports', state.top.ports],
  ]) {
    const svg = byId(id);
    svg.dataset.query = state.top.query ?? '';
    barChart(svg, {
      entries: entries.map((e) => ({
        key: e.key,
        value: e.packets,
        title: `${e.key}: ${fmt.int(e.packets)} packets, ${fmt.bytes(e.bytes)}`,
        data: { packets: e.packets, bytes: e.bytes },
      })),
    });
  }
}
const refreshTop = throttle(loadTop, 2000);

// ---- flows table ---------------------------------------------------------------------------

function flowQuery() {
  const f = state.flows;
  const qs = new URLSearchParams({ limit: String(f.limit), offset: String(f.offset) });
  if (f.protocol !== '') qs.set('protocol', f.protocol);
  if (f.ip !== '') qs.set('ip', f.ip);
  if (f.port !== '') qs.set('port', f.port);
  return qs.toString();
}

async function loadFlows() {
  const query = flowQuery();
  const table = byId('flows-table');
  const error = byId('flows-error');
  let r;
  try {
    r = await getJSON(`/api/flows?${query}`);
  } catch (err) {
    error.textContent = err.message;
    table.dataset.state = 'error';
    return;
  }
  if (query !== flowQuery()) return; // the filters changed while this was in flight
  error.textContent = '';
  const rows = r.flows.map((f) => {
    const packets = f.fwd_packets + f.bwd_packets;
    const bytes = f.fwd_bytes + f.bwd_bytes;
    const tr = el('tr', {
      'data-testid': 'flow-row',
      'data-flow-id': f.flow_id,
      'data-protocol': f.protocol_name,
      'data-src-ip': f.src_ip,
      'data-dest-ip': f.dest_ip,
      'data-src-port': f.src_port,
      'data-dest-port': f.dest_port,
      'data-packets': packets,
      'data-bytes': bytes,
    });
    if (f.partial) tr.classList.add('partial');
    const flags = f.protocol === 6 ? `${fmt.tcpFlags(f.fwd_tcp_flags)} / ${fmt.tcpFlags(f.bwd_tcp_flags)}` : '';
    tr.append(
      el('td', {}, fmt.timeUs(f.first_seen_us)),
      el('td', {}, f.protocol_name),
      el('td', { class: 'mono' }, fmt.endpoint(f.src_ip, f.src_port, f.protocol)),
      el('td', { class: 'mono' }, fmt.endpoint(f.dest_ip, f.dest_port, f.protocol)),
      el('td', { class: 'num' }, `${fmt.int(f.fwd_packets)} / ${fmt.int(f.bwd_packets)}`),
      el('td', { class: 'num', title: `${fmt.int(bytes)} bytes` }, fmt.bytes(bytes)),
      el('td', { class: 'num' }, fmt.durationUs(f.duration_us)),
      el('td', {}, flags),
      el('td', {}, f.partial ? 'update' : f.end_reason),
      el('td', { class: 'mono' }, f.community_id),
    );
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.dataset.query = query;
  table.dataset.rows = String(rows.length);
  table.dataset.hasMore = String(r.has_more);
  table.dataset.state = 'loaded';
  const f = state.flows;
  byId('flows-range').textContent =
    rows.length === 0 ? (f.offset === 0 ? 'no flows' : 'no more flows') : `${f.offset + 1}–${f.offset + rows.length}`;
  byId('flows-prev').disabled = f.offset === 0;
  byId('flows-next').disabled = !r.has_more;
}
const refreshFlows = throttle(loadFlows, 1000);

function wireFlowFilters() {
  const form = byId('flows-filters');
  form.addEventListener('submit', (e) => e.preventDefault());
  const apply = () => {
    const data = new FormData(form);
    const port = String(data.get('port') ?? '').trim();
    const portInput = byId('filter-port');
    const portOk = port === '' || (/^[0-9]{1,5}$/.test(port) && Number(port) <= 65535);
    portInput.setAttribute('aria-invalid', String(!portOk));
    if (!portOk) {
      byId('flows-error').textContent = 'port must be a number from 0 to 65535';
      return;
    }
    state.flows = {
      offset: 0,
      limit: Number(data.get('limit')),
      protocol: String(data.get('protocol') ?? ''),
      ip: String(data.get('ip') ?? '').trim(),
      port,
    };
    void loadFlows();
  };
  let debounce = null;
  form.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(apply, 300);
  });
  form.addEventListener('change', () => {
    clearTimeout(debounce);
    apply();
  });
  byId('flows-prev').addEventListener('click', () => {
    state.flows.offset = Math.max(0, state.flows.offset - state.flows.limit);
    void loadFlows();
  });
  byId('flows-next').addEventListener('click', () => {
    state.flows.offset += state.flows.limit;
    void loadFlows();
  });
}

// ---- anomalies -----------------------------------------------------------------------------

async function loadAnomalies() {
  const r = await getJSON('/api/anomalies?limit=100');
  state.anomalies = r.anomalies;
  const table = byId('anomalies-table');
  table.tBodies[0].replaceChildren(
    ...r.anomalies.map((a) => {
      const tr = el('tr', { 'data-testid': 'anomaly-row', 'data-code': a.code, 'data-count': a.count });
      tr.append(
        el('td', { class: 'mono' }, a.code),
        el('td', { class: 'num' }, fmt.int(a.count)),
        el('td', {}, fmt.timeUs(a.last_us)),
      );
      return tr;
    }),
  );
  table.dataset.rows = String(r.anomalies.length);
  renderAlerts();
}
const refreshAnomalies = throttle(loadAnomalies, 1000);

// ---- live updates --------------------------------------------------------------------------

function onSummary(summary) {
  state.summary = summary;
  renderTiles();
  renderProtocols();
  refreshAnomalies();
  if (state.flows.offset === 0) refreshFlows();
  refreshTop();
}

function connect() {
  const since = state.cursor[1];
  const es = new EventSource(since >= 0 ? `/api/events?since=${since}` : '/api/events');
  const conn = byId('conn-state');
  es.addEventListener('open', () => {
    conn.dataset.state = 'live';
    conn.textContent = 'live';
  });
  es.addEventListener('error', () => {
    conn.dataset.state = 'reconnecting';
    conn.textContent = 'reconnecting…';
  });
  es.addEventListener('health', (e) => {
    state.health = JSON.parse(e.data);
    renderHealth();
  });
  es.addEventListener('metrics', (e) => addWindows(JSON.parse(e.data).windows));
  es.addEventListener('flows', (e) => onSummary(JSON.parse(e.data).summary));
}

async function init() {
  wireFlowFilters();
  byId('top-window').addEventListener('change', (e) => {
    state.topWindow = e.target.value;
    void loadTop();
  });
  const [health, summary] = await Promise.all([getJSON('/api/health'), getJSON('/api/summary')]);
  state.health = health;
  state.summary = summary;
  renderHealth();
  // The newest hour of 1 s windows; the event stream continues from the newest one fetched.
  const qs = new URLSearchParams({ window: '1', limit: String(MAX_POINTS) });
  let since = -1;
  if (summary.last_us !== null) {
    since = Math.max(0, Math.floor(summary.last_us / US) * US - (MAX_POINTS - 1) * US);
    qs.set('since', String(since));
  }
  const m = await getJSON(`/api/metrics?${qs}`);
  if (m.windows.length === 0 && since > 0) state.cursor[1] = since - 1;
  addWindows(m.windows);
  connect();
  renderTiles();
  renderProtocols();
  renderLines();
  await Promise.all([loadFlows(), loadAnomalies(), loadTop()]);
  new ResizeObserver(
    throttle(() => {
      renderLines();
      renderProtocols();
      renderTop();
    }, 250),
  ).observe(document.querySelector('main'));
  document.body.dataset.loaded = '1';
}

init().catch((err) => {
  console.error(err);
  const conn = byId('conn-state');
  conn.dataset.state = 'reconnecting';
  conn.textContent = `failed to load: ${err.message}`;
  // Try again: the server may still be starting or the store not yet open.
  setTimeout(() => location.reload(), 3000);
});
