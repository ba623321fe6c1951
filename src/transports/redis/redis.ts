/**
 * Redis Streams transport (`redis://` and `rediss://`), for a standalone Redis 6.2 or newer
 * (not Redis Cluster: the scripts below touch keys of several groups at once).
 *
 * Keys (prefix `pcs` unless `?prefix=`; topic names are limited to `[A-Za-z0-9._-]`, so the
 * topic is always the last `:`-separated part before the partition and group names may hold
 * anything):
 * - `P:topic:T` hash: `partitions`; per partition `n:p` and `c:p`, the count and total bytes of
 *   entries ever added, and `bn:p`/`bc:p`, the same counters at the last trim.
 * - `P:s:T:p` stream per partition. Entry fields: `v` value, `n` its number (1, 2, ...), `c`
 *   cumulative bytes up to it, `k` the key if any. The offset of a message is its entry id.
 * - `P:groups:T` set of groups that ever subscribed to the topic.
 * - `P:off:G:T` hash of committed positions: `p` entry id, `p:n` and `p:c` its counters.
 * - `P:members:G:T` sorted set of live members, scored by last heartbeat (server time).
 * - `P:lease:G:T:p` the owner of a partition; `P:cp:G:T:p` checkpoints (binary).
 *
 * Ownership. Redis consumer groups hand the entries of one stream to several consumers, which
 * would break per-partition order, so groups are built here instead. Every member heartbeats
 * into the members set (entries older than `sessionMs` drop out), sorts the live ids, and wants
 * partition p when p mod (number of members) is its own index: all members compute the same
 * assignment from the same list. It takes a wanted partition only by creating its lease key
 * (`SET NX PX sessionMs`) and renews its leases on every heartbeat; a dead member's leases
 * expire. A partition it no longer wants is announced as `revoked` by the next `poll`, and the
 * lease is released only then (renewed until), so the old owner hears of it before a new one
 * can take it. A lease that could not be renewed (expired while the member stalled or Redis was
 * away) is revoked at once. A commit runs in a script that first checks the lease, so a member
 * that lost its partition cannot move the group's position.
 *
 * Memory on the server. After a commit, each partition stream is trimmed (XTRIM MINID) to the
 * lowest position among the topic's known groups; a group that has not committed yet keeps
 * everything, and a topic nobody subscribed to yet keeps everything. `send` waits while a
 * partition holds more than `maxBacklog` entries or `maxBacklogBytes` bytes past that lowest
 * position, so a stalled consumer stops the producer instead of filling Redis.
 *
 * Durability: `send` resolves on the script's reply. Whether the entries survive a crash of the
 * server is its `appendfsync` policy: `always` fsyncs before replying (what
 * `scripts/brokers/redis.ts` runs), `everysec` may lose the last second, and without AOF only
 * the last RDB snapshot survives.
 *
 * URL: `redis[s]://[USER:PASS@]HOST:PORT[/DB][?prefix=&maxBacklog=&maxBacklogBytes=&sessionMs=&heartbeatMs=]`.
 * Credentials missing from the URL come from `PCAPSTREAM_REDIS_USERNAME` / `PCAPSTREAM_REDIS_PASSWORD`; for
 * `rediss://`, `PCAPSTREAM_REDIS_CA_FILE` names a PEM file of trusted CAs (default: the system's).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
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
const DEFAULT_MAX_BACKLOG_BYTES = 256 * 1024 * 1024;
const DEFAULT_SESSION_MS = 6000;
const DEFAULT_HEARTBEAT_MS = 500;
/** How long a blocking read waits before `poll` looks at ownership changes again. */
const READ_SLICE_MS = 200;
/** Largest number of values (and bytes) one send script call carries. */
const SEND_CHUNK_COUNT = 1000;
const SEND_CHUNK_BYTES = 16 * 1024 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,200}$/;
const ENTRY_ID = /^\d+-\d+$/;

