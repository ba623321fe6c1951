/**
 * A local Apache Kafka broker for tests, benchmarks and development: the 4.x broker from Maven
 * Central (`scripts/brokers/kafka/pom.xml`, fetched by `install-kafka.sh` into
 * `.cache/brokers/kafka/lib`), one JVM in KRaft mode with the broker and controller roles
 * combined, bound to 127.0.0.1 only, data and log in its own directory.
 *
 * Settings are the ones a single-node test cluster needs: replication factors and ISR minimums
 * of 1 for the internal topics (with few partitions, so the first group join does not wait for 50
 * of them), no automatic topic creation, no initial rebalance delay (a new group's first join is
 * answered at once), and 64 MiB messages so checkpoints fit. The JVM gets 256 MiB to 1 GiB heap.
 *
 * Ready means a real client round trip: metadata answers and the group coordinator is loaded
 * (FindCoordinator succeeds), so the first consumer group of a test does not pay for it.
 *
 * CLI (for development; default ports 9092/9093; state in `.cache/brokers/kafka/state.json`):
 *   node scripts/brokers/kafka.ts start [--port 9092] [--controller-port 9093] [--data-dir DIR]
 *                                        start in the background, wait until ready, print
 *                                        the bootstrap address (the only line on stdout)
 *   node scripts/brokers/kafka.ts wait   wait until the started broker answers
 *   node scripts/brokers/kafka.ts stop   stop it (data stays in .cache/brokers/kafka/data)
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Admin, FindCoordinatorKeyTypes } from '@platformatic/kafka';
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

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
/** Largest record batch the broker accepts (checkpoints are tens of MB). */
export const KAFKA_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Where `install-kafka.sh` puts the broker jars. */
export const KAFKA_LIB_DIR = join(REPO_ROOT, '.cache', 'brokers', 'kafka', 'lib');

export interface KafkaBrokerOptions {
  /** Client port on 127.0.0.1; a free one if omitted. */
  port?: number;
  /** Controller (KRaft) port on 127.0.0.1; a free one if omitted. */
  controllerPort?: number;
  /**
   * Directory for the configuration, the log and the data (kept by `cleanup`); a new temporary
   * one if omitted (removed by `cleanup`). Formatted when it holds no data yet.
   */
  dataDir?: string;
  /** Broker log (stdout and stderr of the JVM); `<dataDir>/broker.log` if omitted. */
  logFile?: string;
  /** Maximum JVM heap in MiB (default 1024). */
  heapMb?: number;
  /** Extra `server.properties` lines, overriding the defaults (`key` to value). */
  settings?: Record<string, string | number>;
  /** Run in its own process group and outlive this process (the CLI's background broker). */
  detached?: boolean;
}

