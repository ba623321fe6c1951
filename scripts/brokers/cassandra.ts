/**
 * A local Apache Cassandra node for tests, benchmarks and development: the 5.0 server from Maven
 * Central (`scripts/brokers/cassandra/pom.xml`, fetched by `install-cassandra.sh` into
 * `.cache/brokers/cassandra/lib`), one JVM running `CassandraDaemon` in the foreground, bound to
 * 127.0.0.1 only (native CQL port and storage port), no JMX port, configuration, log and data in
 * its own directory.
 *
 * Durability: `commitlog_sync: batch` by default, so the node fsyncs the commit log before it
 * acknowledges a write, and an acknowledged row survives `kill()` (SIGKILL) as well as `stop()`.
 * Concurrent writes share one fsync. Cassandra's own default, `periodic` (fsync every 10 s, ack
 * before it), may lose up to that period of acknowledged writes on a crash; a benchmark that
 * wants it passes `commitlogSync: 'periodic'`.
 *
 * Settings are the ones a single-node test cluster needs: one token, the simple snitch
 * (data centre `datacenter1`), no ring or gossip settle delays, no automatic snapshots on
 * DROP/TRUNCATE (tests drop keyspaces often), one compaction thread. The JVM starts with a 256 MiB heap that may grow to
 * 1 GiB heap.
 *
 * Ready means a real CQL round trip, spoken in the native protocol: STARTUP, then a read of
 * `system.local`.
 *
 * CLI (for development; default ports 9042/7000; state in `.cache/brokers/cassandra/state.json`):
 *   node scripts/brokers/cassandra.ts start [--port 9042] [--storage-port 7000] [--data-dir DIR]
 *                                            start in the background, wait until ready, print
 *                                            the contact point (the only line on stdout)
 *   node scripts/brokers/cassandra.ts wait   wait until the started node answers CQL
 *   node scripts/brokers/cassandra.ts stop   stop it (data stays in .cache/brokers/cassandra/data)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ChildServer,
  cliFlag,
  cliPort,
  freePort,
  javaBin,
  pidAlive,
  REPO_ROOT,
  readState,
  runCli,
  stateDir,
  stopStarted,
  waitUntil,
  writeState,
} from './server-process.ts';

const run = promisify(execFile);

const READY_TIMEOUT_MS = 120_000;
/** A clean stop drains: memtables flushed to SSTables, which takes a few seconds. */
const STOP_TIMEOUT_MS = 60_000;
/** Where `install-cassandra.sh` puts the server jars. */
export const CASSANDRA_LIB_DIR = join(REPO_ROOT, '.cache', 'brokers', 'cassandra', 'lib');
/** Data centre name the simple snitch reports; clients need it as their local one. */
export const CASSANDRA_DATA_CENTER = 'datacenter1';

/**
 * How the commit log reaches the disk: `batch` fsyncs before each acknowledgement (shared by
 * concurrent writes), `group` does so in windows of 15 ms, `periodic` every 10 s without
 * waiting (acknowledged writes of the last period are lost on a crash).
 * @example
 * const sync: CommitlogSync = 'periodic';
 */
export type CommitlogSync = 'batch' | 'group' | 'periodic';

/**
 * Options of `CassandraServer.start`.
 * @example
 * const opts: CassandraServerOptions = { port: 9042, storagePort: 7000, heapMb: 768 };
 */
export interface CassandraServerOptions {
  /** Native (CQL) port on 127.0.0.1; a free one if omitted. */
  port?: number;
  /** Storage (inter-node) port on 127.0.0.1; a free one if omitted. */
  storagePort?: number;
  /**
   * Directory for the configuration, the log and the data (kept by `cleanup`); a new temporary
   * one if omitted (removed by `cleanup`).
   */
  dataDir?: string;
  /** Node log (logback, plus anything else the JVM prints); `<dataDir>/cassandra.log` if omitted. */
  logFile?: string;
  /** Maximum JVM heap in MiB (default 1024). */
  heapMb?: number;
  /** Commit log durability (default `batch`: acknowledged writes survive SIGKILL). */
  commitlogSync?: CommitlogSync;
  /** Extra top-level `cassandra.yaml` settings, overriding the defaults (`key` to YAML value). */
  settings?: Record<string, string | number | boolean>;
  /** Run in its own process group and outlive this process (the CLI's background node). */
  detached?: boolean;
}

