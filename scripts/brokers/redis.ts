/**
 * A local Redis server for tests and development: `redis-server` from the distribution's package
 * (see `install-redis-rabbitmq.sh`), bound to 127.0.0.1, data in its own directory.
 *
 * Durability: append-only file with `appendfsync always`, so Redis fsyncs the AOF before it
 * replies to a write. The transport's `send` resolves on the XADD reply and promises that the
 * message is durable; with `everysec` a crash (`kill()`) could lose the last second of
 * acknowledged entries. The cost is one fsync per event-loop turn of the server (pipelined
 * commands share it), small next to the network round trip. RDB snapshots are off: the AOF is
 * the only persistence, and a restart replays it.
 *
 * CLI (for development, default port 6379, state in `.cache/brokers/redis/state.json`):
 *   node scripts/brokers/redis.ts start [port]   start in the background, wait until ready
 *   node scripts/brokers/redis.ts wait           wait until the started server answers
 *   node scripts/brokers/redis.ts stop           stop it (data stays in .cache/brokers/redis/data)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const READY_TIMEOUT_MS = 20_000;

/**
 * Options of `RedisServer.start`.
 * @example
 * const opts: RedisServerOptions = { port: 6380, args: ['--requirepass', secret] };
 */
export interface RedisServerOptions {
  /** Port on 127.0.0.1; a free one if omitted. */
  port?: number;
  /** Data directory (kept by `cleanup`); a new temporary one if omitted (removed by `cleanup`). */
  dir?: string;
  /** Run in its own process group and outlive this process (the CLI's background server). */
  detached?: boolean;
  /** More `redis-server` arguments, e.g. `['--requirepass', secret]`. */
  args?: string[];
}

/**
 * True if a Redis server on 127.0.0.1:`port` answers PING.
 * @example
 * if (await pingRedis(6379)) console.log('up');
 */
export function pingRedis(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (v: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      ok(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      reply += d.toString('latin1');
      // While loading the AOF Redis answers -LOADING; +PONG (or -NOAUTH, with a password set)
      // means it serves commands.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

/**
 * One `redis-server` process on 127.0.0.1. `stop()` lets Redis fsync its append-only file; after
 * `kill()` what `appendfsync always` wrote is what there is.
 * @example
 * const redis = await RedisServer.start();
 * const t = await openTransport(redis.url);
 * ...
 * await redis.cleanup();
 */
export class RedisServer extends ChildServer {
  readonly port: number;
  readonly dir: string;
  private readonly detached: boolean;
  private readonly extraArgs: string[];

  private constructor(port: number, dir: string, ownsDir: boolean, detached: boolean, extraArgs: string[]) {
    super(dir, ownsDir, { stopGraceMs: 15_000, relaunchRetries: 5, relaunchDelayMs: 200 });
    this.port = port;
    this.dir = dir;
    this.detached = detached;
    this.extraArgs = extraArgs;
  }

  /** `redis://127.0.0.1:PORT`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server and waits until it answers PING. Without a port, a free one is chosen (and
   * another tried if something takes it first).
   * @example
   * const redis = await RedisServer.start({ port: 6380 });
   */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pcs-redis-'));
    mkdirSync(dir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      const server = new RedisServer(port, dir, ownsDir, options.detached ?? false, options.args ?? []);
      try {
        await server.launch();
        return server;
      } catch (err) {
        await server.kill();
        if (options.port !== undefined || attempt >= 3) {
          if (ownsDir) rmSync(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }

  protected async launch(): Promise<void> {
    const args = [
      '--bind',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--protected-mode',
      'yes',
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...this.extraArgs,
    ];
    const child = spawn('redis-server', args, {
      stdio: this.detached ? ['ignore', 'ignore', 'ignore'] : ['ignore', 'pipe', 'pipe'],
      detached: this.detached,
    });
    const tail = this.detached ? () => '' : keepTail(child);
    const ready = (): Promise<boolean> => pingRedis(this.port);
    await this.adopt(child, this.detached, ready, `redis-server on port ${this.port}`, READY_TIMEOUT_MS, tail);
  }
}

async function cli(argv: string[]): Promise<void> {
  const [command, portArg] = argv;
  const state = readState('redis');
  switch (command) {
    case 'start': {
      if (state !== null && pidAlive(state.pid)) {
        console.log(`redis already running: redis://127.0.0.1:${state.port} (pid ${state.pid})`);
        return;
      }
      const port = portArg === undefined ? 6379 : Number(portArg);
      const dir = join(stateDir('redis'), 'data');
      const t0 = performance.now();
      const server = await RedisServer.start({ port, dir, detached: true });
      writeState('redis', { pid: server.pid, port, dir });
      console.log(`redis ready in ${Math.round(performance.now() - t0)} ms: ${server.url} (pid ${server.pid})`);
      return;
    }
    case 'wait': {
      const port = state?.port ?? (portArg === undefined ? 6379 : Number(portArg));
      await waitUntil(() => pingRedis(port), READY_TIMEOUT_MS, `redis on port ${port}`);
      console.log(`redis ready: redis://127.0.0.1:${port}`);
      return;
    }
    case 'stop':
      await stopStarted('redis', 15_000);
      return;
    default:
      console.error('usage: node scripts/brokers/redis.ts start [port] | wait | stop');
      process.exitCode = 2;
  }
}

if (import.meta.main) runCli(cli);
