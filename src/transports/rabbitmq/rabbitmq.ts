/**
 * RabbitMQ transport (`amqp://` and `amqps://`) over AMQP 0-9-1, for RabbitMQ 3.9 or newer
 * (stream queues). Everything is built from queues, so it needs no plugin.
 *
 * Names (prefix `pcs` unless `?prefix=`; `:` separates parts and topic names are limited to
 * `[A-Za-z0-9._-]`, so group names may hold anything):
 * - `P:s:T:p` a stream queue per partition: the log. Offsets are the stream's own (0, 1, ...),
 *   read from the `x-stream-offset` header of each delivery.
 * - `P:t:T` a classic queue whose message count is the partition count (see `ensureTopic`).
 * - `P:m:G` a fanout exchange where the members of group G announce themselves.
 * - `P:l:G:T:p` an always-empty queue; the member holding an exclusive consumer on it owns the
 *   partition (the lease).
 * - `P:kv:K` and `P:lock:K` a small key-value register (below) for committed offsets
 *   (`o:G:T:p`), checkpoints (`cp:G:T:p`) and the groups of a topic (`g:T`).
 *
 * Log semantics. Every group reads every partition stream from its own committed offset + 1
 * (`x-stream-offset`), so messages sent before a group existed are delivered, each group gets
 * every message, and a new owner resumes after the last commit. `send` resolves on the
 * publisher confirm: the stream has written the message (on a cluster, a majority of replicas).
 *
 * Ownership. Members announce themselves every `heartbeatMs` on the group's exchange and drop
 * members not heard of for `sessionMs`; a leaving member says so. Every member sorts the live
 * ids it knows and wants partition p when p mod (number of members) is its own index. It takes
 * the partition by registering an exclusive consumer on the lease queue: RabbitMQ refuses a
 * second one (403), and releases it the moment the holder's channel or connection closes, so a
 * crashed member's lease frees itself and two members never read one partition at once. The
 * stream consumer runs on the lease's channel, so losing the lease stops the reading too. A
 * partition no longer wanted is announced as `revoked` by the next `poll` and released then.
 *
 * Committed offsets, checkpoints and the groups list live in registers: a durable classic queue
 * holding the value as its last message, guarded by a lock, the exclusive consumer of a second
 * queue. Under the lock a reader drains older leftovers with basic.get, keeps the last message
 * and requeues it; a writer publishes the new value (confirmed, persistent) and acks the old.
 * basic.get answers synchronously, so an empty register reads as null with certainty. A commit
 * is written on the member's own connection after checking that its lease channel is open: a
 * member whose connection dropped (and so lost its leases) cannot commit. The one gap is an
 * administrator deleting a lease queue between that check and the write.
 *
 * Backlog. The stream's end is found by attaching a consumer at `last` and reading the last
 * chunk (then a round trip on the same channel, then a short quiet period); exact when nobody
 * is sending, a little behind otherwise. `backlog` is end − committed − 1 summed over
 * partitions.
 *
 * Back-pressure and disk. RabbitMQ never deletes what groups have consumed: a stream keeps
 * everything until a retention limit (`?maxAge=` such as `7D`, or `?maxBytes=`) removes the
 * oldest segments, whether read or not, so retention is not back-pressure. `send` checks,
 * every `maxBacklog / 4` messages per partition, how far the slowest group that ever
 * subscribed to the topic lags, and waits while that is more than `maxBacklog`. With no group
 * yet, `send` never waits (the data is on disk, not in memory).
 *
 * Reconnecting: each transport and each consumer has its own connection, re-dialled with
 * back-off; calls retry until `retryForMs`. A consumer whose connection dropped loses its
 * leases (`revoked`), rejoins and takes its partitions again from the committed offsets.
 *
 * URL: `amqp[s]://[USER:PASS@]HOST:PORT[/VHOST][?prefix=&maxBacklog=&prefetch=&sessionMs=&heartbeatMs=&maxAge=&maxBytes=]`.
 * Credentials missing from the URL come from `PCAPSTREAM_AMQP_USERNAME` / `PCAPSTREAM_AMQP_PASSWORD`; for
 * `amqps://`, `PCAPSTREAM_AMQP_CA_FILE` names a PEM file of trusted CAs (default: the system's).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  connect,
  type Options,
  type SocketOptions,
} from 'amqplib';
import { PipelineError } from '../../core/errors.ts';
import type {
  CheckpointStore,
  Consumer,
  ConsumerEvent,
  ConsumerOptions,
  IncomingMessage,
  OutgoingMessage,
  Producer,
  Transport,
  TransportFactory,
  TransportOptions,
} from '../../core/transport.ts';
import { SendsInFlight, TopicPartitions } from '../producer-bookkeeping.ts';

const DEFAULT_RETRY_FOR_MS = 120_000;
const DEFAULT_MAX_BACKLOG = 100_000;
const DEFAULT_PREFETCH = 200;
const DEFAULT_SESSION_MS = 6000;
const DEFAULT_HEARTBEAT_MS = 500;
/** Lease and lock queues unused for a week are deleted by the broker. */
const IDLE_QUEUE_EXPIRES_MS = 7 * 24 * 3600 * 1000;
/** How long a new member listens to the others before it takes partitions. */
const JOIN_LISTEN_MS = 300;
/** Longest wait for the broker to confirm a close. */
const CLOSE_WAIT_MS = 5000;
/** Quiet time that ends a stream-end probe. */
const PROBE_QUIET_MS = 25;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/;
const QUEUE_NAME_MAX = 255;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function checkTopic(topic: string): void {
  if (!TOPIC_NAME.test(topic)) {
    throw new PipelineError('PCS_TRANSPORT', `amqp: topic names use letters, digits, '.', '_' and '-': '${topic}'`);
  }
}

/** Reply codes of channel errors that a retry will not fix. */
const HARD_CODES = new Set([403, 404, 405, 406, 530, 540]);

function errCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** Refused logins and untrusted certificates: retrying will not help. */
function isRefused(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (/CERT/.test(String(errCode(err) ?? ''))) return true;
  return /ACCESS_REFUSED|ACCESS-REFUSED|Login was refused|NOT_ALLOWED|vhost|certificate/i.test(err.message);
}

/** Names of every queue and exchange, in one place. */
class Names {
  readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = prefix;
  }
  private check(name: string): string {
    if (Buffer.byteLength(name) > QUEUE_NAME_MAX) {
      throw new PipelineError('PCS_TRANSPORT', `amqp: name longer than ${QUEUE_NAME_MAX} bytes: '${name}'`);
    }
    return name;
  }
  stream(t: string, p: number): string {
    return this.check(`${this.prefix}:s:${t}:${p}`);
  }
  topic(t: string): string {
    return this.check(`${this.prefix}:t:${t}`);
  }
  members(g: string): string {
    return this.check(`${this.prefix}:m:${g}`);
  }
  lease(g: string, t: string, p: number): string {
    return this.check(`${this.prefix}:l:${g}:${t}:${p}`);
  }
  register(key: string): { data: string; lock: string } {
    return { data: this.check(`${this.prefix}:kv:${key}`), lock: this.check(`${this.prefix}:lock:${key}`) };
  }
}

interface Settings {
  names: Names;
  retryForMs: number;
  maxBacklog: number;
  prefetch: number;
  sessionMs: number;
  heartbeatMs: number;
  /** Extra arguments of every stream queue (retention). */
  streamArgs: Record<string, unknown>;
}

/** Opens a channel that never crashes the process with an unhandled 'error' event. */
async function openChannel(conn: ChannelModel): Promise<Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  return ch;
}

async function openConfirmChannel(conn: ChannelModel): Promise<ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  return ch;
}

/**
 * Closes a channel or connection and settles however that ends. amqplib settles `close()` only
 * when the broker's close-ok arrives: if the connection drops first, the object emits 'close'
 * and the promise stays pending for ever. A caller awaiting it would hang, or, with nothing else
 * keeping the process alive, the process would exit mid-work.
 */
export function closeQuietly(x: Channel | ChannelModel | null | undefined): Promise<void> {
  if (x == null) return Promise.resolve();
  return new Promise((done) => {
    const finish = (): void => {
      clearTimeout(timer);
      x.off('close', finish);
      done();
    };
    const timer = setTimeout(finish, CLOSE_WAIT_MS);
    x.once('close', finish);
    try {
      // Rejects when already closed with its connection or by a channel error.
      x.close().then(finish, finish);
    } catch {
      finish();
    }
  });
}

/** A message the broker acknowledged but could not route to its stream. */
class NotRouted extends Error {
  readonly queue: string;
  constructor(queue: string) {
    super(`'${queue}' is not accepting messages yet`);
    this.queue = queue;
  }
}

/**
 * One AMQP connection, dialled again after it drops. `run` retries an operation across drops
 * until `retryForMs`.
 */
class Link {
  readonly settings: Settings;
  private readonly target: Options.Connect;
  private readonly socket: SocketOptions;
  private readonly host: string;
  private conn: ChannelModel | null = null;
  private dialling: Promise<ChannelModel> | null = null;
  private readonly lost = new Set<() => void>();
  /** Bumped on every drop; state tied to a connection remembers the generation it was made in. */
  generation = 0;
  downSince = 0;
  private closed = false;

  constructor(settings: Settings, target: Options.Connect, socket: SocketOptions, host: string) {
    this.settings = settings;
    this.target = target;
    this.socket = socket;
    this.host = host;
  }

  /** Calls `f` whenever the connection drops. */
  onLost(f: () => void): void {
    this.lost.add(f);
  }

  get current(): ChannelModel | null {
    return this.conn;
  }

  /** The live connection, dialling until `deadline` if there is none. */
  connection(deadline: number): Promise<ChannelModel> {
    if (this.conn !== null) return Promise.resolve(this.conn);
    if (this.dialling === null) {
      this.dialling = this.dial(deadline).finally(() => {
        this.dialling = null;
      });
    }
    return this.dialling;
  }

