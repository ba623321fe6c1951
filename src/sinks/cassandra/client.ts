/**
 * One configured `cassandra-driver` client for a `cassandra://` address: contact points, local
 * data centre, consistency, credentials and TLS from the environment, and a reconnection policy
 * short enough that a node coming back is used within seconds (the driver's default waits up
 * to ten minutes between attempts).
 */
import { readFileSync } from 'node:fs';
import cassandra from 'cassandra-driver';
import { PipelineError } from '../../core/errors.ts';
import { type CassandraConsistency, type CassandraStoreAddress, describeStore } from '../store-url.ts';

const { Client, auth, policies, types } = cassandra;

export type CassandraClient = InstanceType<typeof Client>;

const CONSISTENCY: Record<CassandraConsistency, number> = {
  one: types.consistencies.one,
  local_one: types.consistencies.localOne,
  quorum: types.consistencies.quorum,
  local_quorum: types.consistencies.localQuorum,
  each_quorum: types.consistencies.eachQuorum,
  all: types.consistencies.all,
};

/**
 * A client (not yet connected) for `a`. `keyspace` false leaves the session without one (for
 * creating it).
 * @example
 * const client = cassandraClient(parseStoreAddress('cassandra://127.0.0.1/pcapstream') as CassandraStoreAddress);
 * await connectCassandra(client, address);
 */
export function cassandraClient(
  a: CassandraStoreAddress,
  opts: { requestTimeoutMs?: number; useKeyspace?: boolean } = {},
): CassandraClient {
  let ca: Buffer | undefined;
  if (a.caFile !== undefined) {
    try {
      ca = readFileSync(a.caFile);
    } catch (err) {
      throw new PipelineError('PCS_CONFIG', `PCAPSTREAM_CASSANDRA_CA_FILE: cannot read ${a.caFile}`, { cause: err });
    }
  }
  return new Client({
    contactPoints: a.contactPoints,
    localDataCenter: a.localDataCenter,
    ...(opts.useKeyspace === true ? { keyspace: a.keyspace } : {}),
    ...(a.username === undefined ? {} : { authProvider: new auth.PlainTextAuthProvider(a.username, a.password!) }),
    ...(a.tls ? { sslOptions: ca === undefined ? {} : { ca: [ca] } } : {}),
    policies: {
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(250, 2000, true),
    },
    queryOptions: {
      consistency: CONSISTENCY[a.consistency],
      prepare: true,
      isIdempotent: true,
    },
    socketOptions: { readTimeout: opts.requestTimeoutMs ?? 12_000, connectTimeout: 5000 },
  });
}

/**
 * Connect, or fail with `PCS_STORE_OPEN` saying which address did not answer and why.
 * @example
 * await connectCassandra(client, address);
 */
export async function connectCassandra(client: CassandraClient, a: CassandraStoreAddress): Promise<void> {
  try {
    await client.connect();
  } catch (err) {
    await shutdownCassandra(client);
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const hint = /authenticat|credentials|password/i.test(msg)
      ? ' (check PCAPSTREAM_CASSANDRA_USERNAME and PCAPSTREAM_CASSANDRA_PASSWORD)'
      : /local ?data ?cent|datacenter/i.test(msg)
        ? ` (the local data centre is '${a.localDataCenter}'; set it with ?dc=NAME)`
        : '';
    throw new PipelineError('PCS_STORE_OPEN', `cannot reach Cassandra at ${describeStore(a)}: ${msg}${hint}`, {
      cause: err,
    });
  }
}

/**
 * Shut a client down for good. A client whose connect failed keeps host pools and a control
 * connection that go on reconnecting on timers after `shutdown()` (which then hold the process
 * open): they are closed too.
 * @example
 * await shutdownCassandra(client);
 */
export async function shutdownCassandra(client: CassandraClient): Promise<void> {
  await client.shutdown().catch(() => undefined);
  const inner = client as unknown as {
    hosts?: { values(): Iterable<{ pool?: { shutdown(): Promise<void> } }> };
    controlConnection?: { shutdown(): void };
  };
  // After a failed connect the control connection goes on retrying too (`shutdown()` skips a
  // client that never connected).
  inner.controlConnection?.shutdown();
  for (const h of inner.hosts?.values() ?? []) await h.pool?.shutdown().catch(() => undefined);
}

/**
 * True for errors worth retrying with back-off: the node is away, overloaded or slow. False for
 * errors a retry cannot fix (bad statement, bad value, refused credentials).
 * @example
 * if (isRetriableCassandraError(err)) setTimeout(retry, delay);
 */
export function isRetriableCassandraError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.name;
  if (name === 'NoHostAvailableError' || name === 'OperationTimedOutError' || name === 'BusyConnectionError') {
    return true;
  }
  if (name === 'ResponseError') {
    const code = (err as Error & { code?: number }).code;
    const rc = types.responseErrorCodes;
    return (
      code === rc.unavailableException ||
      code === rc.overloaded ||
      code === rc.isBootstrapping ||
      code === rc.writeTimeout ||
      code === rc.readTimeout ||
      code === rc.truncateError ||
      code === rc.writeFailure ||
      code === rc.readFailure ||
      code === rc.serverError
    );
  }
  // Socket-level failures surface as plain errors from the connection.
  return /ECONNREFUSED|ECONNRESET|EPIPE|socket|closed|timed? ?out/i.test(err.message);
}