/** The module flags Cassandra 5.0 needs on Java 17 (what its `jvm17-server.options` sets). */
const JAVA17_MODULE_FLAGS = [
  ...[
    'java.base/jdk.internal.misc',
    'java.base/jdk.internal.ref',
    'java.base/sun.nio.ch',
    'java.management.rmi/com.sun.jmx.remote.internal.rmi',
    'java.rmi/sun.rmi.registry',
    'java.rmi/sun.rmi.server',
    'java.sql/java.sql',
  ].flatMap((m) => ['--add-exports', `${m}=ALL-UNNAMED`]),
  ...[
    'java.base/java.lang.module',
    'java.base/jdk.internal.loader',
    'java.base/jdk.internal.ref',
    'java.base/jdk.internal.reflect',
    'java.base/jdk.internal.math',
    'java.base/jdk.internal.module',
    'java.base/jdk.internal.util.jar',
    'jdk.management/com.sun.management.internal',
    'java.base/sun.nio.ch',
    'java.base/java.io',
    'java.base/java.nio',
    'java.base/java.util.concurrent',
    'java.base/java.util',
    'java.base/java.util.concurrent.atomic',
    'java.base/java.lang',
    'java.base/java.math',
    'java.base/java.lang.reflect',
    'java.base/java.net',
  ].flatMap((m) => ['--add-opens', `${m}=ALL-UNNAMED`]),
];