  private async dial(deadline: number): Promise<ChannelModel> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'amqp: connection closed');
      try {
        const c = await connect(this.target, { ...this.socket, timeout: 5000 });
        c.on('error', () => {});
        c.on('close', () => {
          if (this.conn !== c) return;
          this.conn = null;
          this.generation++;
          this.downSince = Date.now();
          for (const f of this.lost) f();
        });
        if (this.closed) {
          await closeQuietly(c);
          throw new PipelineError('PCS_TRANSPORT', 'amqp: connection closed');
        }
        this.conn = c;
        this.downSince = 0;
        return c;
      } catch (err) {
        if (isRefused(err)) {
          throw new PipelineError('PCS_TRANSPORT', `amqp: ${this.host} refused the login: ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (Date.now() >= deadline || this.closed) {
          throw new PipelineError('PCS_TRANSPORT', `amqp: cannot reach ${this.host}: ${(err as Error).message}`, {
            cause: err,
            retriable: true,
          });
        }
        await sleep(Math.min(1000, 100 * 2 ** Math.min(attempt, 4), Math.max(0, deadline - Date.now())));
      }
    }
  }

  /** Runs `fn` on the live connection, retrying drops until `retryForMs` has passed. */
  async run<T>(what: string, fn: (conn: ChannelModel) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.settings.retryForMs;
    for (let attempt = 0; ; attempt++) {
      const conn = await this.connection(deadline);
      try {
        return await fn(conn);
      } catch (err) {
        const code = errCode(err);
        const dropped = this.conn !== conn || code === 320 || (err instanceof Error && /closed/i.test(err.message));
        if ((typeof code === 'number' && HARD_CODES.has(code)) || !dropped || this.closed) {
          if (err instanceof PipelineError || err instanceof NotRouted) throw err;
          throw new PipelineError('PCS_TRANSPORT', `amqp: ${what}: ${(err as Error).message}`, { cause: err });
        }
        if (Date.now() >= deadline) {
          throw new PipelineError('PCS_TRANSPORT', `amqp: ${what} failed for ${this.settings.retryForMs} ms`, {
            cause: err,
            retriable: true,
          });
        }
        await sleep(Math.min(500, 50 * 2 ** Math.min(attempt, 4)));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = null;
    await closeQuietly(c);
  }
}

/**
 * Reads and writes a register (`P:kv:K`) on `conn` under its lock. `update` gets the current
 * value and returns the new one, or undefined to leave it; `guard` is checked just before the
 * write and may throw. Resolves to the value after the call.
 */
async function registerAccess(
  conn: ChannelModel,
  names: Names,
  key: string,
  deadline: number,
  update?: (current: Buffer | null) => Buffer | undefined,
  guard?: () => void,
): Promise<Buffer | null> {
  const { data, lock } = names.register(key);
  let lockCh: Channel | null = null;
  let dataCh: ConfirmChannel | null = null;
  try {
    // Take the lock: an exclusive consumer on the lock queue. A refusal (403) closes the
    // channel, so each attempt gets a fresh one.
    for (let attempt = 0; ; attempt++) {
      lockCh = await openChannel(conn);
      const q = await lockCh.assertQueue(lock, { durable: true, arguments: { 'x-expires': IDLE_QUEUE_EXPIRES_MS } });
      if (q.consumerCount === 0) {
        try {
          await lockCh.consume(lock, () => {}, { exclusive: true, noAck: true });
          break;
        } catch (err) {
          if (errCode(err) !== 403) throw err;
        }
      }
      await closeQuietly(lockCh);
      lockCh = null;
      if (Date.now() > deadline) {
        throw new PipelineError('PCS_TRANSPORT', `amqp: register '${key}' stayed locked`, { retriable: true });
      }
      await sleep(Math.min(50, 2 + attempt * 3) * (0.5 + Math.random()));
    }
    dataCh = await openConfirmChannel(conn);
    await dataCh.assertQueue(data, { durable: true });
    let held = await dataCh.get(data, { noAck: false });
    // Older values left by a writer that died between publish and ack: keep only the last.
    while (held !== false && held.fields.messageCount > 0) {
      dataCh.ack(held);
      held = await dataCh.get(data, { noAck: false });
    }
    const current = held === false ? null : held.content;
    const next = update?.(current);
    if (next === undefined) {
      if (held !== false) dataCh.nack(held, false, true);
      return current;
    }
    guard?.();
    const ch = dataCh;
    await new Promise<void>((ok, fail) => {
      ch.sendToQueue(data, next, { persistent: true }, (err) => (err == null ? ok() : fail(err)));
    });
    if (held !== false) dataCh.ack(held);
    return next;
  } finally {
    // Closing the data channel requeues whatever it still holds; closing the lock channel
    // releases the lock.
    await closeQuietly(dataCh);
    await closeQuietly(lockCh);
  }
}

/**
 * Finds the end of a stream: the offset the next message will get (0 when empty). Attaches at
 * `last`, which delivers the last chunk, then waits for a round trip on the same channel and a
 * short quiet period.
 */
async function streamEnd(conn: ChannelModel, queue: string): Promise<number> {
  const ch = await openChannel(conn);
  try {
    await ch.prefetch(5000);
    let last = -1;
    let at = Date.now();
    await ch.consume(
      queue,
      (m) => {
        if (m === null) return;
        last = Math.max(last, Number(m.properties.headers?.['x-stream-offset'] ?? -1));
        at = Date.now();
        ch.ack(m);
      },
      { noAck: false, arguments: { 'x-stream-offset': 'last' } },
    );
    await ch.checkQueue(queue);
    while (Date.now() - at < PROBE_QUIET_MS) await sleep(PROBE_QUIET_MS);
    return last + 1;
  } finally {
    await closeQuietly(ch);
  }
}

function offsetKey(group: string, topic: string, p: number): string {
  return `o:${group}:${topic}:${p}`;
}

function parseOffset(v: Buffer | null): number {
  if (v === null) return -1;
  const n = Number(v.toString('utf8'));
  return Number.isInteger(n) ? n : -1;
}

function parseGroups(v: Buffer | null): string[] {
  if (v === null) return [];
  try {
    const list = JSON.parse(v.toString('utf8')) as unknown;
    return Array.isArray(list) ? list.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

/** Partition count of a topic (the topic queue's message count), 0 if it does not exist. */
async function topicPartitions(link: Link, topic: string): Promise<number> {
  checkTopic(topic);
  const name = link.settings.names.topic(topic);
  return link.run('partitions', async (conn) => {
    const ch = await openChannel(conn);
    try {
      return (await ch.checkQueue(name)).messageCount;
    } catch (err) {
      if (errCode(err) === 404) return 0;
      throw err;
    } finally {
      await closeQuietly(ch);
    }
  });
}

/** Resolves when the channel's write buffer has drained, or the channel closed. */
function drained(ch: Channel): Promise<void> {
  return new Promise((r) => {
    const done = (): void => {
      ch.off('drain', done);
      ch.off('close', done);
      r();
    };
    ch.once('drain', done);
    ch.once('close', done);
  });
}

class RabbitProducer implements Producer {
  private readonly link: Link;
  private readonly transport: RabbitTransport;
  private ch: ConfirmChannel | null = null;
  private chConn: ChannelModel | null = null;
  private readonly partitions: TopicPartitions;
  /** Messages sent per (topic, partition) since its back-pressure was last checked. */
  private readonly sinceCheck = new Map<string, number>();
  private readonly sends = new SendsInFlight();
  /** Streams a message got through to on the current channel. */
  private readonly routed = new Set<string>();
  /** Message ids the broker returned as unroutable. */
  private readonly returned = new Set<string>();
  private readonly token = randomBytes(6).toString('hex');
  private seq = 0;
  private closed = false;

  constructor(link: Link, transport: RabbitTransport) {
    this.link = link;
    this.transport = transport;
    this.partitions = new TopicPartitions('amqp', (topic) => topicPartitions(link, topic));
  }

  send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.sends.track(this.sendAll(topic, messages));
  }

  private async sendAll(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'amqp: send on a closed producer');
    checkTopic(topic);
    const byPartition = await this.partitions.group(topic, messages);
    for (const [p, list] of byPartition) await this.backPressure(topic, p, list.length);
    const confirmed = new Array<boolean>(messages.length).fill(false);
    const deadline = Date.now() + this.link.settings.retryForMs;
    for (;;) {
      try {
        await this.link.run('send', (conn) => this.publish(conn, topic, messages, confirmed));
        return;
      } catch (err) {
        if (!(err instanceof NotRouted)) throw err;
        if (Date.now() >= deadline) {
          throw new PipelineError('PCS_TRANSPORT', `amqp: ${err.message} for ${this.link.settings.retryForMs} ms`, {
            cause: err,
            retriable: true,
          });
        }
        this.routed.delete(err.queue);
        await sleep(200);
      }
    }
  }

  /** Waits while the slowest known group lags more than `maxBacklog` on this partition. */
  private async backPressure(topic: string, partition: number, adding: number): Promise<void> {
    const { maxBacklog } = this.link.settings;
    const key = `${topic}\u0000${partition}`;
    const since = (this.sinceCheck.get(key) ?? 0) + adding;
    if (since < Math.max(1, Math.floor(maxBacklog / 4))) {
      this.sinceCheck.set(key, since);
      return;
    }
    this.sinceCheck.set(key, 0);
    while ((await this.transport.slowestLag(topic, partition)) > maxBacklog) {
      if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'amqp: producer closed while waiting to send');
      await sleep(200);
    }
  }

  /**
   * Publishes what is not confirmed yet, in order; resolves when all are confirmed. A message
   * the broker could not route (a stream not running yet, right after a broker restart) comes
   * back as basic.return before its ack, and counts as not sent. So that such a gap cannot put
   * later messages of the partition ahead of it, the first message to each partition on a
   * connection goes alone; once one got through, the rest are pipelined.
   */
  private async publish(conn: ChannelModel, topic: string, messages: OutgoingMessage[], confirmed: boolean[]) {
    if (this.ch === null || this.chConn !== conn) {
      const ch = await openConfirmChannel(conn);
      ch.on('close', () => {
        if (this.ch === ch) this.ch = null;
      });
      ch.on('return', (m: { properties: { messageId?: unknown } }) => {
        if (typeof m.properties.messageId === 'string') this.returned.add(m.properties.messageId);
      });
      this.ch = ch;
      this.chConn = conn;
      this.routed.clear();
    }
    const ch = this.ch;
    const { names } = this.link.settings;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < messages.length; i++) {
      if (confirmed[i]) continue;
      const m = messages[i]!;
      const body = Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength);
      const id = `${this.token}-${++this.seq}`;
      const options: Options.Publish = { persistent: true, mandatory: true, messageId: id };
      if (m.key !== undefined) options.headers = { 'x-pcs-key': m.key };
      const index = i;
      const stream = names.stream(topic, m.partition);
      let room = true;
      const wait = new Promise<void>((ok, fail) => {
        room = ch.sendToQueue(stream, body, options, (err) => {
          if (this.returned.delete(id)) fail(new NotRouted(stream));
          else if (err != null) fail(err instanceof Error ? err : new Error(String(err)));
          else {
            confirmed[index] = true;
            ok();
          }
        });
      });
      // Handled here too: if an earlier await below throws, the others are never awaited.
      wait.catch(() => {});
      waits.push(wait);
      if (!this.routed.has(stream)) {
        await wait;
        this.routed.add(stream);
      } else if (!room) {
        // Bounded in flight: when the channel's write buffer is full, wait until it drains.
        await drained(ch);
      }
    }
    const results = await Promise.allSettled(waits);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sends.settled();
    await closeQuietly(this.ch);
    this.ch = null;
  }
}

/** A partition this member holds the lease of. */
interface Owned {
  topic: string;
  partition: number;
  /** Channel holding the lease consumer and the stream consumer. */
  ch: Channel;
  /** Offset of the next message to hand out. */
  next: number;
  /** Delivered by the broker, not handed out yet (at most `prefetch`). */
  buffer: ConsumeMessage[];
  revoking: boolean;
  /** Set when the lease channel closed or the stream consumer was cancelled. */
  gone: boolean;
}

interface Announcement {
  id: string;
  topics: string[];
  /** A new member asks the others to announce themselves now. */
  hello?: boolean;
  leaving?: boolean;
}

let memberSeq = 0;

class RabbitConsumer implements Consumer {
  readonly memberId: string;
  private readonly identity: string;
  private readonly link: Link;
  private readonly group: string;
  private readonly topics: string[];
  private readonly maxMessages: number;
  private readonly owned = new Map<string, Owned>();
  private readonly counts = new Map<string, number>();
  /** Live members by id: when last heard of, and their topics. */
  private readonly view = new Map<string, { seen: number; topics: string[] }>();
  private events: ConsumerEvent[] = [];
  private wakeUp: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private again = false;
  /** Delay of the next heartbeat when not the usual period. */
  private nextBeatMs: number | null = null;
  private memberCh: Channel | null = null;
  private memberGen = -1;
  private joinedAt = 0;
  private cursor = 0;
  private closed = false;

  constructor(link: Link, options: ConsumerOptions) {
    this.link = link;
    this.group = options.group;
    this.topics = [...new Set(options.topics)];
    this.maxMessages = Math.max(1, options.maxMessages ?? 10_000);
    this.memberId = options.memberId ?? `${hostname()}-${process.pid}-${++memberSeq}`;
    // Unique per instance: ids sort the same way in every member's view.
    this.identity = `${this.memberId}#${randomBytes(6).toString('hex')}`;
    link.onLost(() => this.connectionLost());
  }

  async join(): Promise<void> {
    for (const t of this.topics) checkTopic(t);
    const { names } = this.link.settings;
    names.members(this.group);
    // Remember the group for the topic, so producers wait for it (back-pressure).
    for (const t of this.topics) {
      await this.link.run('join', (conn) =>
        registerAccess(conn, names, `g:${t}`, Date.now() + this.link.settings.retryForMs, (cur) => {
          const groups = parseGroups(cur);
          return groups.includes(this.group) ? undefined : Buffer.from(JSON.stringify([...groups, this.group]));
        }),
      );
    }
    await this.link.run('join', (conn) => this.setupMembership(conn));
    this.schedule(0);
  }

  private key(topic: string, p: number): string {
    return `${topic}\u0000${p}`;
  }

  private notify(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** Declares the group's exchange and this member's queue on it, and says hello. */
  private async setupMembership(conn: ChannelModel): Promise<void> {
    const { names } = this.link.settings;
    const exchange = names.members(this.group);
    const ch = await openChannel(conn);
    await ch.assertExchange(exchange, 'fanout', { durable: true, autoDelete: false });
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await ch.bindQueue(q.queue, exchange, '');
    await ch.consume(q.queue, (m) => this.heard(m), { noAck: true });
    this.memberCh = ch;
    this.memberGen = this.link.generation;
    this.view.clear();
    this.view.set(this.identity, { seen: Date.now(), topics: this.topics });
    this.joinedAt = Date.now();
    this.announce({ id: this.identity, topics: this.topics, hello: true });
  }

  private announce(a: Announcement): void {
    const ch = this.memberCh;
    if (ch === null) return;
    try {
      ch.publish(this.link.settings.names.members(this.group), '', Buffer.from(JSON.stringify(a)));
    } catch {
      // The channel went away with the connection; the next heartbeat sets it up again.
    }
  }

  private heard(m: ConsumeMessage | null): void {
    if (m === null) return;
    let a: Announcement;
    try {
      a = JSON.parse(m.content.toString('utf8')) as Announcement;
    } catch {
      return;
    }
    if (typeof a.id !== 'string' || a.id === this.identity || !Array.isArray(a.topics)) return;
    const known = this.view.has(a.id);
    if (a.leaving) {
      this.view.delete(a.id);
      this.kick();
      return;
    }
    this.view.set(a.id, { seen: Date.now(), topics: a.topics.filter((t) => typeof t === 'string') });
    if (a.hello) this.announce({ id: this.identity, topics: this.topics });
    if (!known || a.hello) this.kick();
  }

  /** Runs a heartbeat soon (membership changed). */
  private kick(): void {
    if (this.closed) return;
    if (this.beating !== null) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beating = this.heartbeat()
        .catch(() => {})
        .finally(() => {
          this.beating = null;
          const next = this.again ? 0 : (this.nextBeatMs ?? this.link.settings.heartbeatMs);
          this.again = false;
          this.nextBeatMs = null;
          this.schedule(next);
        });
    }, ms);
    this.timer.unref();
  }

  private async heartbeat(): Promise<void> {
    const { sessionMs, heartbeatMs } = this.link.settings;
    const conn = await this.link.connection(Date.now() + heartbeatMs * 2);
    if (this.closed) return;
    if (this.memberCh === null || this.memberGen !== this.link.generation) await this.setupMembership(conn);
    this.announce({ id: this.identity, topics: this.topics });
    const now = Date.now();
    this.view.set(this.identity, { seen: now, topics: this.topics });
    for (const [id, v] of this.view) if (now - v.seen > sessionMs) this.view.delete(id);
    // A new member first listens, so that it does not grab partitions the others hold.
    const listening = Math.min(JOIN_LISTEN_MS, heartbeatMs) - (now - this.joinedAt);
    if (listening > 0) {
      this.nextBeatMs = listening;
      return;
    }
    for (const topic of this.topics) {
      let count = this.counts.get(topic) ?? 0;
      if (count === 0) {
        count = await topicPartitions(this.link, topic);
        if (count > 0) this.counts.set(topic, count);
      }
      const members = [...this.view].filter(([, v]) => v.topics.includes(topic)).map(([id]) => id);
      members.sort();
      const me = members.indexOf(this.identity);
      for (let p = 0; p < count; p++) {
        const wanted = p % members.length === me;
        const o = this.owned.get(this.key(topic, p));
        if (o !== undefined && !wanted && !o.revoking) {
          o.revoking = true;
          this.events.push({ kind: 'revoked', topic, partitions: [p] });
          this.notify();
        } else if (o !== undefined && wanted && o.revoking) {
          o.revoking = false;
          this.cancelRevoked(topic, p);
        } else if (o === undefined && wanted && !this.closed) {
          await this.acquire(conn, topic, p);
        }
      }
    }
  }

  /** Tries to take the lease of a partition; on success starts reading after the commit. */
  private async acquire(conn: ChannelModel, topic: string, partition: number): Promise<void> {
    const { names, prefetch, retryForMs } = this.link.settings;
    const lease = names.lease(this.group, topic, partition);
    const ch = await openChannel(conn);
    let consumed = false;
    try {
      const q = await ch.assertQueue(lease, { durable: true, arguments: { 'x-expires': IDLE_QUEUE_EXPIRES_MS } });
      if (q.consumerCount > 0) return;
      try {
        await ch.consume(lease, () => {}, { exclusive: true, noAck: true });
      } catch (err) {
        if (errCode(err) === 403) return;
        throw err;
      }
      const committed = parseOffset(
        await registerAccess(conn, names, offsetKey(this.group, topic, partition), Date.now() + retryForMs),
      );
      if (this.closed || this.link.current !== conn) return;
      const o: Owned = { topic, partition, ch, next: committed + 1, buffer: [], revoking: false, gone: false };
      ch.on('close', () => this.leaseClosed(o));
      await ch.prefetch(prefetch);
      await ch.consume(names.stream(topic, partition), (m) => this.delivered(o, m), {
        noAck: false,
        arguments: { 'x-stream-offset': committed + 1 },
      });
      if (o.gone) return;
      consumed = true;
      this.owned.set(this.key(topic, partition), o);
      this.events.push({ kind: 'assigned', topic, partitions: [partition] });
      this.notify();
    } finally {
      if (!consumed) await closeQuietly(ch);
    }
  }

  private delivered(o: Owned, m: ConsumeMessage | null): void {
    if (m === null) {
      // The broker cancelled the stream consumer (queue deleted): give the partition up.
      void closeQuietly(o.ch);
      return;
    }
    const offset = Number(m.properties.headers?.['x-stream-offset']);
    const expected = o.buffer.length > 0 ? this.offsetOf(o.buffer.at(-1)!) + 1 : o.next;
    if (!(offset >= expected)) {
      // Before the start (the broker begins at a chunk boundary): not ours to hand out.
      o.ch.ack(m);
      return;
    }
    o.buffer.push(m);
    this.notify();
  }

  private offsetOf(m: ConsumeMessage): number {
    return Number(m.properties.headers?.['x-stream-offset']);
  }

  private leaseClosed(o: Owned): void {
    o.gone = true;
    const k = this.key(o.topic, o.partition);
    if (this.owned.get(k) !== o) return;
    this.owned.delete(k);
    if (o.revoking) this.cancelRevoked(o.topic, o.partition);
    if (!this.closed) {
      this.events.push({ kind: 'revoked', topic: o.topic, partitions: [o.partition] });
      this.notify();
    }
  }

  private connectionLost(): void {
    this.memberCh = null;
    // Every lease channel closes with the connection; `leaseClosed` reports each. Make sure it
    // happens even if amqplib delivers the channel closes later.
    for (const o of [...this.owned.values()]) this.leaseClosed(o);
  }

  private cancelRevoked(topic: string, p: number): void {
    for (const e of this.events) {
      if (e.kind === 'revoked' && e.topic === topic) e.partitions = e.partitions.filter((x) => x !== p);
    }
    this.events = this.events.filter((e) => e.kind !== 'revoked' || e.partitions.length > 0);
  }

  /** Hands out the queued events; partitions revoked by them are released now. */
  private handEvents(): ConsumerEvent[] {
    const out = this.events;
    this.events = [];
    let released = false;
    for (const e of out) {
      if (e.kind !== 'revoked') continue;
      for (const p of e.partitions) {
        const o = this.owned.get(this.key(e.topic, p));
        if (o?.revoking) {
          this.owned.delete(this.key(e.topic, p));
          o.gone = true;
          void closeQuietly(o.ch);
          released = true;
        }
      }
    }
    // Tell the others at once, so the new owner need not wait for its next heartbeat.
    if (released) this.announce({ id: this.identity, topics: this.topics, hello: true });
    return out;
  }

  async poll(maxWaitMs: number): Promise<ConsumerEvent[]> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'amqp: poll on a closed consumer');
    const { retryForMs } = this.link.settings;
    if (this.link.downSince > 0 && Date.now() - this.link.downSince > retryForMs) {
      throw new PipelineError('PCS_TRANSPORT', `amqp: unreachable for more than ${retryForMs} ms`, { retriable: true });
    }
    if (this.link.current === null && this.beating === null) this.kick();
    const deadline = Date.now() + Math.max(0, maxWaitMs);
    for (;;) {
      if (this.events.length > 0) return this.handEvents();
      const out = this.take();
      if (out.length > 0) return out;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return [];
      await new Promise<void>((r) => {
        const timer = setTimeout(done, left);
        const self = this;
        function done(): void {
          clearTimeout(timer);
          if (self.wakeUp === done) self.wakeUp = null;
          r();
        }
        this.wakeUp = done;
      });
    }
  }

  /** Up to `maxMessages` buffered messages, partitions visited in turn so none starves. */
  private take(): ConsumerEvent[] {
    const slots = [...this.owned.values()].filter((o) => !o.revoking && !o.gone && o.buffer.length > 0);
    const out: ConsumerEvent[] = [];
    let budget = this.maxMessages;
    for (let i = 0; i < slots.length && budget > 0; i++) {
      const o = slots[(this.cursor + i) % slots.length]!;
      const batch = o.buffer.splice(0, budget);
      const messages: IncomingMessage[] = [];
      for (const m of batch) {
        const offset = this.offsetOf(m);
        messages.push({ partition: o.partition, offset: String(offset), value: m.content });
        o.next = offset + 1;
        // Acks only return credit to the stream consumer; positions live in commits.
        try {
          o.ch.ack(m);
        } catch {
          // Channel closed meanwhile; the partition is being revoked.
        }
      }
      budget -= messages.length;
      out.push({ kind: 'messages', topic: o.topic, partition: o.partition, messages });
    }
    this.cursor++;
    return out;
  }

  async commit(topic: string, partition: number, offset: string): Promise<void> {
    const n = Number(offset);
    if (!/^\d+$/.test(offset) || !Number.isSafeInteger(n)) {
      throw new PipelineError('PCS_TRANSPORT', `amqp: bad offset '${offset}'`);
    }
    const o = this.owned.get(this.key(topic, partition));
    if (o === undefined || o.gone) {
      throw new PipelineError('PCS_TRANSPORT', `amqp: ${this.memberId} does not own ${topic}/${partition}`);
    }
    const conn = this.link.current;
    const generation = this.link.generation;
    const lost = (): PipelineError =>
      new PipelineError('PCS_TRANSPORT', `amqp: ${this.memberId} lost ${topic}/${partition}; not committed`);
    if (conn === null) throw lost();
    const { names, retryForMs } = this.link.settings;
    try {
      // On the connection that holds the lease, and only while it does.
      await registerAccess(
        conn,
        names,
        offsetKey(this.group, topic, partition),
        Date.now() + retryForMs,
        (cur) => (n > parseOffset(cur) ? Buffer.from(String(n)) : undefined),
        () => {
          if (o.gone || this.link.generation !== generation || this.owned.get(this.key(topic, partition)) !== o) {
            throw lost();
          }
        },
      );
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      if (o.gone || this.link.generation !== generation) throw lost();
      throw new PipelineError('PCS_TRANSPORT', `amqp: commit: ${(err as Error).message}`, {
        cause: err,
        retriable: true,
      });
    }
  }

  assignment(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const o of this.owned.values()) {
      const list = m.get(o.topic) ?? [];
      list.push(o.partition);
      m.set(o.topic, list);
    }
    for (const list of m.values()) list.sort((a, b) => a - b);
    return m;
  }

  async lag(): Promise<number> {
    const { names } = this.link.settings;
    let n = 0;
    for (const o of [...this.owned.values()]) {
      const end = await this.link.run('lag', (conn) => streamEnd(conn, names.stream(o.topic, o.partition)));
      n += Math.max(0, end - o.next);
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.notify();
    // A heartbeat stuck behind an outage must not hold the close; the link's close ends it.
    await Promise.race([this.beating, sleep(2000)]);
    this.announce({ id: this.identity, topics: this.topics, leaving: true });
    for (const o of [...this.owned.values()]) {
      o.gone = true;
      await closeQuietly(o.ch);
    }
    this.owned.clear();
    this.events = [];
    await closeQuietly(this.memberCh);
    this.memberCh = null;
    await this.link.close();
  }
}

