/**
 * A local RabbitMQ node for tests and development: `rabbitmq-server` from the distribution's
 * package (see `install-redis-rabbitmq.sh`) run in the foreground as the current user, with
 * every file (database, logs, config, Erlang cookie) in its own directory and every listener on
 * 127.0.0.1:
 * - AMQP on `port` (`RABBITMQ_NODE_IP_ADDRESS`, `RABBITMQ_NODE_PORT`);
 * - Erlang distribution on its own free port, bound to loopback (`inet_dist_use_interface`);
 * - its own epmd on a free loopback port (`ERL_EPMD_ADDRESS`, `ERL_EPMD_PORT`), so nodes of
 *   concurrent test files never share one and `cleanup` can stop it;
 * - no plugins (no management listener).
 * The `guest` user, which RabbitMQ accepts only from loopback, is the one tests use.
 *
 * Start-to-ready takes several seconds (the Erlang VM boots the whole broker, then recovers its
 * queues); `start()` waits until an AMQP connection opens.
 *
 * CLI (for development, default port 5672, state in `.cache/brokers/rabbitmq/state.json`):
 *   node scripts/brokers/rabbitmq.ts start [port]   start in the background, wait until ready
 *   node scripts/brokers/rabbitmq.ts wait           wait until the started node accepts AMQP
 *   node scripts/brokers/rabbitmq.ts stop           stop it (data stays in .cache/brokers/rabbitmq/data)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import {
  ChildServer,
  freePort,
  keepTail,
  pidAlive,
  readState,
  runCli,
  stateDir,
  stopStarted,
  waitUntil,
  writeState,
} from './server-process.ts';

const READY_TIMEOUT_MS = 90_000;
/** The scripts of Debian's package; `/usr/sbin/rabbitmq-server` would switch to the `rabbitmq` user. */
const RABBITMQ_BIN = ['/usr/lib/rabbitmq/bin', '/usr/lib/rabbitmq/sbin'];

function tool(name: string): string {
  for (const dir of RABBITMQ_BIN) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}

function epmdBinary(): string {
  return existsSync('/usr/lib/erlang/bin/epmd') ? '/usr/lib/erlang/bin/epmd' : 'epmd';
}

/**
 * Options of `RabbitMQServer.start`.
 * @example
 * const opts: RabbitMQServerOptions = { port: 5673 };
 */
export interface RabbitMQServerOptions {
  /** AMQP port on 127.0.0.1; a free one if omitted. */
  port?: number;
  /** Node directory (kept by `cleanup`); a new temporary one if omitted (removed by `cleanup`). */
  dir?: string;
  /** Run in its own session and outlive this process (the CLI's background node). */
  detached?: boolean;
}

/**
 * True if an AMQP connection as guest opens on 127.0.0.1:`port`.
 * @example
 * if (await amqpReady(5672)) console.log('up');
 */
