/**
 * The live dashboard `pcapstream run` serves: a small Hono app with a JSON HTTP API over the
 * store's read model, Server-Sent Events for live pushes, and the static D3 page.
 *
 * Security: binds 127.0.0.1 unless told otherwise; GET and HEAD only (405 otherwise); every
 * parameter validated (400 with `{ "error": "..." }`); the SQL endpoint goes through the read
 * model's read-only guard; static files come from a fixed whitelist; responses carry a
 * self-only Content-Security-Policy, `nosniff`, no-referrer and frame denial; no CORS headers,
 * so other origins cannot read the API. When bound to a loopback address, requests whose Host
 * header names anything but a loopback host are refused (403), which defeats DNS rebinding:
 * a web page the user visits cannot turn the browser into a client of this API.
 *
 * Endpoints and event formats are documented in docs/dashboard.md.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { isPipelineError, PipelineError } from '../core/errors.ts';
import type { FlowRecord, RunHealth } from '../flow/records.ts';
import type { ReadModel } from '../query/read-model.ts';
import { EventHub } from './events.ts';
import {
  BadRequestError,
  choiceParam,
  intParam,
  ipParam,
  protocolParam,
  readParams,
  sqlParam,
  windowParam,
} from './params.ts';
import { StaticCache } from './static-files.ts';

/**
 * The part of the store's read model the dashboard uses. Every method receives validated
 * parameters; the read model still treats them as untrusted.
 */
export type DashboardReadModel = Pick<ReadModel, 'query' | 'summary' | 'metrics' | 'flows' | 'top' | 'anomalies'>;

/** Options of `startDashboard`. */
export interface DashboardOptions {
  /** Address to bind; default '127.0.0.1'. */
  host?: string;
  /** TCP port; default 8080; 0 = any free port. */
  port?: number;
  readModel: DashboardReadModel;
  /** Live counters of the run, read on every health request and push. */
  health: () => RunHealth;
}

/** A running dashboard server. */
export interface Dashboard {
  /** Base URL, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /**
   * Tell connected pages that the store has new data (called after each store flush); pushes
   * health + new metric windows + a "flows changed" hint over SSE; cheap when no client is
   * connected; rate-limited to <= 4 pushes/s.
   */
  notify(): void;
  /** Stop listening, end the event streams and close every connection. */
  close(): Promise<void>;
}

/** Default TCP port of the dashboard. */
export const DEFAULT_DASHBOARD_PORT = 8080;
/** Default bind address: loopback only. */
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';

/** Caps of the list endpoints (documented in docs/dashboard.md). */
export const API_LIMITS = {
  flows: { min: 1, max: 500, default: 50 },
  offset: { min: 0, max: 10_000_000, default: 0 },
  metrics: { min: 1, max: 10_000, default: 3600 },
  top: { min: 1, max: 100, default: 10 },
  anomalies: { min: 1, max: 1000, default: 100 },
  queryRows: { min: 1, max: 10_000, default: 1000 },
} as const;

/** Largest microsecond timestamp accepted for `since` (year 2255 or so). */
const MAX_US = 9_000_000_000_000_000;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Build the dashboard's Hono app (routes, validation, headers) around a read model, a health
 * source and an event hub. `startDashboard` serves it; tests may call `app.request()` directly.
 * @example
 * const app = createDashboardApp({ readModel, health, hub, loopbackOnly: true });
 * const res = await app.request('http://127.0.0.1/api/health');
 */
