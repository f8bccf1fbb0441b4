import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The Nx workspace root: the built apps live under its dist/ and run with it as cwd. */
export const WORKSPACE_ROOT = path.resolve(__dirname, '../../..');

/** Keep the newest output only: a chatty process must not grow the test's memory without bound. */
const MAX_OUTPUT_CHARS = 512 * 1024;

/** A port nobody listens on right now (the OS picks it; we release it for the child to take). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('could not read the port the OS picked');
  return address.port;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A built app running as a child process, with its stdout and stderr kept for failure reports. */
export class AppProcess {
  private buffer = '';
  private exitStatus: ExitStatus | undefined;
  private readonly exited: Promise<ExitStatus>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (stream: string) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.buffer += stream === 'stderr' ? text.replace(/^(?=.)/gm, '[stderr] ') : text;
      if (this.buffer.length > MAX_OUTPUT_CHARS) this.buffer = this.buffer.slice(-MAX_OUTPUT_CHARS);
    };
    child.stdout?.on('data', keep('stdout'));
    child.stderr?.on('data', keep('stderr'));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
    child.once('error', (error) => {
      this.buffer += `[spawn error] ${error.message}\n`;
    });
  }

  /** Runs `node [nodeArgs] <script>` (a path relative to the workspace root) with exactly `env`. */
  static start(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): AppProcess {
    const entry = path.join(WORKSPACE_ROOT, script);
    if (!existsSync(entry)) {
      throw new Error(`${entry} does not exist: run \`npx nx run-many -t build -p gateway events-worker\` first`);
    }
    const child = spawn(process.execPath, [...nodeArgs, entry], { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new AppProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How the process ended, or undefined while it runs. */
  get status(): ExitStatus | undefined {
    return this.exitStatus;
  }

  /** Everything the process printed so far (the newest part when it printed a lot). */
  output(): string {
    return this.buffer;
  }

  /** A block for a failure report: the process, how it ended, what it printed. */
  report(): string {
    const state = this.exitStatus ? `exited code=${this.exitStatus.code} signal=${this.exitStatus.signal}` : 'running';
    return `----- ${this.name} (pid ${this.pid}, ${state}) -----\n${this.buffer || '(no output)'}\n`;
  }

  /** Resolves once the output matches `pattern`; fails when the process exits first or time runs out. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.buffer)) {
      if (this.exitStatus) throw new Error(`${this.name} exited before printing ${pattern}\n${this.report()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms\n${this.report()}`);
      await sleep(50);
    }
  }

  /** Sends `signal` (SIGKILL: the process dies at once, as in a crash) without waiting. */
  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then wait for the exit; SIGKILL if the process has not gone after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<ExitStatus> {
    if (this.exitStatus) return this.exitStatus;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.buffer += `[test] no exit ${timeoutMs} ms after SIGTERM: sending SIGKILL\n`;
      this.child.kill('SIGKILL');
    }, timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Polls GET `url` until it answers 200; fails early if `app` dies meanwhile. */
export async function waitForHealthy(url: string, app: AppProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (app.status) throw new Error(`${app.name} exited while waiting for ${url} (last: ${last})\n${app.report()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.status === 200) return;
      last = `${response.status} ${body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} not healthy within ${timeoutMs} ms (last: ${last})\n${app.report()}`);
    await sleep(100);
  }
}

/**
 * Wraps a test body so that, when it fails, the failure carries what the product processes
 * printed: the first thing anyone debugging an end-to-end failure needs.
 */
export function withProcessOutput(processes: () => AppProcess[], body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      const reports = processes()
        .map((p) => p.report())
        .join('\n');
      if (error instanceof Error) error.message = `${error.message}\n\nOutput of the product processes:\n${reports}`;
      throw error;
    }
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A process's resident memory now (VmRSS) and at its peak so far (VmHWM), in bytes; 0 where /proc is not there. */
export function processMemory(pid: number | undefined): { rssBytes: number; peakRssBytes: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return { rssBytes: 0, peakRssBytes: 0 };
  }
}

/** Peak resident memory of a process so far (VmHWM), in bytes; 0 where /proc is not there. */
export function peakRss(pid: number | undefined): number {
  return processMemory(pid).peakRssBytes;
}

/** True while process `pid` runs: it exists and is not a zombie waiting for its parent (Linux's /proc). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once 127.0.0.1:`port` accepts connections; throws after `timeoutMs`, naming `what` was to listen there. */
export async function waitForPort(port: number, timeoutMs: number, what = 'redis-server'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
    await sleep(25);
  }
}
