/**
 * Kafka transport settings from the URL and the environment.
 *
 * URL: `kafka://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...][?NAME=VALUE&...]`. Several bootstrap
 * brokers arrive as the `hosts` query parameter (see `transports/index.ts`: a WHATWG URL holds
 * one host). Query parameters tune the client; unknown ones are refused, so a typo is an error
 * instead of a silently ignored setting.
 *
 * Production clusters: TLS and SASL come from the environment (`options.env`, default
 * `process.env`), never from code:
 * - `PCAPSTREAM_KAFKA_TLS=1` connects with TLS (implied by any of the files below);
 * - `PCAPSTREAM_KAFKA_CA_FILE` PEM file of the CA(s) to trust instead of the system's;
 * - `PCAPSTREAM_KAFKA_CERT_FILE`, `PCAPSTREAM_KAFKA_KEY_FILE` client certificate (mutual TLS);
 * - `PCAPSTREAM_KAFKA_SASL_MECHANISM` `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`;
 * - `PCAPSTREAM_KAFKA_SASL_USERNAME`, `PCAPSTREAM_KAFKA_SASL_PASSWORD` (the URL's user
 *   information, when present, wins).
 */
import { readFileSync } from 'node:fs';
import type { SASLOptions } from '@platformatic/kafka';
import { PipelineError } from '../../core/errors.ts';
import type { TransportOptions } from '../../core/transport.ts';

/** SASL mechanisms the transport accepts. */
export const KAFKA_SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type KafkaSASLMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** TLS settings handed to `tls.connect` by the client. */
export interface KafkaTLSSettings {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Everything the transport needs to connect, plain data. */
export interface KafkaSettings {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  clientId: string;
  /** How long an outage is retried before calls reject. */
  retryForMs: number;
  /** Connect timeout per attempt, ms. */
  connectTimeoutMs: number;
  /** Request timeout, ms (also the broker's wait for the in-sync replicas on produce). */
  requestTimeoutMs: number;
  /** Replication factor of topics created by `ensureTopic` and the checkpoint topic; -1 = broker default. */
  replicationFactor: number;
  /** Compacted topic holding the checkpoints. */
  checkpointTopic: string;
  /** Partitions of the checkpoint topic when this transport creates it. */
  checkpointPartitions: number;
  /** Consumer group session timeout: a silent member loses its partitions after this, ms. */
  sessionTimeoutMs: number;
  /** Heartbeat interval, ms; also how fast a live member notices a rebalance. */
  heartbeatIntervalMs: number;
  /** How long the group waits for members to rejoin during a rebalance, ms. */
  rebalanceTimeoutMs: number;
  /** Partition assignment strategy: incremental (`cooperative-sticky`) or eager (`roundrobin`). */
  assignor: 'cooperative-sticky' | 'roundrobin';
  /** Upper bound of one fetch response, bytes (a consumer holds at most two). */
  fetchMaxBytes: number;
  /** Upper bound per partition in one fetch response, bytes. */
  partitionFetchMaxBytes: number;
  /** Longest the broker holds a fetch when there is no data, ms. */
  fetchMaxWaitMs: number;
  /** Producer: messages of one partition are sent in record batches of at most this many bytes. */
  maxBatchBytes: number;
  tls?: KafkaTLSSettings;
  sasl?: { mechanism: KafkaSASLMechanism; username: string; password: string };
}

const DEFAULT_RETRY_FOR_MS = 120_000;

interface Param {
  min: number;
  max: number;
  set: (s: KafkaSettings, v: number) => void;
}

const NUMERIC: Record<string, Param> = {
  connectTimeoutMs: { min: 100, max: 600_000, set: (s, v) => (s.connectTimeoutMs = v) },
  requestTimeoutMs: { min: 100, max: 600_000, set: (s, v) => (s.requestTimeoutMs = v) },
  replicationFactor: { min: -1, max: 100, set: (s, v) => (s.replicationFactor = v) },
  checkpointPartitions: { min: 1, max: 1000, set: (s, v) => (s.checkpointPartitions = v) },
  sessionTimeoutMs: { min: 1000, max: 3_600_000, set: (s, v) => (s.sessionTimeoutMs = v) },
  heartbeatIntervalMs: { min: 10, max: 600_000, set: (s, v) => (s.heartbeatIntervalMs = v) },
  rebalanceTimeoutMs: { min: 1000, max: 3_600_000, set: (s, v) => (s.rebalanceTimeoutMs = v) },
  fetchMaxBytes: { min: 1024, max: 1 << 30, set: (s, v) => (s.fetchMaxBytes = v) },
  partitionFetchMaxBytes: { min: 1024, max: 1 << 30, set: (s, v) => (s.partitionFetchMaxBytes = v) },
  fetchMaxWaitMs: { min: 0, max: 60_000, set: (s, v) => (s.fetchMaxWaitMs = v) },
  maxBatchBytes: { min: 1024, max: 1 << 30, set: (s, v) => (s.maxBatchBytes = v) },
};
const TEXT = ['clientId', 'checkpointTopic', 'assignor', 'saslMechanism', 'hosts'];

function fail(message: string): never {
  throw new PipelineError('PCS_TRANSPORT_OPEN', `kafka: ${message}`);
}

function readPem(what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new PipelineError('PCS_TRANSPORT_OPEN', `kafka: cannot read ${what} '${file}'`, { cause: err });
  }
}