/** Runs `install-kafka.sh` (a no-op when the jars are current). */
async function ensureInstalled(): Promise<void> {
  try {
    await run('bash', [join(REPO_ROOT, 'scripts', 'brokers', 'install-kafka.sh')], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`cannot install the Kafka broker: ${e.stderr || e.message}`);
  }
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64, not starting with '-' (Kafka's rule). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * True if the broker at `bootstrap` answers metadata and has its group coordinator loaded.
 * @example
 * if (await kafkaReady('127.0.0.1:9092')) console.log('up');
 */
export async function kafkaReady(bootstrap: string, timeoutMs = 3000): Promise<boolean> {
  const admin = new Admin({
    clientId: 'pcapstream-ready',
    bootstrapBrokers: [bootstrap],
    retries: 0,
    connectTimeout: Math.min(timeoutMs, 2000),
    timeout: timeoutMs,
  });
  try {
    const md = await admin.metadata({ topics: [] });
    if (md.brokers.size === 0) return false;
    // Loads (creating on first start) the offsets topic: COORDINATOR_NOT_AVAILABLE until done.
    const found = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: ['pcapstream-ready'] });
    return found.length > 0 && found[0]!.nodeId >= 0;
  } catch {
    return false;
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * One Kafka broker (KRaft, broker + controller in one JVM) on 127.0.0.1. `stop()` is a
 * controlled shutdown (logs flushed; SIGKILL after 30 s); after `kill()` the next start recovers
 * the logs.
 * @example
 * const kafka = await KafkaBroker.start();
 * const t = await openTransport(`kafka://${kafka.bootstrap}`);
 * ...
 * await kafka.cleanup();
 */
export class KafkaBroker extends ChildServer {
  readonly port: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly options: KafkaBrokerOptions;

  private constructor(port: number, controllerPort: number, dataDir: string, ownsDir: boolean, o: KafkaBrokerOptions) {
    super(dataDir, ownsDir, { stopGraceMs: STOP_TIMEOUT_MS, relaunchRetries: 3, relaunchDelayMs: 500 });
    this.port = port;
    this.controllerPort = controllerPort;
    this.dataDir = dataDir;
    this.options = o;
    this.logFile = o.logFile ?? join(dataDir, 'broker.log');
  }

  /** `127.0.0.1:PORT`, the bootstrap address for clients. */
  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `kafka://127.0.0.1:PORT`, the transport URL. */
  get url(): string {
    return `kafka://${this.bootstrap}`;
  }

  /**
   * Starts a broker and waits until it is ready. Without ports, free ones are chosen (and others
   * tried if something takes them first). Installs the jars first if needed.
   * @example
   * const kafka = await KafkaBroker.start({ port: 9092, controllerPort: 9093 });
   */
  static async start(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    await ensureInstalled();
    const ownsDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pcs-kafka-'));
    mkdirSync(dataDir, { recursive: true });
    const fixed = options.port !== undefined || options.controllerPort !== undefined;
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      let controllerPort = options.controllerPort ?? (await freePort());
      while (controllerPort === port) controllerPort = await freePort();
      const broker = new KafkaBroker(port, controllerPort, dataDir, ownsDir, options);
      try {
        await broker.launch();
        return broker;
      } catch (err) {
        await broker.kill();
        if (fixed || attempt >= 3) {
          if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }

  private properties(): string {
    const logs = join(this.dataDir, 'kafka-logs');
    const settings: Record<string, string | number> = {
      'process.roles': 'broker,controller',
      'node.id': 1,
      'controller.quorum.voters': `1@127.0.0.1:${this.controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${this.port}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'log.dirs': logs,
      'num.partitions': 1,
      'default.replication.factor': 1,
      'min.insync.replicas': 1,
      'auto.create.topics.enable': 'false',
      'offsets.topic.replication.factor': 1,
      'offsets.topic.num.partitions': 4,
      'transaction.state.log.replication.factor': 1,
      'transaction.state.log.min.isr': 1,
      'transaction.state.log.num.partitions': 4,
      'share.coordinator.state.topic.replication.factor': 1,
      'share.coordinator.state.topic.min.isr': 1,
      'group.initial.rebalance.delay.ms': 0,
      // Lets tests use short session timeouts; the client's default stays 10 s.
      'group.min.session.timeout.ms': 1000,
      'message.max.bytes': KAFKA_MAX_MESSAGE_BYTES,
      'replica.fetch.max.bytes': KAFKA_MAX_MESSAGE_BYTES,
      // Small machine: fewer threads and a smaller compaction buffer than the defaults.
      'num.network.threads': 2,
      'num.io.threads': 4,
      'background.threads': 4,
      'log.cleaner.dedupe.buffer.size': 32 * 1024 * 1024,
      ...this.options.settings,
    };
    return `${Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  }

  protected async launch(): Promise<void> {
    const configFile = join(this.dataDir, 'server.properties');
    const log4j = join(this.dataDir, 'log4j2.yaml');
    writeFileSync(configFile, this.properties());
    writeFileSync(
      log4j,
      [
        'Configuration:',
        '  Appenders:',
        '    Console:',
        '      name: STDOUT',
        '      PatternLayout:',
        '        pattern: "[%d] %p %m (%c)%n"',
        '  Loggers:',
        '    Root:',
        '      level: INFO',
        '      AppenderRef:',
        '        - ref: STDOUT',
        '    Logger:',
        // The full configuration dump of every component: thousands of lines per start.
        '      - name: org.apache.kafka.common.config.AbstractConfig',
        '        level: WARN',
        '',
      ].join('\n'),
    );
    const classpath = `${KAFKA_LIB_DIR}/*`;
    const jvm = [
      '-Xms256m',
      `-Xmx${this.options.heapMb ?? 1024}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      classpath,
    ];
    if (!existsSync(join(this.dataDir, 'kafka-logs', 'meta.properties'))) {
      try {
        await run(
          javaBin(),
          [...jvm, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', configFile, '--ignore-formatted'],
          { maxBuffer: 16 * 1024 * 1024 },
        );
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`kafka storage format failed: ${e.stderr || e.stdout || e.message}`);
      }
    }
    const out = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(javaBin(), [...jvm, 'kafka.Kafka', configFile], {
        stdio: ['ignore', out, out],
        detached: this.options.detached ?? false,
      });
    } finally {
      closeSync(out);
    }
    const tail = (): string => {
      try {
        const text = readFileSync(this.logFile, 'utf8');
        return `${text.slice(-4000)}\n(broker log: ${this.logFile})`;
      } catch {
        return `(broker log: ${this.logFile})`;
      }
    };
    const ready = (): Promise<boolean> => kafkaReady(this.bootstrap);
    const detached = this.options.detached ?? false;
    await this.adopt(child, detached, ready, `kafka on ${this.bootstrap}`, READY_TIMEOUT_MS, tail);
  }
}

async function cli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const state = readState('kafka');
  switch (command) {
    case 'start': {
      if (state !== null && pidAlive(state.pid)) {
        console.error(`kafka already running (pid ${state.pid}, data ${state.dir})`);
        console.log(`127.0.0.1:${state.port}`);
        return;
      }
      const port = cliPort(rest, '--port', 9092);
      const controllerPort = cliPort(rest, '--controller-port', port + 1);
      const dataDir = cliFlag(rest, '--data-dir') ?? join(stateDir('kafka'), 'data');
      const t0 = performance.now();
      const broker = await KafkaBroker.start({ port, controllerPort, dataDir, detached: true });
      writeState('kafka', {
        pid: broker.pid,
        port,
        dir: dataDir,
        extra: { controllerPort, logFile: broker.logFile },
      });
      console.error(
        `kafka ready in ${Math.round(performance.now() - t0)} ms (pid ${broker.pid}, log ${broker.logFile})`,
      );
      // Only the address on stdout: BOOTSTRAP=$(node scripts/brokers/kafka.ts start)
      console.log(broker.bootstrap);
      return;
    }
    case 'wait': {
      const port = state?.port ?? cliPort(rest, '--port', 9092);
      await waitUntil(() => kafkaReady(`127.0.0.1:${port}`), READY_TIMEOUT_MS, `kafka on 127.0.0.1:${port}`);
      console.log(`127.0.0.1:${port}`);
      return;
    }
    case 'stop':
      await stopStarted('kafka', STOP_TIMEOUT_MS);
      return;
    default:
      console.error(
        'usage: node scripts/brokers/kafka.ts start [--port 9092] [--controller-port 9093] [--data-dir DIR] | wait [--port 9092] | stop',
      );
      process.exitCode = 2;
  }
}

if (import.meta.main) runCli(cli);
