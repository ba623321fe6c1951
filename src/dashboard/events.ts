/**
 * Server-Sent Events for the dashboard: `GET /api/events` streams `health`, `metrics` and `flows`
 * events to every connected page.
 *
 * A push reads the store once for all clients: the run's health, the metric windows newer than
 * the oldest client's cursor (one query per window length), and the store summary. Each client
 * then gets only what it has not seen. Pushes happen on `notify()` (after each store flush),
 * coalesced to at most one per `minIntervalMs` (250 ms: <= 4 pushes/s); with no client connected
 * `notify()` returns at once. The summary is read at most once per `summaryIntervalMs` (1 s),
 * sooner for a new client or a change of run state: over 100k stored flows it costs about 90 ms
 * of DuckDB time, against a few ms for the windows, and the run shares two cores with it. A 1 s heartbeat sends the health alone while nothing else changes,
 * and starts a full push itself when the run's stored-record count or state moved, so a page
 * stays current even if a flush is never announced.
 *
 * Cursors: a client's metrics cursor is the newest window start it has (per window length). It
 * comes from `?since=<us>` (the page passes the newest start it fetched through /api/metrics) or,
 * on an automatic reconnect, from the `Last-Event-ID` the browser sends back: every `metrics`
 * event's id is `<cursor of 1 s windows>:<cursor of 60 s windows>`. Without either, the client
 * gets every stored window, at most `MAX_WINDOWS_PER_PUSH` per push and the rest on the next ones.
 *
 * A client that does not read (its queue passes `MAX_QUEUED_BYTES`) is disconnected; the browser
 * reconnects with its Last-Event-ID and loses nothing.
 */
import type { MetricWindow, RunHealth } from '../flow/records.ts';
import type { DashboardReadModel } from './server.ts';

/** Metric window lengths pushed, in seconds. */
const WINDOW_LENGTHS = [1, 60] as const;
/** Most windows of one length read per push; a client further behind catches up over the next pushes. */
export const MAX_WINDOWS_PER_PUSH = 600;
/** A client with more than this queued unread is dropped. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Comment line sent this often so dead connections are noticed and proxies keep the stream. */
const KEEPALIVE_MS = 15_000;

const encoder = new TextEncoder();

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** Newest window start sent, per window length (index in WINDOW_LENGTHS); -1 = none. */
  cursors: number[];
  /** Key of the last summary sent ('' = none yet). */
  summaryKey: string;
}

/** Options of `EventHub`. */
export interface EventHubOptions {
  readModel: DashboardReadModel;
  health: () => RunHealth;
  /** Least time between two pushes; default 250 ms. */
  minIntervalMs?: number;
  /** Least time between two summary reads; default 1000 ms. */
  summaryIntervalMs?: number;
  /** Heartbeat period; default 1000 ms. */
  heartbeatMs?: number;
  /** Called with an error a push met (the store closing under it, say); default: ignore. */
  onError?: (err: unknown) => void;
}

/**
 * Fan-out of live updates to the connected pages.
 * @example
 * const hub = new EventHub({ readModel, health: () => run.health() });
 * app.get('/api/events', (c) => hub.connect(c.req.raw.signal, 0, undefined));
 * store.flush().then(() => hub.notify());
 */
export class EventHub {
  private readonly clients = new Set<Client>();
  private readonly o: EventHubOptions;
  private readonly minInterval: number;
  private readonly summaryInterval: number;
  private lastPush = 0;
  private lastSummary = 0;
  private lastSummaryState = '';
  private summaryKey = '';
  private summaryFrame = '';
  /** A push skipped the summary: one more is due once the interval has passed. */
  private summaryTimer: NodeJS.Timeout | undefined;
  private pushing = false;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastKeepalive = 0;
  private lastRecords = -1;
  private lastState = '';
  private closed = false;
  /** Pushes done (full ones, with store reads); for tests and the health of the dashboard itself. */
  pushes = 0;

  constructor(o: EventHubOptions) {
    this.o = o;
    this.minInterval = o.minIntervalMs ?? 250;
    this.summaryInterval = o.summaryIntervalMs ?? 1000;
  }