/** Runs `install-cassandra.sh` (a no-op when the jars are current). */
async function ensureInstalled(): Promise<void> {
  try {
    await run('bash', [join(REPO_ROOT, 'scripts', 'brokers', 'install-cassandra.sh')], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cannot install Cassandra: ${e.stderr || e.message}`);
  }
}

/** The jamm agent jar (object sizes for memtable accounting); the JVM refuses to start without it. */
function jammJar(): string {
  const jar = readdirSync(CASSANDRA_LIB_DIR).find((f) => /^jamm-.*\.jar$/.test(f));
  if (jar === undefined)
    throw new Error(`no jamm-*.jar in ${CASSANDRA_LIB_DIR}; run scripts/brokers/install-cassandra.sh`);
  return join(CASSANDRA_LIB_DIR, jar);
}

/** A CQL native-protocol v4 request frame: header (version, flags, stream, opcode, length), body. */
function cqlFrame(stream: number, opcode: number, body: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUInt8(0x04, 0);
  h.writeUInt16BE(stream, 2);
  h.writeUInt8(opcode, 4);
  h.writeUInt32BE(body.length, 5);
  return Buffer.concat([h, body]);
}

function cqlString(s: string, lenBytes: 2 | 4): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(lenBytes);
  if (lenBytes === 2) len.writeUInt16BE(b.length);
  else len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * True if a Cassandra node on 127.0.0.1:`port` answers a CQL query: STARTUP, then a SELECT on
 * `system.local` that must return rows, spoken directly in the native protocol. (The driver is
 * not used here: a driver client whose connect fails while the node starts keeps reconnecting
 * on a timer after shutdown, which holds the test process open.)
 * @example
 * if (await cassandraReady(9042)) console.log('up');
 */
export function cassandraReady(port: number, timeoutMs = 5000): Promise<boolean> {
  const startup = cqlFrame(
    1,
    0x01,
    Buffer.concat([Buffer.from([0, 1]), cqlString('CQL_VERSION', 2), cqlString('3.0.0', 2)]),
  );
  // QUERY: the statement, consistency ONE, no flags.
  const query = cqlFrame(
    2,
    0x07,
    Buffer.concat([cqlString('SELECT release_version FROM system.local', 4), Buffer.from([0, 1, 0])]),
  );
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (v: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
    sock.on('connect', () => sock.write(startup));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9 && buf.length >= 9 + buf.readUInt32BE(5)) {
        const opcode = buf.readUInt8(4);
        const body = buf.subarray(9, 9 + buf.readUInt32BE(5));
        buf = buf.subarray(9 + body.length);
        if (opcode === 0x02)
          sock.write(query); // READY
        else if (opcode === 0x08)
          return done(body.length >= 4 && body.readInt32BE(0) === 2); // RESULT: Rows
        else return done(false); // ERROR or anything unexpected
      }
    });
  });
}

/**
 * One Cassandra node on 127.0.0.1. `stop()` drains the node (memtables flushed; SIGKILL after
 * 60 s); after `kill()` the next start replays the commit log.
 * @example
 * const node = await CassandraServer.start();
 * const store = await openStore(node.url);
 * ...
 * await node.cleanup();
 */
export class CassandraServer extends ChildServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly storagePort: number;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly options: CassandraServerOptions;

  private constructor(port: number, storagePort: number, dataDir: string, ownsDir: boolean, o: CassandraServerOptions) {
    super(dataDir, ownsDir, { stopGraceMs: STOP_TIMEOUT_MS, relaunchRetries: 3, relaunchDelayMs: 500 });
    this.port = port;
    this.storagePort = storagePort;
    this.dataDir = dataDir;
    this.options = o;
    this.logFile = o.logFile ?? join(dataDir, 'cassandra.log');
  }

  /** `127.0.0.1:PORT`, the contact point for clients. */
  get contactPoint(): string {
    return `${this.host}:${this.port}`;
  }

  /** `cassandra://127.0.0.1:PORT`, the store URL. */
  get url(): string {
    return `cassandra://${this.contactPoint}`;
  }

  /**
   * Starts a node and waits until it answers CQL. Without ports, free ones are chosen (and others
   * tried, in a new directory, if something takes them first). Installs the jars first if needed.
   * @example
   * const node = await CassandraServer.start({ port: 9042, storagePort: 7000 });
   */
  static async start(options: CassandraServerOptions = {}): Promise<CassandraServer> {
    await ensureInstalled();
    const ownsDir = options.dataDir === undefined;
    const fixed = options.port !== undefined || options.storagePort !== undefined;
    for (let attempt = 0; ; attempt++) {
      // A failed attempt may have written a half-initialised system keyspace: start over clean.
      const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pcs-cassandra-'));
      mkdirSync(dataDir, { recursive: true });
      const port = options.port ?? (await freePort());
      let storagePort = options.storagePort ?? (await freePort());
      while (storagePort === port) storagePort = await freePort();
      const node = new CassandraServer(port, storagePort, dataDir, ownsDir, options);
      try {
        await node.launch();
        return node;
      } catch (err) {
        await node.kill();
        if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
        if (fixed || attempt >= 3) throw err;
      }
    }
  }

  private yaml(): string {
    const d = (sub: string): string => JSON.stringify(join(this.dataDir, sub));
    const sync = this.options.commitlogSync ?? 'batch';
    // Cassandra rejects the parameters of the other modes, so only the chosen one's are written.
    const commitlog: Record<string, string> =
      sync === 'periodic'
        ? { commitlog_sync: 'periodic', commitlog_sync_period: '10000ms' }
        : sync === 'group'
          ? { commitlog_sync: 'group', commitlog_sync_group_window: '15ms' }
          : { commitlog_sync: 'batch' };
    const settings: Record<string, string | number | boolean> = {
      cluster_name: 'pcapstream',
      num_tokens: 1,
      partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner',
      ...commitlog,
      commitlog_directory: d('commitlog'),
      data_file_directories: `[${d('data')}]`,
      saved_caches_directory: d('saved_caches'),
      hints_directory: d('hints'),
      cdc_raw_directory: d('cdc_raw'),
      listen_address: this.host,
      rpc_address: this.host,
      storage_port: this.storagePort,
      native_transport_port: this.port,
      start_native_transport: true,
      endpoint_snitch: 'SimpleSnitch',
      // Tests drop and truncate tables all the time; a snapshot of each is only disk churn.
      auto_snapshot: false,
      concurrent_compactors: 1,
      ...this.options.settings,
    };
    return [
      ...Object.entries(settings).map(([k, v]) => `${k}: ${v}`),
      'seed_provider:',
      '  - class_name: org.apache.cassandra.locator.SimpleSeedProvider',
      '    parameters:',
      `      - seeds: "${this.host}:${this.storagePort}"`,
      '',
    ].join('\n');
  }

  protected async launch(): Promise<void> {
    const configFile = join(this.dataDir, 'cassandra.yaml');
    const logback = join(this.dataDir, 'logback.xml');
    writeFileSync(configFile, this.yaml());
    // To stdout, which goes to the log file: one file then also holds what the JVM itself prints
    // (bad flags, crashes). A comma in %date's pattern would be read as a time-zone separator.
    writeFileSync(
      logback,
      [
        '<configuration>',
        '  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">',
        '    <encoder><pattern>%-5level [%thread] %date{HH:mm:ss.SSS} %logger{0}: %msg%n</pattern></encoder>',
        '  </appender>',
        '  <root level="INFO"><appender-ref ref="STDOUT"/></root>',
        '</configuration>',
        '',
      ].join('\n'),
    );
    const heapMb = this.options.heapMb ?? 1024;
    const args = [
      // Running as root, Cassandra mlockall()s the JVM at start, which makes the whole initial
      // heap resident: 256 MiB keeps an idle node near 700 MB RSS (a 512 MiB one: 950 MB).
      `-Xms${Math.min(256, heapMb)}m`,
      `-Xmx${heapMb}m`,
      '-XX:+UseG1GC',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      '-Djdk.attach.allowAttachSelf=true',
      ...JAVA17_MODULE_FLAGS,
      `-javaagent:${jammJar()}`,
      `-Dcassandra.config=file://${configFile}`,
      `-Dlogback.configurationFile=${logback}`,
      '-Dcassandra-foreground=yes',
      `-Dcassandra.storagedir=${this.dataDir}`,
      // One node: nobody to gossip with, no ring to wait for.
      '-Dcassandra.skip_wait_for_gossip_to_settle=0',
      '-Dcassandra.ring_delay_ms=0',
      // A stop drains in under a second instead of five: no 2 s shutdown announcement to peers,
      // and inter-node messaging (idle on one node; CQL is closed first) closed at once instead
      // of after Netty's 2 s quiet period. Memtables are still flushed afterwards.
      '-Dcassandra.shutdown_announce_in_ms=0',
      '-Dcassandra.test.messagingService.nonGracefulShutdown=true',
      // No cassandra.jmx.local.port / com.sun.management.jmxremote.port: no JMX listener.
      '-cp',
      `${CASSANDRA_LIB_DIR}/*`,
      'org.apache.cassandra.service.CassandraDaemon',
    ];
    // The log is appended to across restarts; errors are looked for in this run's part only.
    const logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const out = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(javaBin(), args, {
        cwd: this.dataDir,
        stdio: ['ignore', out, out],
        detached: this.options.detached ?? false,
      });
    } finally {
      closeSync(out);
    }
    const tail = (): string => {
      try {
        const text = readFileSync(this.logFile).subarray(logStart).toString('utf8');
        // The first ERROR names the cause (port in use, bad setting); what follows is the shutdown.
        const err = text.search(/^ERROR /m);
        const excerpt = err >= 0 ? text.slice(err, err + 4000) : text.slice(-4000);
        return `${excerpt}\n(cassandra log: ${this.logFile})`;
      } catch {
        return `(cassandra log: ${this.logFile})`;
      }
    };
    const ready = (): Promise<boolean> => cassandraReady(this.port);
    const detached = this.options.detached ?? false;
    await this.adopt(child, detached, ready, `cassandra on ${this.contactPoint}`, READY_TIMEOUT_MS, tail);
  }
}

async function cli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const state = readState('cassandra');
  switch (command) {
    case 'start': {
      if (state !== null && pidAlive(state.pid)) {
        console.error(`cassandra already running (pid ${state.pid}, data ${state.dir})`);
        console.log(`127.0.0.1:${state.port}`);
        return;
      }
      const port = cliPort(rest, '--port', 9042);
      const storagePort = cliPort(rest, '--storage-port', 7000);
      const dataDir = cliFlag(rest, '--data-dir') ?? join(stateDir('cassandra'), 'data');
      const t0 = performance.now();
      const node = await CassandraServer.start({ port, storagePort, dataDir, detached: true });
      writeState('cassandra', {
        pid: node.pid,
        port,
        dir: dataDir,
        extra: { storagePort, logFile: node.logFile },
      });
      console.error(
        `cassandra ready in ${Math.round(performance.now() - t0)} ms (pid ${node.pid}, log ${node.logFile})`,
      );
      // Only the contact point on stdout: CASSANDRA=$(node scripts/brokers/cassandra.ts start)
      console.log(node.contactPoint);
      return;
    }
    case 'wait': {
      const port = state?.port ?? cliPort(rest, '--port', 9042);
      await waitUntil(() => cassandraReady(port), READY_TIMEOUT_MS, `cassandra on 127.0.0.1:${port}`);
      console.log(`127.0.0.1:${port}`);
      return;
    }
    case 'stop':
      await stopStarted('cassandra', STOP_TIMEOUT_MS);
      return;
    default:
      console.error(
        'usage: node scripts/brokers/cassandra.ts start [--port 9042] [--storage-port 7000] [--data-dir DIR] | wait [--port 9042] | stop',
      );
      process.exitCode = 2;
  }
}

if (import.meta.main) runCli(cli);
