import { spawn } from 'node:child_process';
import { freePort, startIsolatedStack, type AppProcess, type IsolatedStack } from '@evt/testing';

// The baseline: a plain node:http server that reads the body and answers OK, nothing else.
const BASELINE_SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }); res.end('OK'); });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('baseline listening'));
`;

export type BenchStack = IsolatedStack;

/** Durable Redis of its own (AOF everysec, noeviction), a fresh database and one source. */
export function startBackends(baseDatabaseUrl: string): Promise<BenchStack> {
  return startIsolatedStack({ baseDatabaseUrl, prefix: 'evt-bench' });
}

/** BENCH_PROFILE_DIR=dir writes a CPU profile of each gateway and worker run there (when it stops). */
function profileArgs(name: string): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
}

/** The gateway on a free port, healthy. */
export function startGateway(stack: BenchStack, extraEnv: Record<string, string> = {}): Promise<{ app: AppProcess; url: string }> {
  return stack.startGateway({ env: extraEnv, nodeArgs: profileArgs('gateway') });
}

export function startWorker(stack: BenchStack, extraEnv: Record<string, string> = {}): AppProcess {
  return stack.startWorker({ env: extraEnv, nodeArgs: profileArgs('worker') });
}

/** The plain node:http baseline, in its own process like the gateway. */
export async function startBaseline(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', BASELINE_SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