/** A Lua script run by EVALSHA, falling back to EVAL when the server does not know it yet. */
class Script {
  readonly lua: string;
  readonly sha: string;
  constructor(lua: string) {
    this.lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(conn: Redis, keys: string[], args: (string | Buffer | number)[]): Promise<unknown> {
    try {
      return await conn.call('EVALSHA', [this.sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return conn.call('EVAL', [this.lua, keys.length, ...keys, ...args]);
    }
  }
}

// Server time in ms, and entry id comparison, shared by the scripts.
const LUA_HELPERS = `
local function parse(id) local a, b = string.match(id, '^(%d+)-(%d+)$'); return tonumber(a), tonumber(b) end
local function less(x, y)
  local xa, xb = parse(x); local ya, yb = parse(y)
  return xa < ya or (xa == ya and xb < yb)
end
local function num(x) return string.format('%d', x) end
`;

/**
 * Appends values to one partition stream unless it is over the back-pressure bound.
 * KEYS: topic hash, stream, groups set. ARGV: partition, offsets key head (`P:off:`), offsets
 * key tail (`:T`), max entries, max bytes, count k, k values, k keys ('' for none).
 * Returns {1, held entries, held bytes} when added, {0, ...} when the caller must wait.
 */
const SEND = new Script(`${LUA_HELPERS}
local p = ARGV[1]
local h = redis.call('HMGET', KEYS[1], 'n:' .. p, 'c:' .. p, 'bn:' .. p, 'bc:' .. p)
local n, c = tonumber(h[1] or '0'), tonumber(h[2] or '0')
local bn, bc = tonumber(h[3] or '0'), tonumber(h[4] or '0')
local groups = redis.call('SMEMBERS', KEYS[3])
local minN, minC = n, c
if #groups == 0 then minN, minC = bn, bc end
for _, g in ipairs(groups) do
  local v = redis.call('HMGET', ARGV[2] .. g .. ARGV[3], p .. ':n', p .. ':c')
  local gn, gc = tonumber(v[1] or bn), tonumber(v[2] or bc)
  if gn < minN then minN = gn end
  if gc < minC then minC = gc end
end
if n - minN > tonumber(ARGV[4]) or c - minC > tonumber(ARGV[5]) then return {0, n - minN, c - minC} end
local k = tonumber(ARGV[6])
for i = 1, k do
  local v = ARGV[6 + i]
  n = n + 1
  c = c + #v
  local key = ARGV[6 + k + i]
  if key == '' then
    redis.call('XADD', KEYS[2], '*', 'v', v, 'n', num(n), 'c', num(c))
  else
    redis.call('XADD', KEYS[2], '*', 'v', v, 'n', num(n), 'c', num(c), 'k', key)
  end
end
redis.call('HSET', KEYS[1], 'n:' .. p, num(n), 'c:' .. p, num(c))
return {1, n - minN, c - minC}
`);

/**
 * Moves a group's position if the caller holds the lease, then trims the stream to the lowest
 * position of the topic's groups. KEYS: lease, offsets hash, stream, topic hash, groups set.
 * ARGV: member identity, partition, entry id, offsets key head, offsets key tail.
 */
const COMMIT = new Script(`${LUA_HELPERS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('PCSFENCED this member does not hold the partition lease')
end
local p, id = ARGV[2], ARGV[3]
local cur = redis.call('HGET', KEYS[2], p)
if cur and not less(cur, id) then return 0 end
local e = redis.call('XRANGE', KEYS[3], id, id)
if #e == 0 then return redis.error_reply('PCSNOENTRY no entry ' .. id .. ' in the partition') end
local f, n, c = e[1][2], nil, nil
for i = 1, #f, 2 do
  if f[i] == 'n' then n = f[i + 1] elseif f[i] == 'c' then c = f[i + 1] end
end
redis.call('HSET', KEYS[2], p, id, p .. ':n', n, p .. ':c', c)
local groups = redis.call('SMEMBERS', KEYS[5])
local minN, minId, minC, trim = nil, nil, nil, true
for _, g in ipairs(groups) do
  local v = redis.call('HMGET', ARGV[4] .. g .. ARGV[5], p, p .. ':n', p .. ':c')
  if not v[1] then trim = false; break end
  local gn = tonumber(v[2])
  if minN == nil or gn < minN then minN, minId, minC = gn, v[1], v[3] end
end
if trim and minN ~= nil then
  local bn = tonumber(redis.call('HGET', KEYS[4], 'bn:' .. p) or '0')
  if minN > bn then
    local a, b = parse(minId)
    redis.call('XTRIM', KEYS[3], 'MINID', num(a) .. '-' .. num(b + 1))
    redis.call('HSET', KEYS[4], 'bn:' .. p, num(minN), 'bc:' .. p, minC)
  end
end
return 1
`);

/**
 * Heartbeat of one member for one topic: refresh its entry in the members set, drop members not
 * seen for a session, renew the leases it holds, and take free leases of the partitions it
 * wants. KEYS: members set, topic hash, offsets hash. ARGV: identity, session ms, lease key head
 * (`P:lease:G:T:`), then the partitions the member believes it holds.
 * Returns {partition count, member count, wanted, still held, acquired {p, committed id, n}}.
 */
const HEARTBEAT = new Script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 4)
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(members)
local me = -1
for i, m in ipairs(members) do if m == ARGV[1] then me = i - 1 end end
local count = tonumber(redis.call('HGET', KEYS[2], 'partitions') or '0')
local held, kept = {}, {}
for i = 4, #ARGV do
  local key = ARGV[3] .. ARGV[i]
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ttl)
    held[ARGV[i]] = true
    kept[#kept + 1] = ARGV[i]
  end
end
local wanted, acquired = {}, {}
for p = 0, count - 1 do
  if p % #members == me then
    local ps = string.format('%d', p)
    wanted[#wanted + 1] = ps
    if not held[ps] and redis.call('SET', ARGV[3] .. ps, ARGV[1], 'NX', 'PX', ttl) then
      local v = redis.call('HMGET', KEYS[3], ps, ps .. ':n')
      local base = redis.call('HGET', KEYS[2], 'bn:' .. ps) or '0'
      acquired[#acquired + 1] = {ps, v[1] or '0-0', v[2] or base}
    end
  end
end
return {count, #members, wanted, kept, acquired}
`);

/** Deletes the leases the member still holds; with a members set in KEYS, leaves it too. */
const RELEASE = new Script(`
for i = 3, #ARGV do
  local key = ARGV[2] .. ARGV[i]
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
if #KEYS > 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1
`);

/** Names of every key, in one place. */
class Keys {
  readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = prefix;
  }
  topic(t: string): string {
    return `${this.prefix}:topic:${t}`;
  }
  stream(t: string, p: number): string {
    return `${this.prefix}:s:${t}:${p}`;
  }
  groups(t: string): string {
    return `${this.prefix}:groups:${t}`;
  }
  offsetsHead(): string {
    return `${this.prefix}:off:`;
  }
  offsets(g: string, t: string): string {
    return `${this.prefix}:off:${g}:${t}`;
  }
  members(g: string, t: string): string {
    return `${this.prefix}:members:${g}:${t}`;
  }
  leaseHead(g: string, t: string): string {
    return `${this.prefix}:lease:${g}:${t}:`;
  }
  checkpoint(g: string, t: string, p: number): string {
    return `${this.prefix}:cp:${g}:${t}:${p}`;
  }
}

interface Settings {
  keys: Keys;
  retryForMs: number;
  maxBacklog: number;
  maxBacklogBytes: number;
  sessionMs: number;
  heartbeatMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects with `timeout` after `ms` unless `p` settles first. */
function within<T>(p: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(timeout()), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Reply errors that mean "not now" rather than "wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN|OOM)\b/;

function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return TRANSIENT_REPLY.test(err.message);
  // Connection-level failures from the client (closed, reset, timeouts).
  return true;
}

function checkTopic(topic: string): void {
  if (!TOPIC_NAME.test(topic)) {
    throw new PipelineError('PCS_TRANSPORT', `redis: topic names use letters, digits, '.', '_' and '-': '${topic}'`);
  }
}

/** The connections and settings shared by a transport's producers, consumers and checkpoints. */
class Link {
  readonly cmd: Redis;
  readonly settings: Settings;
  readonly url: URL;
  constructor(cmd: Redis, settings: Settings, url: URL) {
    this.cmd = cmd;
    this.settings = settings;
    this.url = url;
  }

  /** Runs `fn` until it succeeds, retrying transient failures until `retryForMs` has passed. */
  async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.settings.retryForMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await within(fn(), deadline - Date.now(), () => new Error(`no answer from Redis`));
      } catch (err) {
        if (!isTransient(err)) {
          throw new PipelineError('PCS_TRANSPORT', `redis: ${what}: ${(err as Error).message}`, { cause: err });
        }
        if (Date.now() >= deadline) {
          throw new PipelineError(
            'PCS_TRANSPORT',
            `redis: ${what} failed for ${this.settings.retryForMs} ms: ${(err as Error).message}`,
            { cause: err, retriable: true },
          );
        }
        await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Partition count of a topic, 0 if it does not exist. */
  async partitions(topic: string): Promise<number> {
    checkTopic(topic);
    const v = await this.retrying('partitions', () => this.cmd.hget(this.settings.keys.topic(topic), 'partitions'));
    return v === null ? 0 : Number(v);
  }
}

class RedisProducer implements Producer {
  private readonly link: Link;
  private readonly partitions: TopicPartitions;
  private readonly sends = new SendsInFlight();
  private closed = false;

  constructor(link: Link) {
    this.link = link;
    this.partitions = new TopicPartitions('redis', (topic) => link.partitions(topic));
  }

  send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.sends.track(this.sendAll(topic, messages));
  }

  private async sendAll(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'redis: send on a closed producer');
    checkTopic(topic);
    const byPartition = await this.partitions.group(topic, messages);
    await Promise.all([...byPartition].map(([p, list]) => this.sendPartition(topic, p, list)));
  }

  /** Sends one partition's messages in order, in chunks, each waiting out back-pressure. */
  private async sendPartition(topic: string, partition: number, messages: OutgoingMessage[]): Promise<void> {
    const { keys, maxBacklog, maxBacklogBytes } = this.link.settings;
    for (let i = 0; i < messages.length; ) {
      let j = i;
      let bytes = 0;
      while (j < messages.length && j - i < SEND_CHUNK_COUNT && (j === i || bytes < SEND_CHUNK_BYTES)) {
        bytes += messages[j]!.value.byteLength;
        j++;
      }
      const chunk = messages.slice(i, j);
      const args: (string | Buffer | number)[] = [
        partition,
        keys.offsetsHead(),
        `:${topic}`,
        maxBacklog,
        maxBacklogBytes,
        chunk.length,
      ];
      for (const m of chunk) args.push(Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength));
      for (const m of chunk) args.push(m.key ?? '');
      const streamKeys = [keys.topic(topic), keys.stream(topic, partition), keys.groups(topic)];
      for (;;) {
        const r = (await this.link.retrying('send', () => SEND.run(this.link.cmd, streamKeys, args))) as number[];
        if (r[0] === 1) break;
        // Back-pressure: the slowest group is too far behind; wait for its commits.
        if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'redis: producer closed while waiting to send');
        await sleep(100);
      }
      i = j;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sends.settled();
  }
}

/** A partition this member holds the lease of. */
interface Owned {
  topic: string;
  partition: number;
  /** Id of the last entry handed out (or the committed one): reads continue after it. */
  position: string;
  /** Number (`n` field) of that entry, for `lag`. */
  positionN: number;
  /** Announced as revoked by the next `poll`, which then releases the lease. */
  revoking: boolean;
}

let memberSeq = 0;

class RedisConsumer implements Consumer {
  readonly memberId: string;
  private readonly identity: string;
  private readonly link: Link;
  private readonly reader: Redis;
  private readonly group: string;
  private readonly topics: string[];
  private readonly maxMessages: number;
  private readonly owned = new Map<string, Owned>();
  private events: ConsumerEvent[] = [];
  private wakeUp: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private lastBeatOk = Date.now();
  private reading: Promise<unknown> | null = null;
  private readingFrom = new Map<string, string>();
  private downSince = 0;
  private cursor = 0;
  private closed = false;

  constructor(link: Link, reader: Redis, options: ConsumerOptions) {
    this.link = link;
    this.reader = reader;
    this.group = options.group;
    this.topics = [...new Set(options.topics)];
    this.maxMessages = Math.max(1, options.maxMessages ?? 10_000);
    this.memberId = options.memberId ?? `${hostname()}-${process.pid}-${++memberSeq}`;
    // Unique per instance: a restarted member with the same name must not inherit stale leases.
    this.identity = `${this.memberId}#${randomBytes(6).toString('hex')}`;
    reader.on('close', () => {
      if (this.downSince === 0) this.downSince = Date.now();
    });
    reader.on('ready', () => {
      this.downSince = 0;
    });
  }

  async join(): Promise<void> {
    for (const t of this.topics) checkTopic(t);
    const { keys } = this.link.settings;
    await this.link.retrying('join', async () => {
      for (const t of this.topics) await this.link.cmd.sadd(keys.groups(t), this.group);
    });
    await this.heartbeat();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beating = this.heartbeat()
        .catch(() => {})
        .finally(() => {
          this.beating = null;
          this.schedule();
        });
    }, this.link.settings.heartbeatMs);
    this.timer.unref();
  }

  private key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  private notify(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** One heartbeat for every topic; applies what it learns to `owned` and queues events. */
  private async heartbeat(): Promise<void> {
    const { keys, sessionMs, heartbeatMs } = this.link.settings;
    const started = Date.now();
    try {
      for (const topic of this.topics) {
        const held = [...this.owned.values()].filter((o) => o.topic === topic).map((o) => String(o.partition));
        const reply = (await within(
          HEARTBEAT.run(
            this.link.cmd,
            [keys.members(this.group, topic), keys.topic(topic), keys.offsets(this.group, topic)],
            [this.identity, sessionMs, keys.leaseHead(this.group, topic), ...held],
          ),
          Math.max(heartbeatMs * 4, 1000),
          () => new Error('heartbeat timed out'),
        )) as [number, number, string[], string[], [string, string, string][]];
        if (this.closed) return;
        this.apply(topic, held, reply);
      }
      this.lastBeatOk = started;
    } catch (err) {
      // Leases not renewed for a session may be someone else's now: give them up locally.
      if (Date.now() - this.lastBeatOk > sessionMs) this.dropAll();
      throw err;
    }
  }

  private apply(
    topic: string,
    held: string[],
    reply: [number, number, string[], string[], [string, string, string][]],
  ): void {
    const wanted = new Set(reply[2].map(Number));
    const kept = new Set(reply[3].map(Number));
    const lost: number[] = [];
    for (const p of held.map(Number)) {
      const o = this.owned.get(this.key(topic, p));
      // Released or fenced by `poll`/`commit` while the heartbeat was on its way.
      if (o === undefined) continue;
      if (!kept.has(p)) {
        // The lease expired or was taken: not ours any more, whatever we thought.
        this.owned.delete(this.key(topic, p));
        if (o.revoking) this.cancelRevoked(topic, p);
        lost.push(p);
      } else if (!wanted.has(p) && !o.revoking) {
        o.revoking = true;
        this.events.push({ kind: 'revoked', topic, partitions: [p] });
      } else if (wanted.has(p) && o.revoking) {
        o.revoking = false;
        this.cancelRevoked(topic, p);
      }
    }
    if (lost.length > 0) this.events.push({ kind: 'revoked', topic, partitions: lost });
    const gained: number[] = [];
    for (const [ps, id, n] of reply[4]) {
      const p = Number(ps);
      this.owned.set(this.key(topic, p), { topic, partition: p, position: id, positionN: Number(n), revoking: false });
      gained.push(p);
    }
    if (gained.length > 0) this.events.push({ kind: 'assigned', topic, partitions: gained.sort((a, b) => a - b) });
    if (lost.length > 0 || gained.length > 0 || this.events.length > 0) this.notify();
  }

  private cancelRevoked(topic: string, p: number): void {
    for (const e of this.events) {
      if (e.kind === 'revoked' && e.topic === topic) e.partitions = e.partitions.filter((x) => x !== p);
    }
    this.events = this.events.filter((e) => e.kind !== 'revoked' || e.partitions.length > 0);
  }

  private dropAll(): void {
    const byTopic = new Map<string, number[]>();
    for (const o of this.owned.values()) {
      if (o.revoking) this.cancelRevoked(o.topic, o.partition);
      const list = byTopic.get(o.topic) ?? [];
      list.push(o.partition);
      byTopic.set(o.topic, list);
    }
    this.owned.clear();
    for (const [topic, partitions] of byTopic) this.events.push({ kind: 'revoked', topic, partitions });
    this.notify();
  }

  /** Hands out the queued events; partitions revoked by them are released now. */
  private handEvents(): ConsumerEvent[] {
    const out = this.events;
    this.events = [];
    const { keys } = this.link.settings;
    for (const e of out) {
      if (e.kind !== 'revoked') continue;
      const release: string[] = [];
      for (const p of e.partitions) {
        const o = this.owned.get(this.key(e.topic, p));
        if (o?.revoking) {
          this.owned.delete(this.key(e.topic, p));
          release.push(String(p));
        }
      }
      if (release.length > 0) {
        // Best effort: if this fails the lease simply expires after a session.
        RELEASE.run(this.link.cmd, [], [this.identity, keys.leaseHead(this.group, e.topic), ...release]).catch(
          () => {},
        );
      }
    }
    return out;
  }

  async poll(maxWaitMs: number): Promise<ConsumerEvent[]> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'redis: poll on a closed consumer');
    const { retryForMs } = this.link.settings;
    if (this.downSince > 0 && Date.now() - this.downSince > retryForMs) {
      throw new PipelineError('PCS_TRANSPORT', `redis: unreachable for more than ${retryForMs} ms`, {
        retriable: true,
      });
    }
    const deadline = Date.now() + Math.max(0, maxWaitMs);
    for (;;) {
      if (this.events.length > 0) return this.handEvents();
      const left = deadline - Date.now();
      const readable = [...this.owned.values()].filter((o) => !o.revoking);
      if (readable.length > 0 && (this.reading !== null || this.reader.status === 'ready')) {
        const out = await this.read(readable, Math.min(Math.max(left, 0), READ_SLICE_MS));
        if (this.events.length > 0) {
          // The read already moved the positions past these messages: deliver them after the
          // events, except those of partitions the events move (their next owner, or this
          // member again from the committed position, reads them anew). Dropping them all
          // would leave a gap in the partitions that stay.
          const events = this.handEvents();
          const moved = new Set<string>();
          for (const e of events)
            if (e.kind !== 'messages') for (const p of e.partitions) moved.add(this.key(e.topic, p));
          const kept = out.filter((e) => e.kind === 'messages' && !moved.has(this.key(e.topic, e.partition)));
          return [...events, ...kept];
        }
        if (out.length > 0) return out;
      } else if (left > 0) {
        await new Promise<void>((r) => {
          const timer = setTimeout(done, Math.min(left, READ_SLICE_MS));
          const self = this;
          function done(): void {
            clearTimeout(timer);
            if (self.wakeUp === done) self.wakeUp = null;
            r();
          }
          this.wakeUp = done;
        });
      }
      if (Date.now() >= deadline || this.closed) return this.events.length > 0 ? this.handEvents() : [];
    }
  }