export async function amqpReady(port: number): Promise<boolean> {
  try {
    const conn = await connect(`amqp://guest:guest@127.0.0.1:${port}`, { timeout: 2000 });
    conn.on('error', () => {});
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

interface Ports {
  amqp: number;
  dist: number;
  epmd: number;
}

/**
 * One RabbitMQ node on 127.0.0.1. `stop()` lets the node close connections and flush its queues;
 * `kill()` takes the start script and the VM down together (one process group).
 * @example
 * const rabbit = await RabbitMQServer.start();
 * const t = await openTransport(rabbit.url);
 * ...
 * await rabbit.cleanup();
 */
export class RabbitMQServer extends ChildServer {
  readonly port: number;
  readonly dir: string;
  /** Erlang node name, `pcs<port>@localhost`. */
  readonly nodeName: string;
  /** Milliseconds the last start took until AMQP answered. */
  readyMs = 0;
  private readonly ports: Ports;
  private readonly detached: boolean;

  private constructor(ports: Ports, dir: string, ownsDir: boolean, detached: boolean) {
    super(dir, ownsDir, { stopGraceMs: 30_000, relaunchRetries: 2, relaunchDelayMs: 500 });
    this.ports = ports;
    this.port = ports.amqp;
    this.dir = dir;
    this.detached = detached;
    this.nodeName = `pcs${ports.amqp}@localhost`;
  }

  /** `amqp://guest:guest@127.0.0.1:PORT`. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Port of the node's own epmd. */
  get epmdPort(): number {
    return this.ports.epmd;
  }

  /**
   * Starts a node and waits until it accepts AMQP connections.
   * @example
   * const rabbit = await RabbitMQServer.start({ port: 5673 });
   */
  static async start(options: RabbitMQServerOptions = {}): Promise<RabbitMQServer> {
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pcs-rabbitmq-'));
    mkdirSync(dir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const ports = { amqp: options.port ?? (await freePort()), dist: await freePort(), epmd: await freePort() };
      const server = new RabbitMQServer(ports, dir, ownsDir, options.detached ?? false);
      try {
        await server.launch();
        return server;
      } catch (err) {
        await server.kill();
        server.stopEpmd();
        if (options.port !== undefined || attempt >= 2) {
          if (ownsDir) rmSync(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }

  /** Environment of the node and of `rabbitmqctl` talking to it. */
  env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      ...process.env,
      // The Erlang cookie is created in $HOME; keep it with the node.
      HOME: join(d, 'home'),
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(d, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_PID_FILE: join(d, 'rabbitmq.pid'),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.ports.amqp),
      RABBITMQ_DIST_PORT: String(this.ports.dist),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_EPMD_PORT: String(this.ports.epmd),
    };
  }

  private writeConfig(): void {
    const d = this.dir;
    for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(d, sub), { recursive: true });
    // Empty: the system-wide rabbitmq-env.conf must not change ports or paths.
    writeFileSync(join(d, 'rabbitmq-env.conf'), '');
    writeFileSync(join(d, 'enabled_plugins'), '[].\n');
    writeFileSync(join(d, 'advanced.config'), '[].\n');
    writeFileSync(
      join(d, 'rabbitmq.conf'),
      [
        'loopback_users.guest = true',
        'log.console = true',
        'log.console.level = warning',
        'log.file = false',
        // Test machines often have little free disk; the default 50 MB alarm is enough.
        'disk_free_limit.absolute = 50MB',
        '',
      ].join('\n'),
    );
  }

  protected async launch(): Promise<void> {
    this.writeConfig();
    const t0 = performance.now();
    // The start script runs the VM as a child and forwards SIGTERM to it; its own process group
    // lets `kill()` take both down at once.
    const child = spawn(tool('rabbitmq-server'), [], {
      env: this.env(),
      cwd: this.dir,
      stdio: this.detached ? ['ignore', 'ignore', 'ignore'] : ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const tail = this.detached ? () => '' : keepTail(child);
    const ready = (): Promise<boolean> => amqpReady(this.port);
    await this.adopt(child, this.detached, ready, `rabbitmq-server on port ${this.port}`, READY_TIMEOUT_MS, tail);
    this.readyMs = Math.round(performance.now() - t0);
  }

  /** The hard kill: SIGKILL to the start script's process group, the VM with it. */
  protected override hardKill(child: ChildProcess): void {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** `cleanup()` stops the node's epmd too. */
  protected override afterStop(): void {
    this.stopEpmd();
  }

  /** Stops the node's epmd (started by the node, detached from it). */
  stopEpmd(): void {
    spawnSync(epmdBinary(), ['-kill'], { env: this.env(), stdio: 'ignore', timeout: 5000 });
  }

  /**
   * Runs `rabbitmqctl` against this node (diagnostics and fault injection in tests); resolves to
   * its output.
   * @example
   * console.log(await rabbit.ctl(['list_queues']));
   */
  ctl(args: string[]): Promise<string> {
    return new Promise((ok, fail) => {
      const child = spawn(tool('rabbitmqctl'), ['-n', this.nodeName, ...args], {
        env: this.env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString('utf8');
      });
      child.on('error', fail);
      child.on('exit', (code) =>
        code === 0 ? ok(out) : fail(new Error(`rabbitmqctl ${args[0]} exited ${code}: ${out}`)),
      );
    });
  }
}

async function cli(argv: string[]): Promise<void> {
  const [command, portArg] = argv;
  const state = readState('rabbitmq');
  switch (command) {
    case 'start': {
      if (state !== null && pidAlive(state.pid)) {
        console.log(`rabbitmq already running: amqp://guest:guest@127.0.0.1:${state.port} (pid ${state.pid})`);
        return;
      }
      const port = portArg === undefined ? 5672 : Number(portArg);
      const dir = join(stateDir('rabbitmq'), 'data');
      const server = await RabbitMQServer.start({ port, dir, detached: true });
      writeState('rabbitmq', { pid: server.pid, port, dir, extra: { epmdPort: server.epmdPort } });
      console.log(`rabbitmq ready in ${server.readyMs} ms: ${server.url} (pid ${server.pid})`);
      return;
    }
    case 'wait': {
      const port = state?.port ?? (portArg === undefined ? 5672 : Number(portArg));
      await waitUntil(() => amqpReady(port), READY_TIMEOUT_MS, `rabbitmq on port ${port}`);
      console.log(`rabbitmq ready: amqp://guest:guest@127.0.0.1:${port}`);
      return;
    }
    case 'stop': {
      const stopped = await stopStarted('rabbitmq', 30_000, true);
      const epmdPort = stopped?.extra?.['epmdPort'];
      if (epmdPort !== undefined) {
        spawnSync(epmdBinary(), ['-kill'], {
          env: { ...process.env, ERL_EPMD_ADDRESS: '127.0.0.1', ERL_EPMD_PORT: String(epmdPort) },
          stdio: 'ignore',
          timeout: 5000,
        });
      }
      return;
    }
    default:
      console.error('usage: node scripts/brokers/rabbitmq.ts start [port] | wait | stop');
      process.exitCode = 2;
  }
}

if (import.meta.main) runCli(cli);