function parseBrokers(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(',')) {
    const b = raw.trim();
    if (b === '') continue;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/.exec(b);
    if (m === null) fail(`bad broker address '${b}' (want HOST:PORT)`);
    const port = m[2] === undefined ? 9092 : Number(m[2]);
    if (port < 1 || port > 65535) fail(`bad port in '${b}'`);
    out.push(`${m[1]}:${port}`);
  }
  if (out.length === 0) fail('no broker address (want kafka://HOST:PORT)');
  return out;
}

/**
 * Settings from a `kafka://` URL and the options (environment for TLS and SASL).
 * @example
 * const s = kafkaSettings(new URL('kafka://127.0.0.1:9092?clientId=sensor-1'), { env: process.env });
 * s.brokers; // ['127.0.0.1:9092']
 */
export function kafkaSettings(url: URL, options: TransportOptions = {}): KafkaSettings {
  const env = options.env ?? process.env;
  const q = url.searchParams;
  for (const name of q.keys()) {
    if (NUMERIC[name] === undefined && !TEXT.includes(name)) {
      fail(
        `unknown URL parameter '${name}'; known: ${[...TEXT.filter((t) => t !== 'hosts'), ...Object.keys(NUMERIC)].join(', ')}`,
      );
    }
  }
  const s: KafkaSettings = {
    brokers: parseBrokers(q.get('hosts') ?? url.host),
    clientId: q.get('clientId') ?? options.clientId ?? `pcapstream-${process.pid}`,
    retryForMs: options.retryForMs ?? DEFAULT_RETRY_FOR_MS,
    connectTimeoutMs: 5000,
    requestTimeoutMs: 30_000,
    replicationFactor: -1,
    checkpointTopic: q.get('checkpointTopic') ?? 'pcapstream.checkpoints',
    checkpointPartitions: 8,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    rebalanceTimeoutMs: 30_000,
    assignor: 'cooperative-sticky',
    fetchMaxBytes: 16 * 1024 * 1024,
    partitionFetchMaxBytes: 4 * 1024 * 1024,
    fetchMaxWaitMs: 500,
    maxBatchBytes: 1024 * 1024,
  };
  if (!/^[\w.-]+$/.test(s.clientId)) fail(`clientId may hold only letters, digits, '.', '_' and '-': '${s.clientId}'`);
  if (!/^[\w.-]{1,249}$/.test(s.checkpointTopic)) fail(`bad checkpointTopic '${s.checkpointTopic}'`);
  for (const [name, p] of Object.entries(NUMERIC)) {
    const raw = q.get(name);
    if (raw === null) continue;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < p.min || v > p.max)
      fail(`${name} must be a whole number from ${p.min} to ${p.max}`);
    p.set(s, v);
  }
  const assignor = q.get('assignor');
  if (assignor !== null) {
    if (assignor !== 'cooperative-sticky' && assignor !== 'roundrobin') {
      fail(`assignor must be cooperative-sticky or roundrobin, got '${assignor}'`);
    }
    s.assignor = assignor;
  }
  if (s.heartbeatIntervalMs * 3 > s.sessionTimeoutMs)
    fail('heartbeatIntervalMs must be at most a third of sessionTimeoutMs');
  if (s.rebalanceTimeoutMs < s.sessionTimeoutMs) fail('rebalanceTimeoutMs must be at least sessionTimeoutMs');

  const ca = env.PCAPSTREAM_KAFKA_CA_FILE;
  const cert = env.PCAPSTREAM_KAFKA_CERT_FILE;
  const key = env.PCAPSTREAM_KAFKA_KEY_FILE;
  const tlsFlag = env.PCAPSTREAM_KAFKA_TLS;
  if (tlsFlag !== undefined && !['', '0', '1', 'true', 'false'].includes(tlsFlag)) {
    fail(`PCAPSTREAM_KAFKA_TLS must be 1 or 0, got '${tlsFlag}'`);
  }
  if ((cert === undefined) !== (key === undefined)) {
    fail('PCAPSTREAM_KAFKA_CERT_FILE and PCAPSTREAM_KAFKA_KEY_FILE go together');
  }
  if (tlsFlag === '1' || tlsFlag === 'true' || ca !== undefined || cert !== undefined) {
    const tls: KafkaTLSSettings = {};
    if (ca !== undefined) tls.ca = readPem('PCAPSTREAM_KAFKA_CA_FILE', ca);
    if (cert !== undefined && key !== undefined) {
      tls.cert = readPem('PCAPSTREAM_KAFKA_CERT_FILE', cert);
      tls.key = readPem('PCAPSTREAM_KAFKA_KEY_FILE', key);
    }
    s.tls = tls;
  }

  const username = url.username !== '' ? decodeURIComponent(url.username) : env.PCAPSTREAM_KAFKA_SASL_USERNAME;
  const password = url.password !== '' ? decodeURIComponent(url.password) : env.PCAPSTREAM_KAFKA_SASL_PASSWORD;
  const mechanismText = q.get('saslMechanism') ?? env.PCAPSTREAM_KAFKA_SASL_MECHANISM;
  if (mechanismText !== undefined || username !== undefined) {
    const mechanism = (mechanismText ?? 'PLAIN').toUpperCase();
    if (!(KAFKA_SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      fail(`SASL mechanism must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}, got '${mechanismText}'`);
    }
    if (username === undefined || password === undefined) {
      fail(`SASL ${mechanism} needs PCAPSTREAM_KAFKA_SASL_USERNAME and PCAPSTREAM_KAFKA_SASL_PASSWORD`);
    }
    s.sasl = { mechanism: mechanism as KafkaSASLMechanism, username, password };
  }
  return s;
}

/** Connection options shared by every client of the transport (`@platformatic/kafka` shape). */
export interface KafkaConnectionOptions {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  timeout: number;
  tls?: KafkaTLSSettings;
  sasl?: SASLOptions;
}

/**
 * The client options that carry the connection settings.
 * @example
 * const admin = new Admin({ ...connectionOptions(kafkaSettings(url)), retries: 3 });
 */
export function connectionOptions(s: KafkaSettings, clientId = s.clientId): KafkaConnectionOptions {
  const o: KafkaConnectionOptions = {
    clientId,
    bootstrapBrokers: s.brokers,
    connectTimeout: s.connectTimeoutMs,
    timeout: s.requestTimeoutMs,
  };
  if (s.tls !== undefined) o.tls = { ...s.tls };
  if (s.sasl !== undefined) o.sasl = { ...s.sasl };
  return o;
}