class RabbitCheckpoints implements CheckpointStore {
  private readonly link: Link;
  constructor(link: Link) {
    this.link = link;
  }

  async save(group: string, topic: string, partition: number, data: Uint8Array): Promise<void> {
    const value = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const { names, retryForMs } = this.link.settings;
    await this.link.run('checkpoint save', (conn) =>
      registerAccess(conn, names, `cp:${group}:${topic}:${partition}`, Date.now() + retryForMs, () => value),
    );
  }

  async load(group: string, topic: string, partition: number): Promise<Uint8Array | null> {
    const { names, retryForMs } = this.link.settings;
    return this.link.run('checkpoint load', (conn) =>
      registerAccess(conn, names, `cp:${group}:${topic}:${partition}`, Date.now() + retryForMs),
    );
  }
}

class RabbitTransport implements Transport {
  readonly id = 'rabbitmq';
  readonly checkpoints: CheckpointStore;
  private readonly link: Link;
  private readonly makeLink: () => Link;
  private readonly made: (Producer | Consumer)[] = [];

  constructor(link: Link, makeLink: () => Link) {
    this.link = link;
    this.makeLink = makeLink;
    this.checkpoints = new RabbitCheckpoints(link);
  }

  /**
   * Creates the partition streams, then fills the topic queue with one message per partition.
   * The topic queue is declared with `x-max-length` = partitions and `reject-publish`, so two
   * creators racing with the same count still leave exactly that many messages, and one with
   * another count fails the declaration (arguments differ) and reads the existing count.
   */
  async ensureTopic(topic: string, partitions: number): Promise<number> {
    checkTopic(topic);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      throw new PipelineError('PCS_TRANSPORT', `partitions must be 1 to 10000, got ${partitions}`);
    }
    const have = await topicPartitions(this.link, topic);
    if (have > 0) return have;
    const { names, streamArgs } = this.link.settings;
    const name = names.topic(topic);
    const created = await this.link.run('ensureTopic', async (conn) => {
      const ch = await openConfirmChannel(conn);
      try {
        try {
          await ch.assertQueue(name, {
            durable: true,
            arguments: { 'x-max-length': partitions, 'x-overflow': 'reject-publish' },
          });
        } catch (err) {
          if (errCode(err) === 406) return false;
          throw err;
        }
        for (let p = 0; p < partitions; p++) {
          await ch.assertQueue(names.stream(topic, p), {
            durable: true,
            arguments: { 'x-queue-type': 'stream', ...streamArgs },
          });
        }
        const confirms: Promise<void>[] = [];
        for (let p = 0; p < partitions; p++) {
          confirms.push(
            new Promise<void>((ok) => {
              // A nack means another creator filled the slot first: fine either way.
              ch.sendToQueue(name, Buffer.from(String(p)), { persistent: true }, () => ok());
            }),
          );
        }
        await Promise.all(confirms);
        return true;
      } finally {
        await closeQuietly(ch);
      }
    });
    // Another creator with a different count won: wait until its topic is complete enough to read.
    for (let i = 0; i < 100; i++) {
      const n = await topicPartitions(this.link, topic);
      if (n > 0 && (created || i > 0)) return n;
      await sleep(50);
    }
    return topicPartitions(this.link, topic);
  }

  partitions(topic: string): Promise<number> {
    return topicPartitions(this.link, topic);
  }

  async producer(): Promise<Producer> {
    const p = new RabbitProducer(this.link, this);
    this.made.push(p);
    return p;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    // Each member has its own connection: its leases live and die with it.
    const link = this.makeLink();
    const c = new RabbitConsumer(link, options);
    try {
      await c.join();
    } catch (err) {
      await c.close();
      throw err;
    }
    this.made.push(c);
    return c;
  }

  /** Committed offset of a group on a partition (−1 if none). */
  private committed(group: string, topic: string, partition: number): Promise<number> {
    const { names, retryForMs } = this.link.settings;
    return this.link.run('committed', async (conn) =>
      parseOffset(await registerAccess(conn, names, offsetKey(group, topic, partition), Date.now() + retryForMs)),
    );
  }

  private end(topic: string, partition: number): Promise<number> {
    const stream = this.link.settings.names.stream(topic, partition);
    return this.link.run('stream end', (conn) => streamEnd(conn, stream));
  }

  /** How far the slowest group known for the topic lags on a partition (0 with no group). */
  async slowestLag(topic: string, partition: number): Promise<number> {
    const { names, retryForMs } = this.link.settings;
    const groups = parseGroups(
      await this.link.run('groups', (conn) => registerAccess(conn, names, `g:${topic}`, Date.now() + retryForMs)),
    );
    if (groups.length === 0) return 0;
    let slowest = Number.POSITIVE_INFINITY;
    for (const g of groups) slowest = Math.min(slowest, await this.committed(g, topic, partition));
    return Math.max(0, (await this.end(topic, partition)) - slowest - 1);
  }

  async backlog(topic: string, group: string): Promise<number> {
    const count = await topicPartitions(this.link, topic);
    let n = 0;
    for (let p = 0; p < count; p++) {
      const [end, done] = await Promise.all([this.end(topic, p), this.committed(group, topic, p)]);
      n += Math.max(0, end - done - 1);
    }
    return n;
  }

  async close(): Promise<void> {
    for (const m of this.made.splice(0)) await m.close();
    await this.link.close();
  }
}