  /** One XREAD over the readable partitions (blocking up to `blockMs`); results of partitions
   * whose position moved or whose ownership changed meanwhile are dropped, to be read again. */
  private async read(readable: Owned[], blockMs: number): Promise<ConsumerEvent[]> {
    const { keys } = this.link.settings;
    if (this.reading === null) {
      const rot = this.cursor++ % readable.length;
      const order = [...readable.slice(rot), ...readable.slice(0, rot)];
      const count = Math.max(1, Math.ceil(this.maxMessages / order.length));
      const args: (string | number)[] = ['COUNT', count];
      if (blockMs > 0) args.push('BLOCK', blockMs);
      args.push('STREAMS');
      for (const o of order) args.push(keys.stream(o.topic, o.partition));
      for (const o of order) args.push(o.position);
      this.readingFrom = new Map(order.map((o) => [keys.stream(o.topic, o.partition), o.position]));
      const pending = this.reader.callBuffer('XREAD', args);
      this.reading = pending;
      pending.then(
        () => {
          if (this.reading === pending) this.reading = null;
        },
        () => {
          if (this.reading === pending) this.reading = null;
        },
      );
    }
    const pending = this.reading;
    const from = this.readingFrom;
    let reply: unknown;
    try {
      // A read stuck behind a lost connection must not hold `poll` past its wait.
      reply = await within(pending, blockMs + 1000, () => new Error('read timed out'));
    } catch {
      return [];
    }
    if (reply === null || !Array.isArray(reply)) return [];
    const out: ConsumerEvent[] = [];
    let budget = this.maxMessages;
    for (const [streamKey, entries] of reply as [Buffer, [Buffer, Buffer[]][]][]) {
      const name = streamKey.toString();
      const cut = name.lastIndexOf(':');
      const topic = name.slice(keys.prefix.length + 3, cut);
      const partition = Number(name.slice(cut + 1));
      const o = this.owned.get(this.key(topic, partition));
      if (o === undefined || o.revoking || from.get(name) !== o.position || budget <= 0) continue;
      const messages: IncomingMessage[] = [];
      for (const [id, fields] of entries) {
        if (budget <= 0) break;
        let value: Uint8Array = new Uint8Array(0);
        let n = 0;
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const f = fields[i]!.toString();
          if (f === 'v') value = fields[i + 1]!;
          else if (f === 'n') n = Number(fields[i + 1]!.toString());
        }
        const offset = id.toString();
        messages.push({ partition, offset, value });
        o.position = offset;
        o.positionN = n;
        budget--;
      }
      if (messages.length > 0) out.push({ kind: 'messages', topic, partition, messages });
    }
    return out;
  }

  async commit(topic: string, partition: number, offset: string): Promise<void> {
    if (!ENTRY_ID.test(offset)) throw new PipelineError('PCS_TRANSPORT', `redis: bad offset '${offset}'`);
    const o = this.owned.get(this.key(topic, partition));
    if (o === undefined) {
      throw new PipelineError('PCS_TRANSPORT', `redis: ${this.memberId} does not own ${topic}/${partition}`);
    }
    const { keys } = this.link.settings;
    try {
      await this.link.retrying('commit', () =>
        COMMIT.run(
          this.link.cmd,
          [
            `${keys.leaseHead(this.group, topic)}${partition}`,
            keys.offsets(this.group, topic),
            keys.stream(topic, partition),
            keys.topic(topic),
            keys.groups(topic),
          ],
          [this.identity, partition, offset, keys.offsetsHead(), `:${topic}`],
        ),
      );
    } catch (err) {
      if (err instanceof PipelineError && /PCSFENCED/.test(err.message)) {
        // Someone else holds the partition now: stop reading it and say so at the next poll.
        if (this.owned.get(this.key(topic, partition)) === o) {
          this.owned.delete(this.key(topic, partition));
          if (o.revoking) this.cancelRevoked(topic, partition);
          this.events.push({ kind: 'revoked', topic, partitions: [partition] });
        }
        throw new PipelineError('PCS_TRANSPORT', `redis: ${this.memberId} lost ${topic}/${partition}; not committed`, {
          cause: err,
        });
      }
      throw err;
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
    const { keys } = this.link.settings;
    let n = 0;
    for (const topic of this.topics) {
      const mine = [...this.owned.values()].filter((o) => o.topic === topic);
      if (mine.length === 0) continue;
      const ends = await this.link.retrying('lag', () =>
        this.link.cmd.hmget(keys.topic(topic), ...mine.map((o) => `n:${o.partition}`)),
      );
      for (let i = 0; i < mine.length; i++) n += Math.max(0, Number(ends[i] ?? 0) - mine[i]!.positionN);
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.notify();
    // A heartbeat stuck behind an outage times out on its own (see `heartbeat`).
    await this.beating;
    const { keys } = this.link.settings;
    for (const topic of this.topics) {
      const mine = [...this.owned.values()].filter((o) => o.topic === topic).map((o) => String(o.partition));
      // Leaving at once lets the others rebalance now instead of after a session.
      await within(
        RELEASE.run(
          this.link.cmd,
          [keys.members(this.group, topic)],
          [this.identity, keys.leaseHead(this.group, topic), ...mine],
        ),
        2000,
        () => new Error('leave timed out'),
      ).catch(() => {});
    }
    this.owned.clear();
    this.events = [];
    this.reader.disconnect();
  }
}

class RedisCheckpoints implements CheckpointStore {
  private readonly link: Link;
  constructor(link: Link) {
    this.link = link;
  }

  async save(group: string, topic: string, partition: number, data: Uint8Array): Promise<void> {
    const key = this.link.settings.keys.checkpoint(group, topic, partition);
    const value = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.link.retrying('checkpoint save', () => this.link.cmd.set(key, value));
  }

  async load(group: string, topic: string, partition: number): Promise<Uint8Array | null> {
    const key = this.link.settings.keys.checkpoint(group, topic, partition);
    return this.link.retrying('checkpoint load', () => this.link.cmd.getBuffer(key));
  }
}

class RedisTransport implements Transport {
  readonly id = 'redis';
  readonly checkpoints: CheckpointStore;
  private readonly link: Link;
  private readonly made: (Producer | Consumer)[] = [];

  constructor(link: Link) {
    this.link = link;
    this.checkpoints = new RedisCheckpoints(link);
  }

  async ensureTopic(topic: string, partitions: number): Promise<number> {
    checkTopic(topic);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      throw new PipelineError('PCS_TRANSPORT', `partitions must be 1 to 10000, got ${partitions}`);
    }
    const key = this.link.settings.keys.topic(topic);
    await this.link.retrying('ensureTopic', () => this.link.cmd.hsetnx(key, 'partitions', partitions));
    return this.link.partitions(topic);
  }

  partitions(topic: string): Promise<number> {
    return this.link.partitions(topic);
  }

  async producer(): Promise<Producer> {
    const p = new RedisProducer(this.link);
    this.made.push(p);
    return p;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    // Blocking reads get their own connection so they never delay commands of the others.
    const reader = this.link.cmd.duplicate();
    reader.on('error', () => {});
    const c = new RedisConsumer(this.link, reader, options);
    try {
      await connect(reader, this.link.url, this.link.settings.retryForMs, 'PCS_TRANSPORT');
      await c.join();
    } catch (err) {
      await c.close();
      throw err;
    }
    this.made.push(c);
    return c;
  }

  async backlog(topic: string, group: string): Promise<number> {
    const count = await this.link.partitions(topic);
    if (count === 0) return 0;
    const { keys } = this.link.settings;
    const [counters, offsets] = await this.link.retrying('backlog', () =>
      Promise.all([this.link.cmd.hgetall(keys.topic(topic)), this.link.cmd.hgetall(keys.offsets(group, topic))]),
    );
    let n = 0;
    for (let p = 0; p < count; p++) {
      const end = Number(counters[`n:${p}`] ?? 0);
      const done = Number(offsets[`${p}:n`] ?? counters[`bn:${p}`] ?? 0);
      n += Math.max(0, end - done);
    }
    return n;
  }

  async close(): Promise<void> {
    for (const m of this.made.splice(0)) await m.close();
    await within(this.link.cmd.quit(), 2000, () => new Error('quit timed out')).catch(() => {});
    this.link.cmd.disconnect();
  }
}

