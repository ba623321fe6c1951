/**
 * Store addresses: `--store` takes a DuckDB file path (the default store) or a
 * `cassandra://` URL. Parsing is separate from opening so a bad option fails before any
 * capture is read, and so the Cassandra driver is loaded only when it is used.
 *
 * `cassandra://HOST[:PORT][,HOST[:PORT]...]/KEYSPACE?param=value&...` parameters:
 * - `dc` local data centre (default `datacenter1`, a single node's);
 * - `replication` for keyspace creation: `SimpleStrategy:N` (default `SimpleStrategy:1`) or
 *   `NetworkTopologyStrategy:dc1=3,dc2=3`;
 * - `consistency` for writes and reads: `local_quorum` (default), `quorum`, `local_one`,
 *   `one`, `each_quorum` or `all`;
 * - `ttl` seconds rows live (0 = forever, the default), or per table `ttl_flows`,
 *   `ttl_metrics`, `ttl_alerts`;
 * - `bucket` seconds of flow time per partition (default 60) and `shards` partitions per
 *   bucket and sensor (default 4): both fixed when the keyspace is created;
 * - `concurrency` writes in flight (default 64), `queue` rows queued before writers wait
 *   (default 20000).
 * Credentials and TLS come from the environment only, never the URL:
 * `PCAPSTREAM_CASSANDRA_USERNAME` / `PCAPSTREAM_CASSANDRA_PASSWORD`,
 * `PCAPSTREAM_CASSANDRA_TLS=1`, `PCAPSTREAM_CASSANDRA_CA_FILE` (PEM).
 */
import { PipelineError } from '../core/errors.ts';

export interface DuckDBStoreAddress {
  kind: 'duckdb';
  path: string;
}

export type CassandraConsistency = 'one' | 'local_one' | 'quorum' | 'local_quorum' | 'each_quorum' | 'all';

export interface CassandraStoreAddress {
  kind: 'cassandra';
  /** `host:port` contact points. */
  contactPoints: string[];
  keyspace: string;
  localDataCenter: string;
  /** CQL replication map for CREATE KEYSPACE. */
  replication: Record<string, string | number>;
  consistency: CassandraConsistency;
  ttlS: { flows: number; metrics: number; alerts: number };
  bucketS: number;
  shards: number;
  concurrency: number;
  queueRows: number;
  username?: string;
  password?: string;
  tls: boolean;
  caFile?: string;
}

export type StoreAddress = DuckDBStoreAddress | CassandraStoreAddress;

export const DEFAULT_CASSANDRA_PORT = 9042;
export const DEFAULT_CASSANDRA_KEYSPACE = 'pcapstream';

const CONSISTENCIES: readonly CassandraConsistency[] = [
  'one',
  'local_one',
  'quorum',
  'local_quorum',
  'each_quorum',
  'all',
];

const KNOWN_PARAMS = new Set([
  'dc',
  'replication',
  'consistency',
  'ttl',
  'ttl_flows',
  'ttl_metrics',
  'ttl_alerts',
  'bucket',
  'shards',
  'concurrency',
  'queue',
]);

function usage(text: string): PipelineError {
  return new PipelineError('PCS_USAGE', text);
}

function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null) return def;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw usage(`cassandra:// parameter ${name} must be a whole number from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

function parseReplication(text: string): Record<string, string | number> {
  const [cls, rest = ''] = text.split(':', 2) as [string, string?];
  if (cls === 'SimpleStrategy') {
    const n = Number(rest);
    if (!Number.isInteger(n) || n < 1 || n > 100) throw usage(`replication SimpleStrategy:N needs N from 1 to 100`);
    return { class: 'SimpleStrategy', replication_factor: n };
  }
  if (cls === 'NetworkTopologyStrategy') {
    const out: Record<string, string | number> = { class: 'NetworkTopologyStrategy' };
    for (const part of rest.split(',')) {
      const m = /^([A-Za-z0-9_.-]+)=(\d{1,2})$/.exec(part);
      if (m === null) throw usage(`replication NetworkTopologyStrategy:dc1=3,dc2=3 expected, got '${text}'`);
      out[m[1]!] = Number(m[2]);
    }
    return out;
  }
  throw usage(`replication must be SimpleStrategy:N or NetworkTopologyStrategy:dc=N,..., got '${text}'`);
}

/**
 * Parse a `--store` value: a `cassandra://` URL, or else a DuckDB file path (`duckdb://PATH`
 * is accepted too).
 * @example
 * parseStoreAddress('cassandra://10.0.0.5,10.0.0.6/flows?replication=SimpleStrategy:3');
 * parseStoreAddress('pcapstream.duckdb'); // { kind: 'duckdb', path: 'pcapstream.duckdb' }
 */
