import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Source } from '@evt/db';
import { AppProcess, basicAuth, createSource, createTestEnv, freePort, sleep, waitFor, waitForHealthy, WORKSPACE_ROOT, type TestEnv } from '@evt/testing';

/** The built CLI as a child process, with what it printed (AppProcess passes no arguments). */
class CliProcess {
  stdout = '';
  stderr = '';
  status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [path.join(WORKSPACE_ROOT, 'dist/apps/cli/main.js'), ...args], {
      cwd: WORKSPACE_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.child.once('exit', (code, signal) => (this.status = { code, signal }));
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    await waitFor(
      async () => (pattern.test(this.stdout + this.stderr) ? true : this.status ? Promise.reject(new Error(`the CLI exited: ${this.stderr}`)) : undefined),
      timeoutMs,
      `${pattern}`,
    );
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.status) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.kill('SIGTERM');
    await waitFor(async () => this.status, 5_000, 'the CLI to exit').catch(() => this.child.kill('SIGKILL'));
  }
}

interface Tailed {
  sourceId: string;
  type: string;
  messageId: string;
  event: string | null;
  userId: string | null;
  payload?: { properties?: Record<string, unknown> };
}

/** The NDJSON lines a tail printed so far. */
const printed = (tail: CliProcess): Tailed[] =>
  tail.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Tailed);

// `evt events tail`: a gateway and an events worker from dist, a tail as a child process, events sent through the gateway.
describe('events tail (real Redis and Postgres, built apps)', () => {
  let env: TestEnv;
  let gateway: AppProcess;
  let worker: AppProcess;
  let internalWorker: AppProcess;
  let url: string;
  let source: Source;
  const tails: CliProcess[] = [];

  /** `evt events tail <args>` as a child process, resolved once it is subscribed (it says so on stderr). */
  const tail = async (...args: string[]): Promise<CliProcess> => {
    const child = new CliProcess(args, env.processEnv());
    tails.push(child);
    await child.waitForOutput(/tailing events/, 10_000);
    return child;
  };

  const sendBatch = async (batch: Array<Record<string, unknown>>) => {
    const response = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(source.writeKey) },
      body: JSON.stringify({ batch }),
    });
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    env = await createTestEnv('cli-events-tail');
    source = await createSource(env);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    gateway = AppProcess.start('gateway', 'dist/apps/gateway/main.js', env.processEnv({ PORT: String(port), HOST: '127.0.0.1', MIGRATE_ON_START: 'false' }));
    worker = AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', env.processEnv({ MIGRATE_ON_START: 'false' }));
    internalWorker = AppProcess.start('internal-worker', 'dist/apps/internal-worker/main.js', env.processEnv({ MIGRATE_ON_START: 'false' }));
    await waitForHealthy(`${url}/health`, gateway, 20_000);
  }, 40_000);
  afterAll(async () => {
    await Promise.all(tails.map((child) => child.stop()));
    await gateway?.stop();
    await worker?.stop();
    await internalWorker?.stop();
    await env.close();
  });

  it('prints the events of a source as they are stored, once each (a resend is not printed again), and --type filters', async () => {
    const all = await tail('events', 'tail', '--json', '--source', source.id);
    const identifies = await tail('events', 'tail', '--json', '--source', source.name, '--type', 'identify');
    const other = await createSource(env);
    const others = await tail('events', 'tail', '--json', '--source', other.id);

    const batch = [
      { type: 'track', messageId: 'tail-1', userId: 'u-1', event: 'Clicked', properties: { n: 1 } },
      { type: 'identify', messageId: 'tail-2', userId: 'u-1', traits: { plan: 'pro' } },
      { type: 'page', messageId: 'tail-3', anonymousId: 'a-1', name: 'Home' },
    ];
    await sendBatch(batch);
    await waitFor(async () => (printed(all).length >= 3 ? true : undefined), 15_000, 'three events on the tail');
    expect(printed(all).map(({ sourceId, type, messageId }) => ({ sourceId, type, messageId }))).toEqual(
      batch.map(({ type, messageId }) => ({ sourceId: source.id, type, messageId })),
    );
    expect(printed(all)[0]).toMatchObject({ event: 'Clicked', userId: 'u-1', payload: { properties: { n: 1 } } });

    // The client sends the same batch again (say, it missed the answer): stored once, printed once.
    await sendBatch(batch);
    await sleep(1000);
    await sendBatch([{ type: 'track', messageId: 'tail-4', userId: 'u-2', event: 'Bought' }]);
    await waitFor(async () => (printed(all).length >= 4 ? true : undefined), 15_000, 'the fourth event on the tail');
    await sleep(300);
    expect(printed(all).map((event) => event.messageId)).toEqual(['tail-1', 'tail-2', 'tail-3', 'tail-4']);
    expect(await env.db.query('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [source.id])).toEqual([{ n: 4 }]);

    expect(printed(identifies).map(({ type, messageId }) => ({ type, messageId }))).toEqual([{ type: 'identify', messageId: 'tail-2' }]);
    expect(printed(others)).toEqual([]);
  }, 60_000);

  it('prints a compact line per event without --json, and exits 0 on Ctrl-C (SIGINT)', async () => {
    const compact = await tail('events', 'tail', '--type', 'track');
    await sendBatch([{ type: 'track', messageId: 'tail-5', userId: 'u-5', event: 'Signed Up' }]);
    await compact.waitForOutput(/tail-5/, 15_000);
    const line = compact.stdout.split('\n').find((text) => text.includes('tail-5'));
    expect(line).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  ${source.id}  track  "Signed Up"  user:u-5  tail-5$`));
    compact.kill('SIGINT');
    expect(await waitFor(async () => compact.status, 5_000, 'the tail to exit')).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('prints the events the internal worker stores (POST /internal/v1/batch) too', async () => {
    const all = await tail('events', 'tail', '--json', '--source', source.id);
    const item = {
      properties: { sourceID: source.id, workspaceID: source.workspaceId },
      payload: {
        type: 'track',
        event: 'Upstream',
        userId: 'u-i',
        messageId: 'tail-internal-1',
        receivedAt: new Date().toISOString(),
        request_ip: '203.0.113.1',
        rudderId: 'f5f0a6a2-1c38-4b83-9d0c-2b2c4a1f9e11',
      },
    };
    const response = await fetch(`${url}/internal/v1/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(source.id) },
      body: JSON.stringify([item]),
    });
    expect(response.status).toBe(200);
    await waitFor(async () => (printed(all).length >= 1 ? true : undefined), 15_000, 'the internal batch event on the tail');
    expect(printed(all).map(({ sourceId, type, messageId, event }) => ({ sourceId, type, messageId, event }))).toEqual([
      { sourceId: source.id, type: 'track', messageId: 'tail-internal-1', event: 'Upstream' },
    ]);
  }, 30_000);

  it('says in one line that Redis cannot be reached, and exits 1 without hanging', async () => {
    const started = Date.now();
    const child = new CliProcess(['events', 'tail'], env.processEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    tails.push(child);
    const status = await waitFor(async () => child.status, 10_000, 'the tail to give up');
    expect(status).toEqual({ code: 1, signal: null });
    expect(child.stdout).toBe('');
    expect(child.stderr).toBe('error: cannot reach Redis at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);
});