function positiveInt(url: URL, name: string, fallback: number): number {
  const v = url.searchParams.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `redis: ${name} must be a positive whole number, got '${v}'`);
  }
  return n;
}

const QUERY_KEYS = ['prefix', 'maxBacklog', 'maxBacklogBytes', 'sessionMs', 'heartbeatMs'];

/** Client options from the URL and the environment (secrets never from code). */
function clientOptions(url: URL, options: TransportOptions): RedisOptions {
  const env = options.env ?? process.env;
  const tls = url.protocol === 'rediss:';
  const db = url.pathname.replace(/^\/+/, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `redis: the URL path is a database number, got '/${db}'`);
  }
  const username = decodeURIComponent(url.username) || env['PCAPSTREAM_REDIS_USERNAME'] || undefined;
  const password = decodeURIComponent(url.password) || env['PCAPSTREAM_REDIS_PASSWORD'] || undefined;
  let ca: Buffer | undefined;
  const caFile = env['PCAPSTREAM_REDIS_CA_FILE'];
  if (tls && caFile) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new PipelineError('PCS_TRANSPORT_OPEN', `redis: cannot read PCAPSTREAM_REDIS_CA_FILE '${caFile}'`, {
        cause: err,
      });
    }
  }
  const host = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return {
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    db: db === '' ? 0 : Number(db),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    // SNI takes host names only (RFC 6066); the certificate is checked against the IP either way.
    ...(tls ? { tls: { ...(isIP(host) ? {} : { servername: host }), ...(ca === undefined ? {} : { ca }) } } : {}),
    connectionName: options.clientId ?? 'pcapstream',
    // RESP2 keeps the reply shapes this module parses (XREAD as nested arrays, not a map).
    protocol: 2,
    // Commands wait in the client's queue through a disconnect; `Link.retrying` bounds the wait.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    connectTimeout: 5000,
    lazyConnect: true,
  };
}