  /** Number of connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Open a stream for a new client. `since` is the newest window start (µs) the client already
   * has, or -1; `lastEventId` is the browser's Last-Event-ID header on a reconnect.
   */
  connect(signal: AbortSignal, since: number, lastEventId: string | undefined): Response {
    const cursors = parseEventId(lastEventId) ?? [since, since];
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          client = { controller, cursors, summaryKey: '' };
          if (this.closed) {
            controller.close();
            return;
          }
          this.clients.add(client);
          this.startHeartbeat();
          this.write(client, `retry: 2000\n\n${frame('health', this.o.health())}`);
          // The new client needs the summary and any windows past its cursor.
          this.notify();
        },
        cancel: () => {
          if (client !== undefined) this.drop(client);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    signal.addEventListener('abort', () => client !== undefined && this.drop(client), { once: true });
    return new Response(stream, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    });
  }

  /** The store has new data: push to every client soon (rate-limited, coalesced). */
  notify(): void {
    if (this.clients.size === 0 || this.closed) return;
    if (this.pushing) {
      this.pending = true;
      return;
    }
    if (this.timer !== undefined) return;
    const wait = this.lastPush + this.minInterval - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.push();
      }, wait);
      return;
    }
    void this.push();
  }

  /** End every stream and stop the timers. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.summaryTimer);
    clearInterval(this.heartbeat);
    this.timer = this.heartbeat = this.summaryTimer = undefined;
    for (const c of this.clients) {
      try {
        c.controller.close();
      } catch {
        // Already closed by the client side.
      }
    }
    this.clients.clear();
  }

  private async push(): Promise<void> {
    if (this.clients.size === 0 || this.closed) return;
    this.pushing = true;
    this.lastPush = Date.now();
    this.pushes++;
    // Only the clients whose cursors the reads below cover: one connecting meanwhile, with an
    // older cursor, waits for the next push (its connect asked for one) so it misses no window.
    const targets = [...this.clients];
    try {
      const health = this.o.health();
      this.lastRecords = health.records_stored;
      this.lastState = health.state;
      const byLength = await Promise.all(WINDOW_LENGTHS.map((len, i) => this.newWindows(targets, len, i)));
      await this.readSummary(health.state);
      if (this.closed) return;
      const healthFrame = frame('health', health);
      const summaryKey = this.summaryKey;
      const summaryFrame = this.summaryFrame;
      for (const c of targets) {
        if (!this.clients.has(c)) continue;
        let out = healthFrame;
        const windows: MetricWindow[] = [];
        for (let i = 0; i < WINDOW_LENGTHS.length; i++) {
          for (const w of byLength[i]!.windows) {
            if (w.start_us > c.cursors[i]!) {
              windows.push(w);
              c.cursors[i] = w.start_us;
            }
          }
        }
        if (windows.length > 0) {
          out += frame('metrics', { windows }, c.cursors.join(':'));
        }
        if (summaryKey !== '' && c.summaryKey !== summaryKey) {
          c.summaryKey = summaryKey;
          out += summaryFrame;
        }
        this.write(c, out);
      }
      // A client further behind than one page of windows gets the rest on the next push.
      if (byLength.some((r) => r.full)) this.pending = true;
    } catch (err) {
      this.o.onError?.(err);
    } finally {
      this.pushing = false;
    }
    if (this.pending) {
      this.pending = false;
      this.notify();
    }
  }

  /** Read the summary when due; otherwise make sure a later push reads it. */
  private async readSummary(state: string): Promise<void> {
    const now = Date.now();
    let due = now - this.lastSummary >= this.summaryInterval || state !== this.lastSummaryState;
    for (const c of this.clients) if (c.summaryKey === '') due = true;
    if (!due) {
      this.summaryTimer ??= setTimeout(
        () => {
          this.summaryTimer = undefined;
          this.notify();
        },
        this.lastSummary + this.summaryInterval - now,
      );
      return;
    }
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    this.lastSummary = now;
    this.lastSummaryState = state;
    const summary = await this.o.readModel.summary();
    this.summaryKey = JSON.stringify(summary);
    this.summaryFrame = frame('flows', { summary });
  }

  /** Windows of one length newer than the oldest client's cursor, oldest first. */
  private async newWindows(
    clients: Client[],
    len: number,
    i: number,
  ): Promise<{ windows: MetricWindow[]; full: boolean }> {
    let from = Number.POSITIVE_INFINITY;
    for (const c of clients) from = Math.min(from, c.cursors[i]!);
    const got = await this.o.readModel.metrics({
      window_s: len,
      since_us: from < 0 ? undefined : from + 1,
      limit: MAX_WINDOWS_PER_PUSH,
    });
    return { windows: got.filter((w) => w.start_us > from), full: got.length >= MAX_WINDOWS_PER_PUSH };
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== undefined) return;
    const period = this.o.heartbeatMs ?? 1000;
    this.heartbeat = setInterval(() => this.beat(period), period);
    this.heartbeat.unref();
  }

  private beat(period: number): void {
    if (this.clients.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
      return;
    }
    const health = this.o.health();
    if (health.records_stored !== this.lastRecords || health.state !== this.lastState) {
      this.notify();
      return;
    }
    const now = Date.now();
    if (this.pushing || now - this.lastPush < period) return;
    let out = frame('health', health);
    if (now - this.lastKeepalive >= KEEPALIVE_MS) {
      out = `: keepalive\n\n${out}`;
      this.lastKeepalive = now;
    }
    for (const c of this.clients) this.write(c, out);
  }

  private write(c: Client, text: string): void {
    const size = c.controller.desiredSize;
    if (size !== null && size < -MAX_QUEUED_BYTES) {
      // Not reading: drop it; the browser reconnects with its Last-Event-ID.
      this.drop(c);
      try {
        c.controller.close();
      } catch {
        // Already closed.
      }
      return;
    }
    try {
      c.controller.enqueue(encoder.encode(text));
    } catch {
      this.drop(c);
    }
  }

  private drop(c: Client): void {
    this.clients.delete(c);
  }
}

/** One SSE event. JSON text has no raw line breaks, so one `data:` line holds it. */
function frame(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Cursors from a Last-Event-ID `<us>:<us>`; undefined when absent or malformed. */
function parseEventId(id: string | undefined): number[] | undefined {
  if (id === undefined) return undefined;
  const m = /^(-1|[0-9]{1,16}):(-1|[0-9]{1,16})$/.exec(id);
  if (m === null) return undefined;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return Number.isSafeInteger(a) && Number.isSafeInteger(b) ? [a, b] : undefined;
}