export function parseStoreAddress(text: string, env: NodeJS.ProcessEnv = process.env): StoreAddress {
  if (text.startsWith('duckdb://')) return { kind: 'duckdb', path: text.slice('duckdb://'.length) };
  if (!/^cassandra:\/\//i.test(text)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      throw usage(`unknown store '${text.split('://')[0]}://'; use a DuckDB file path or cassandra://HOST/KEYSPACE`);
    }
    if (text === '') throw usage('--store needs a DuckDB file path or a cassandra:// URL');
    return { kind: 'duckdb', path: text };
  }
  const m = /^cassandra:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(text);
  if (m === null) throw usage(`not a cassandra:// URL: '${text}'`);
  const [, hostPart = '', path = '', query = ''] = m;
  if (hostPart.includes('@')) {
    throw usage(
      'put Cassandra credentials in PCAPSTREAM_CASSANDRA_USERNAME and PCAPSTREAM_CASSANDRA_PASSWORD, not in the URL',
    );
  }
  const contactPoints = hostPart
    .split(',')
    .filter((h) => h !== '')
    .map((h) => {
      const hm = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h);
      const port = hm?.[2] === undefined ? DEFAULT_CASSANDRA_PORT : Number(hm[2]);
      if (hm === null || port < 1 || port > 65535) throw usage(`bad Cassandra host '${h}' in '${text}'`);
      return `${hm[1]}:${port}`;
    });
  if (contactPoints.length === 0) throw usage(`cassandra:// URL without a host: '${text}'`);
  const keyspace = decodeURIComponent(path.replace(/^\//, '')) || DEFAULT_CASSANDRA_KEYSPACE;
  // Unquoted CQL identifiers only: the keyspace name is written into DDL.
  if (!/^[A-Za-z][A-Za-z0-9_]{0,47}$/.test(keyspace)) {
    throw usage(`Cassandra keyspace must be a letter then letters, digits or _ (at most 48), got '${keyspace}'`);
  }
  const q = new URLSearchParams(query);
  for (const k of q.keys()) {
    if (!KNOWN_PARAMS.has(k))
      throw usage(`unknown cassandra:// parameter '${k}'; known: ${[...KNOWN_PARAMS].join(', ')}`);
  }
  const consistency = (q.get('consistency') ?? 'local_quorum').toLowerCase() as CassandraConsistency;
  if (!CONSISTENCIES.includes(consistency)) {
    throw usage(`consistency must be one of ${CONSISTENCIES.join(', ')}, got '${q.get('consistency')}'`);
  }
  const year = 366 * 86400 * 10;
  const ttl = intParam(q, 'ttl', 0, 0, year);
  const tlsFlag = env.PCAPSTREAM_CASSANDRA_TLS;
  if (tlsFlag !== undefined && !['', '0', '1', 'true', 'false'].includes(tlsFlag)) {
    throw usage(`PCAPSTREAM_CASSANDRA_TLS must be 1 or 0, got '${tlsFlag}'`);
  }
  const username = env.PCAPSTREAM_CASSANDRA_USERNAME;
  const password = env.PCAPSTREAM_CASSANDRA_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw usage('PCAPSTREAM_CASSANDRA_USERNAME and PCAPSTREAM_CASSANDRA_PASSWORD go together');
  }
  const caFile = env.PCAPSTREAM_CASSANDRA_CA_FILE;
  return {
    kind: 'cassandra',
    contactPoints,
    keyspace,
    localDataCenter: q.get('dc') ?? 'datacenter1',
    replication: parseReplication(q.get('replication') ?? 'SimpleStrategy:1'),
    consistency,
    ttlS: {
      flows: intParam(q, 'ttl_flows', ttl, 0, year),
      metrics: intParam(q, 'ttl_metrics', ttl, 0, year),
      alerts: intParam(q, 'ttl_alerts', ttl, 0, year),
    },
    bucketS: intParam(q, 'bucket', 60, 1, 86400),
    shards: intParam(q, 'shards', 4, 1, 256),
    concurrency: intParam(q, 'concurrency', 64, 1, 1024),
    queueRows: intParam(q, 'queue', 20_000, 100, 10_000_000),
    ...(username === undefined ? {} : { username, password: password! }),
    tls: tlsFlag === '1' || tlsFlag === 'true' || caFile !== undefined,
    ...(caFile === undefined ? {} : { caFile }),
  };
}

/**
 * The address for messages: never credentials.
 * @example
 * describeStore(parseStoreAddress('cassandra://db1/flows')); // 'cassandra://db1:9042/flows'
 */
export function describeStore(a: StoreAddress): string {
  return a.kind === 'duckdb' ? a.path : `cassandra://${a.contactPoints.join(',')}/${a.keyspace}`;
}