/** Connects, failing fast on refused credentials and after a short while if unreachable. */
async function connect(
  client: Redis,
  url: URL,
  waitMs: number,
  code: 'PCS_TRANSPORT_OPEN' | 'PCS_TRANSPORT' = 'PCS_TRANSPORT_OPEN',
): Promise<void> {
  let lastError: Error | undefined;
  let refused: Error | undefined;
  const onError = (err: Error): void => {
    lastError = err;
    const code = String((err as { code?: unknown }).code ?? '');
    // Refused credentials and untrusted certificates will not get better by retrying.
    if (
      /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username|certificate/i.test(err.message) ||
      /CERT/.test(code)
    ) {
      refused = err;
    }
  };
  client.on('error', onError);
  client.connect().catch(() => {});
  const deadline = Date.now() + waitMs;
  while (client.status !== 'ready') {
    if (refused !== undefined || Date.now() > deadline) {
      client.disconnect();
      const why = refused ?? lastError;
      throw new PipelineError(
        code,
        `redis: cannot connect to ${url.host}${why === undefined ? '' : `: ${why.message}`}`,
        {
          cause: why,
          retriable: code === 'PCS_TRANSPORT' && refused === undefined,
        },
      );
    }
    await sleep(25);
  }
}

/**
 * Opens a Redis Streams transport.
 * @example
 * const t = await openRedis(new URL('redis://127.0.0.1:6379?maxBacklog=50000'), {});
 * await t.ensureTopic('pcapstream.packets', 4);
 */