export function createDashboardApp(o: {
  readModel: DashboardReadModel;
  health: () => RunHealth;
  hub: EventHub;
  /** Refuse requests whose Host is not a loopback name (set when bound to loopback). */
  loopbackOnly: boolean;
}): Hono {
  const app = new Hono();
  const rm = o.readModel;
  const files = new StaticCache();

  app.use(async (c, next) => {
    const method = c.req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      c.res = c.json({ error: `method ${method} not allowed (the API is read-only: GET or HEAD)` }, 405, {
        allow: 'GET, HEAD',
      });
    } else if (o.loopbackOnly && !isLoopbackHost(c.req.header('host'))) {
      c.res = c.json({ error: 'Host header must name a loopback address (localhost, 127.0.0.1, [::1])' }, 403);
    } else {
      await next();
    }
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });

  const params = (c: { req: { url: string } }, allowed: readonly string[]) => readParams(new URL(c.req.url), allowed);
  const noStore = { 'cache-control': 'no-store' };

  app.get('/api/health', (c) => {
    params(c, []);
    return c.json(o.health(), 200, noStore);
  });

  app.get('/api/summary', async (c) => {
    params(c, []);
    return c.json(await rm.summary(), 200, noStore);
  });

  app.get('/api/metrics', async (c) => {
    const q = params(c, ['window', 'since', 'limit']);
    const window_s = windowParam(q, 1);
    const since_us = intParam(q, 'since', { min: 0, max: MAX_US });
    const limit = intParam(q, 'limit', API_LIMITS.metrics);
    return c.json({ window_s, windows: await rm.metrics({ window_s, since_us, limit }) }, 200, noStore);
  });

  app.get('/api/flows', async (c) => {
    const q = params(c, ['limit', 'offset', 'protocol', 'ip', 'port', 'since']);
    const limit = intParam(q, 'limit', API_LIMITS.flows);
    const offset = intParam(q, 'offset', API_LIMITS.offset);
    const filter = {
      protocol: protocolParam(q),
      ip: ipParam(q),
      port: intParam(q, 'port', { min: 0, max: 65535 }),
      since_us: intParam(q, 'since', { min: 0, max: MAX_US }),
    };
    // One row past the page tells whether a next page exists.
    const rows = await rm.flows({ ...filter, limit: limit + 1, offset });
    const has_more = rows.length > limit;
    if (has_more) rows.length = limit;
    return c.json({ offset, limit, has_more, flows: rows.map(withoutFeatures) }, 200, noStore);
  });

  app.get('/api/top', async (c) => {
    const q = params(c, ['kind', 'window', 'since', 'n']);
    const kind = choiceParam(q, 'kind', ['talkers', 'ports', 'conversations'] as const);
    const window_s = windowParam(q, 60);
    const since_us = intParam(q, 'since', { min: 0, max: MAX_US });
    const n = intParam(q, 'n', API_LIMITS.top);
    const entries = await rm.top({ kind, window_s, since_us, n });
    return c.json({ kind, window_s, since_us: since_us ?? null, entries }, 200, noStore);
  });

  app.get('/api/anomalies', async (c) => {
    const q = params(c, ['limit']);
    const limit = intParam(q, 'limit', API_LIMITS.anomalies);
    return c.json({ anomalies: await rm.anomalies({ limit }) }, 200, noStore);
  });

  app.get('/api/query', async (c) => {
    const q = params(c, ['sql', 'max_rows']);
    const sql = sqlParam(q);
    const maxRows = intParam(q, 'max_rows', API_LIMITS.queryRows);
    try {
      return c.json(await rm.query(sql, { maxRows }), 200, noStore);
    } catch (err) {
      // Refused or failing SQL is the caller's to fix: the read model's message says what and why.
      throw new BadRequestError(err instanceof Error ? err.message : String(err));
    }
  });

  app.get('/api/events', (c) => {
    const q = params(c, ['since']);
    const since = intParam(q, 'since', { min: 0, max: MAX_US }) ?? -1;
    if (c.req.method === 'HEAD') {
      return c.body(null, 200, { 'content-type': 'text/event-stream; charset=utf-8', ...noStore });
    }
    return o.hub.connect(c.req.raw.signal, since, c.req.header('last-event-id'));
  });

  app.get('*', async (c) => {
    const pathname = new URL(c.req.url).pathname;
    if (!pathname.startsWith('/api/')) {
      const hit = await files.get(pathname);
      if (hit !== undefined) {
        return c.body(hit.body as Uint8Array<ArrayBuffer>, 200, {
          'content-type': hit.contentType,
          'cache-control': 'no-cache',
        });
      }
    }
    return c.json({ error: `not found: ${pathname.slice(0, 100)}` }, 404);
  });

  app.onError((err, c) => {
    if (err instanceof BadRequestError) return c.json({ error: err.message }, 400);
    // The read model's own argument checks, should one of ours ever let a bad value through.
    if (isPipelineError(err) && err.code === 'PCS_USAGE') return c.json({ error: err.message }, 400);
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });

  return app;
}

/**
 * Serve the dashboard. Rejects with a `PipelineError` (code `PCS_DASHBOARD_LISTEN`) when the
 * address cannot be bound (port in use, no permission, unknown address).
 * @example
 * const dash = await startDashboard({ port: 0, readModel: ReadModel.ofStore(store), health: () => health });
 * process.stderr.write(`dashboard: ${dash.url}\n`);
 * // after each store flush:
 * dash.notify();
 * await dash.close();
 */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? DEFAULT_DASHBOARD_HOST;
  const port = o.port ?? DEFAULT_DASHBOARD_PORT;
  const hub = new EventHub({ readModel: o.readModel, health: o.health });
  const app = createDashboardApp({
    readModel: o.readModel,
    health: o.health,
    hub,
    loopbackOnly: isLoopbackHost(host),
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const where = `http://${hostForUrl(host)}:${port}/`;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new PipelineError('PCS_DASHBOARD_LISTEN', listenMessage(where, err), { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const url = `http://${hostForUrl(host)}:${bound}/`;
  let closing: Promise<void> | undefined;
  return {
    url,
    notify: () => hub.notify(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        // Idle keep-alive sockets (and streams whose end is still in flight) would hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listenMessage(where: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `cannot serve the dashboard on ${where}: the port is in use (choose another --port, or --port 0 for any free port)`;
    case 'EACCES':
      return `cannot serve the dashboard on ${where}: permission denied (ports below 1024 need privileges; choose another --port)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `cannot serve the dashboard on ${where}: the address is not available on this machine (check --host)`;
    default:
      return `cannot serve the dashboard on ${where}: ${err.message}`;
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Whether a host name (with optional port, IPv6 in brackets or bare) is a loopback name. */
function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  let name = host.toLowerCase();
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']') < 0 ? undefined : name.indexOf(']'));
  else if (name.split(':').length === 2) name = name.slice(0, name.indexOf(':'));
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** Flow rows go out without the CIC feature vector, whatever the read model hands back. */
function withoutFeatures(r: Omit<FlowRecord, 'features'>): Omit<FlowRecord, 'features'> {
  if (!('features' in r)) return r;
  const { features: _features, ...rest } = r as FlowRecord;
  return rest;
}