function positiveInt(url: URL, name: string, fallback: number): number {
  const v = url.searchParams.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `amqp: ${name} must be a positive whole number, got '${v}'`);
  }
  return n;
}

const QUERY_KEYS = ['prefix', 'maxBacklog', 'prefetch', 'sessionMs', 'heartbeatMs', 'maxAge', 'maxBytes'];

/**
 * Opens a RabbitMQ transport.
 * @example
 * const t = await openRabbitMQ(new URL('amqp://guest:guest@127.0.0.1:5672'), {});
 * await t.ensureTopic('pcapstream.packets', 4);
 */
export const openRabbitMQ: TransportFactory = async (url: URL, options: TransportOptions) => {
  for (const k of url.searchParams.keys()) {
    if (!QUERY_KEYS.includes(k)) {
      throw new PipelineError('PCS_TRANSPORT_OPEN', `amqp: unknown URL option '${k}'; known: ${QUERY_KEYS.join(', ')}`);
    }
  }
  const prefix = url.searchParams.get('prefix') ?? 'pcs';
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `amqp: prefix uses letters, digits, '.', '_' and '-'`);
  }
  const sessionMs = positiveInt(url, 'sessionMs', DEFAULT_SESSION_MS);
  const heartbeatMs = positiveInt(url, 'heartbeatMs', DEFAULT_HEARTBEAT_MS);
  if (heartbeatMs * 3 > sessionMs) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `amqp: heartbeatMs must be at most a third of sessionMs`);
  }
  const streamArgs: Record<string, unknown> = {};
  const maxAge = url.searchParams.get('maxAge');
  if (maxAge !== null) {
    if (!/^\d+[YMDhms]$/.test(maxAge)) {
      throw new PipelineError(
        'PCS_TRANSPORT_OPEN',
        `amqp: maxAge is a number and a unit (Y, M, D, h, m, s): '${maxAge}'`,
      );
    }
    streamArgs['x-max-age'] = maxAge;
  }
  if (url.searchParams.has('maxBytes')) streamArgs['x-max-length-bytes'] = positiveInt(url, 'maxBytes', 1);
  const settings: Settings = {
    names: new Names(prefix),
    retryForMs: options.retryForMs ?? DEFAULT_RETRY_FOR_MS,
    maxBacklog: positiveInt(url, 'maxBacklog', DEFAULT_MAX_BACKLOG),
    prefetch: positiveInt(url, 'prefetch', DEFAULT_PREFETCH),
    sessionMs,
    heartbeatMs,
    streamArgs,
  };

  const env = options.env ?? process.env;
  const tls = url.protocol === 'amqps:';
  const vhostPath = url.pathname.replace(/^\//, '');
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const target: Options.Connect = {
    protocol: tls ? 'amqps' : 'amqp',
    hostname: host,
    port: url.port === '' ? (tls ? 5671 : 5672) : Number(url.port),
    username: decodeURIComponent(url.username) || env['PCAPSTREAM_AMQP_USERNAME'] || 'guest',
    password: decodeURIComponent(url.password) || env['PCAPSTREAM_AMQP_PASSWORD'] || 'guest',
    vhost: vhostPath === '' ? '/' : decodeURIComponent(vhostPath),
    // Big frames: checkpoints of tens of MB go through in fewer pieces.
    frameMax: 131072,
    heartbeat: 5,
  };
  const socket: SocketOptions = { clientProperties: { connection_name: options.clientId ?? 'pcapstream' } };
  const caFile = env['PCAPSTREAM_AMQP_CA_FILE'];
  if (tls) {
    // SNI takes host names only (RFC 6066); the certificate is checked against the IP either way.
    if (!isIP(host)) socket.servername = host;
    if (caFile) {
      try {
        socket.ca = [readFileSync(caFile)];
      } catch (err) {
        throw new PipelineError('PCS_TRANSPORT_OPEN', `amqp: cannot read PCAPSTREAM_AMQP_CA_FILE '${caFile}'`, {
          cause: err,
        });
      }
    }
  }
  const makeLink = (): Link => new Link(settings, target, socket, `${host}:${target.port}`);
  const link = makeLink();
  try {
    await link.connection(Date.now() + Math.min(settings.retryForMs, 10_000));
  } catch (err) {
    await link.close();
    throw new PipelineError('PCS_TRANSPORT_OPEN', (err as Error).message, { cause: err });
  }
  return new RabbitTransport(link, makeLink);
};

export default openRabbitMQ;