export const openRedis: TransportFactory = async (url, options) => {
  for (const k of url.searchParams.keys()) {
    if (!QUERY_KEYS.includes(k)) {
      throw new PipelineError(
        'PCS_TRANSPORT_OPEN',
        `redis: unknown URL option '${k}'; known: ${QUERY_KEYS.join(', ')}`,
      );
    }
  }
  const prefix = url.searchParams.get('prefix') ?? 'pcs';
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `redis: prefix uses letters, digits, '.', '_' and '-'`);
  }
  const sessionMs = positiveInt(url, 'sessionMs', DEFAULT_SESSION_MS);
  const heartbeatMs = positiveInt(url, 'heartbeatMs', DEFAULT_HEARTBEAT_MS);
  if (heartbeatMs * 3 > sessionMs) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `redis: heartbeatMs must be at most a third of sessionMs`);
  }
  const settings: Settings = {
    keys: new Keys(prefix),
    retryForMs: options.retryForMs ?? DEFAULT_RETRY_FOR_MS,
    maxBacklog: positiveInt(url, 'maxBacklog', DEFAULT_MAX_BACKLOG),
    maxBacklogBytes: positiveInt(url, 'maxBacklogBytes', DEFAULT_MAX_BACKLOG_BYTES),
    sessionMs,
    heartbeatMs,
  };
  const client = new Redis(clientOptions(url, options));
  await connect(client, url, Math.min(settings.retryForMs, 10_000));
  return new RedisTransport(new Link(client, settings, url));
};

export default openRedis;
