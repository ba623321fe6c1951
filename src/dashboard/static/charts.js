// D3 charts of the dashboard: a time-series line chart and a horizontal bar chart.
// Every drawn value is also in data attributes (and a <title> tooltip), so the numbers on screen
// can be read back exactly by a test or a screen reader.
import { si } from './format.js';

const d3 = globalThis.d3;

const MARGIN = { top: 10, right: 14, bottom: 24, left: 58 };

function size(svg, fallbackHeight) {
  const r = svg.getBoundingClientRect();
  return { width: Math.max(240, Math.round(r.width) || 600), height: Math.round(r.height) || fallbackHeight };
}

/**
 * Line chart over packet time.
 * points: [{ t: window start in µs, v: value }] oldest first; windowUs: window length in µs.
 * Missing windows (no traffic) are drawn as zero on the line but get no point marker, so the
 * markers are exactly the stored windows.
 */
export function lineChart(svgEl, { points, windowUs, format = si, label }) {
  const svg = d3.select(svgEl);
  const { width, height } = size(svgEl, 200);
  svg.attr('viewBox', `0 0 ${width} ${height}`);
  svg.attr('data-count', points.length);
  svg.attr(
    'data-sum',
    points.reduce((a, p) => a + p.v, 0),
  );
  svg.attr('data-last', points.length > 0 ? points[points.length - 1].v : '');
  svg.attr('aria-label', label);

  const innerW = width - MARGIN.left - MARGIN.right;
  const innerH = height - MARGIN.top - MARGIN.bottom;
  const t0 = points.length > 0 ? points[0].t : 0;
  const t1 = points.length > 0 ? points[points.length - 1].t + windowUs : windowUs;
  const x = d3
    .scaleUtc()
    .domain([new Date(t0 / 1000), new Date(t1 / 1000)])
    .range([0, innerW]);
  const yMax = d3.max(points, (p) => p.v) ?? 0;
  const y = d3
    .scaleLinear()
    .domain([0, yMax > 0 ? yMax * 1.08 : 1])
    .nice()
    .range([innerH, 0]);

  const root = svg
    .selectAll('g.root')
    .data([0])
    .join('g')
    .attr('class', 'root')
    .attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);

  root
    .selectAll('g.grid')
    .data([0])
    .join('g')
    .attr('class', 'grid')
    .call(
      d3
        .axisLeft(y)
        .ticks(4)
        .tickSize(-innerW)
        .tickFormat(() => ''),
    );
  root
    .selectAll('g.x-axis')
    .data([0])
    .join('g')
    .attr('class', 'axis x-axis')
    .attr('transform', `translate(0,${innerH})`)
    .call(
      d3
        .axisBottom(x)
        .ticks(Math.max(2, Math.floor(innerW / 90)))
        .tickFormat(d3.utcFormat('%H:%M:%S')),
    );
  root
    .selectAll('g.y-axis')
    .data([0])
    .join('g')
    .attr('class', 'axis y-axis')
    .call(d3.axisLeft(y).ticks(4).tickFormat(si));

  // Zero-fill gaps for the line only: a missing window means no traffic in that second.
  const line = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const prev = points[i - 1];
    if (prev !== undefined && p.t - prev.t > windowUs) {
      line.push({ t: prev.t + windowUs, v: 0 });
      if (p.t - prev.t > 2 * windowUs) line.push({ t: p.t - windowUs, v: 0 });
    }
    line.push(p);
  }
  const path = d3
    .line()
    .x((p) => x(new Date(p.t / 1000)))
    .y((p) => y(p.v));
  root
    .selectAll('path.line')
    .data([line])
    .join('path')
    .attr('class', 'line')
    .attr('d', (d) => (d.length > 0 ? path(d) : null));

  const radius = points.length > 300 ? 2 : 3;
  root
    .selectAll('g.points')
    .data([0])
    .join('g')
    .attr('class', 'points')
    .selectAll('circle')
    .data(points, (p) => p.t)
    .join((enter) => enter.append('circle').call((c) => c.append('title')))
    .attr('data-testid', 'point')
    .attr('data-t', (p) => p.t)
    .attr('data-v', (p) => p.v)
    .attr('cx', (p) => x(new Date(p.t / 1000)))
    .attr('cy', (p) => y(p.v))
    .attr('r', radius)
    .select('title')
    .text((p) => `${new Date(p.t / 1000).toISOString().slice(11, 19)} UTC  ${format(p.v)}`);

  root
    .selectAll('text.empty')
    .data(points.length === 0 ? [0] : [])
    .join('text')
    .attr('class', 'empty')
    .attr('x', innerW / 2)
    .attr('y', innerH / 2)
    .attr('text-anchor', 'middle')
    .text('waiting for metric windows…');
}

const ROW = 22;

/**
 * Horizontal bars. entries: [{ key, value, title, data: { name: value } }], drawn in order.
 * Each bar is a <g data-testid="bar" data-key data-value data-*> holding its label and value.
 */
export function barChart(svgEl, { entries, format = si, colorByKey = false, empty = 'no data yet' }) {
  const svg = d3.select(svgEl);
  const width = size(svgEl, 100).width;
  const height = Math.max(1, entries.length) * ROW + 8;
  svg.attr('viewBox', `0 0 ${width} ${height}`).attr('height', height);
  svg.attr('data-count', entries.length);
  const labelW = Math.min(220, Math.max(90, Math.floor(width * 0.38)));
  const valueW = 64;
  const barW = Math.max(20, width - labelW - valueW - 12);
  const max = d3.max(entries, (e) => e.value) ?? 0;
  const x = d3
    .scaleLinear()
    .domain([0, max > 0 ? max : 1])
    .range([0, barW]);
  const color = d3.scaleOrdinal(d3.schemeTableau10);

  const rows = svg
    .selectAll('g.bar')
    .data(entries, (e) => e.key)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'bar').attr('data-testid', 'bar');
      g.append('title');
      g.append('text')
        .attr('class', 'label')
        .attr('x', labelW - 6)
        .attr('text-anchor', 'end');
      g.append('rect')
        .attr('x', labelW)
        .attr('y', 3)
        .attr('height', ROW - 6);
      g.append('text').attr('class', 'value');
      return g;
    })
    .attr('transform', (_e, i) => `translate(0,${i * ROW + 4})`)
    .attr('data-key', (e) => e.key)
    .attr('data-value', (e) => e.value);
  rows.each(function (e) {
    for (const [k, v] of Object.entries(e.data ?? {})) this.setAttribute(`data-${k}`, String(v));
  });
  rows.select('title').text((e) => e.title ?? `${e.key}: ${format(e.value)}`);
  rows
    .select('text.label')
    .attr('y', ROW / 2)
    .text((e) => (e.key.length > 32 ? `${e.key.slice(0, 31)}…` : e.key));
  rows
    .select('rect')
    .attr('width', (e) => Math.max(1, x(e.value)))
    .style('fill', colorByKey ? (e) => color(e.key) : null);
  rows
    .select('text.value')
    .attr('x', (e) => labelW + Math.max(1, x(e.value)) + 6)
    .attr('y', ROW / 2)
    .text((e) => format(e.value));

  svg
    .selectAll('text.empty')
    .data(entries.length === 0 ? [0] : [])
    .join('text')
    .attr('class', 'empty')
    .attr('x', 8)
    .attr('y', ROW / 2 + 4)
    .text(empty);
}
