import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { createTestEnv, WORKSPACE_ROOT, type TestEnv } from '@evt/testing';
import { runCaptured, type Captured } from './run-captured';

/** The built `evt` as a child process (stdin is not a terminal), with what it printed and how long it took. */
function spawnCli(command: string, args: string[], env: Record<string, string>): Promise<Captured & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
  });
}

const MAIN = path.join(WORKSPACE_ROOT, 'dist/apps/cli/main.js');

// What an operator meets: JSON everywhere, masked keys, one-line errors, timeouts, confirmations, the bin.
describe('evt for operators (real Postgres and Redis)', () => {
  let env: TestEnv;
  let vars: Record<string, string>;

  beforeAll(async () => {
    env = await createTestEnv('cli-operator');
    vars = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, QUEUE_PREFIX: env.queuePrefix };
  });
  afterAll(() => env.close());

  function cli(argv: string[], options: { env?: Record<string, string>; confirm?: (question: string) => Promise<boolean> } = {}): Promise<Captured> {
    return runCaptured(argv, { ...vars, ...options.env }, options.confirm);
  }

  /** Runs with --json and returns what stdout parses to; fails unless it is JSON alone, exit 0, stderr empty. */
  async function json(...argv: string[]): Promise<unknown> {
    const result = await cli([...argv, '--json']);
    expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 0, stderr: '' });
    return JSON.parse(result.stdout);
  }

  it('prints JSON, and nothing else on stdout, for every command with --json', async () => {
    expect(await json('db', 'migrate')).toEqual({ applied: [] });
    expect(await json('workspaces', 'create', '--name', 'ops')).toEqual({ id: expect.stringMatching(/^\w{27}$/), name: 'ops' });
    expect(await json('workspaces', 'list')).toEqual([expect.objectContaining({ name: 'ops' })]);
    const web = (await json('sources', 'create', '--workspace', 'ops', '--name', 'web')) as { id: string; writeKey: string };
    const warehouse = (await json('sources', 'create', '--workspace', 'ops', '--name', 'warehouse', '--kind', 'retl')) as { id: string };
    expect(await json('sources', 'list')).toHaveLength(2);
    expect(await json('sources', 'disable', 'web', '--yes')).toEqual({ id: web.id, enabled: false });
    expect(await json('sources', 'enable', 'web')).toEqual({ id: web.id, enabled: true });
    expect(await json('sources', 'rate-limit', 'web', '--events', '100', '--window', '10')).toEqual({
      id: web.id,
      rateLimitEvents: 100,
      rateLimitWindowSeconds: 10,
    });
    expect(await json('sources', 'rate-limit', 'web', '--off')).toEqual({ id: web.id, rateLimitEvents: null, rateLimitWindowSeconds: 60 });
    const rotated = (await json('sources', 'rotate-key', 'web', '--yes')) as { writeKey: string };
    expect(rotated.writeKey).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(rotated.writeKey).not.toBe(web.writeKey);
    const destination = (await json('destinations', 'add', '--source', 'warehouse', '--name', 'crm')) as { id: string };
    expect(await json('destinations', 'list', '--source', warehouse.id)).toEqual([expect.objectContaining({ id: destination.id, enabled: true })]);
    expect(await json('destinations', 'disable', destination.id)).toEqual({ id: destination.id, enabled: false });
    expect(await json('destinations', 'enable', destination.id)).toEqual({ id: destination.id, enabled: true });
    expect(await json('audiences', 'list')).toEqual([]);
    expect(await json('audiences', 'members', '--source', 'warehouse', '--audience', 'a')).toEqual([]);
    expect(await json('retl', 'list', '--limit', '5')).toEqual([]);
    expect(await json('rejected', 'list')).toEqual([]);
    expect(await json('rejected', 'retry', '--dry-run')).toEqual({ examined: 0, retried: 0, stillRejected: 0, skipped: 0, reasons: {}, rows: [] });
    expect(await json('events', 'partitions')).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'events_default' })]));
    expect(await json('events', 'prune', '--older-than', '3650d', '--dry-run')).toEqual({ dryRun: true, before: expect.any(String), dropped: [] });
    expect(await json('events', 'prune', '--older-than', '3650d', '--yes')).toEqual({ dryRun: false, before: expect.any(String), dropped: [] });
    expect(await json('queues', 'depth')).toHaveLength(6);
    expect(await json('queues', 'failed', '--queue', 'replay')).toEqual([]);
    expect(await json('queues', 'retry-failed')).toEqual([]);
    expect(await json('queues', 'discard-failed', '--yes')).toEqual([]);
    // --json before the command works too.
    expect(JSON.parse((await cli(['--json', 'workspaces', 'list'])).stdout)).toHaveLength(1);
  });

  it('masks write keys in lists (first and last 4 characters) unless --show-secrets', async () => {
    const [source] = await env.db.query<{ id: string; write_key: string }>("SELECT id, write_key FROM sources WHERE name = 'web'");
    const masked = `${source.write_key.slice(0, 4)}…${source.write_key.slice(-4)}`;
    const human = await cli(['sources', 'list', '--workspace', 'ops']);
    expect(human.stdout).toContain(`  ${masked}`);
    expect(human.stdout).not.toContain(source.write_key);
    const listed = (await json('sources', 'list')) as Array<{ id: string; writeKey: string }>;
    expect(listed.find((row) => row.id === source.id)?.writeKey).toBe(masked);

    expect((await cli(['sources', 'list', '--show-secrets'])).stdout).toContain(source.write_key);
    const shown = (await json('sources', 'list', '--show-secrets')) as Array<{ id: string; writeKey: string }>;
    expect(shown.find((row) => row.id === source.id)?.writeKey).toBe(source.write_key);
  });

  it('says in one line that a source name is taken, without SQL, parameters or the new write key (exit 2)', async () => {
    const taken = await cli(['sources', 'create', '--workspace', 'ops', '--name', 'web']);
    expect(taken).toEqual({ code: 2, stdout: '', stderr: 'error: a source named "web" already exists in workspace "ops"\n' });
    expect(await env.db.query("SELECT count(*)::int AS n FROM sources WHERE name = 'web'")).toEqual([{ n: 1 }]);
    expect(await cli(['workspaces', 'create', '--name', 'ops'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error: a workspace named "ops" exists already/),
    });
  });

  it('reads only the settings a command needs: a bad MAX_REQUEST_SIZE does not stop workspaces list', async () => {
    const listed = await cli(['workspaces', 'list', '--json'], { env: { MAX_REQUEST_SIZE: '4XB', EVENTS_QUEUE_SHARDS: 'lots' } });
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'ops' })]);
    // The queue commands do read EVENTS_QUEUE_SHARDS, and say so.
    expect(await cli(['queues', 'depth'], { env: { EVENTS_QUEUE_SHARDS: 'lots' } })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: EVENTS_QUEUE_SHARDS: expected a whole number, got "lots"\n',
    });
  });

  it('says in one line that Postgres cannot be reached, without its password (exit 1)', async () => {
    expect(await cli(['workspaces', 'list'], { env: { DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/x' } })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: cannot reach Postgres at postgres://postgres@127.0.0.1:1/x (connect ECONNREFUSED 127.0.0.1:1)\n',
    });
  });

  it('says in one line that Redis cannot be reached, without its password, and exits 1 within 15 s (the built evt)', async () => {
    const down = await spawnCli(process.execPath, [MAIN, 'queues', 'depth'], env.processEnv({ REDIS_URL: 'redis://:hunter2@127.0.0.1:1' }));
    expect(down).toMatchObject({ code: 1, stdout: '', stderr: 'error: cannot reach Redis at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)\n' });
    expect(down.ms).toBeLessThan(15_000);
    // rejected retry checks Redis before it touches a row.
    expect(await cli(['rejected', 'retry', 'r-1'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: cannot reach Redis at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)\n',
    });
  }, 30_000);

  it('gives up on a server that accepts connections and never answers after --timeout (exit 1)', async () => {
    // A peer that takes the TCP connection and says nothing: a hung server, or a firewall that lets SYNs through.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      expect(await cli(['workspaces', 'list', '--timeout', '1'], { env: { DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/x` } })).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: cannot reach Postgres at postgres://postgres@127.0.0.1:${port}/x (no answer within 1 s)\n`,
      });
      // Migrations connect on their own (first to the server's postgres database, to create x if missing).
      expect(await cli(['db', 'migrate', '--timeout', '1'], { env: { DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/x` } })).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: cannot reach Postgres at postgres://postgres@127.0.0.1:${port}/x (no answer within 1 s)\n`,
      });
      expect(await cli(['queues', 'depth', '--timeout', '1'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } })).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: cannot reach Redis at redis://127.0.0.1:${port} (no answer within 1 s)\n`,
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 20_000);

  it('cancels a statement that runs longer than --statement-timeout (exit 1)', async () => {
    // Another session holds the table: the CLI's SELECT waits for it, until its statement_timeout.
    const holder = await env.db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE workspaces IN ACCESS EXCLUSIVE MODE');
      expect(await cli(['workspaces', 'list', '--statement-timeout', '1'])).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: Postgres cancelled a statement after 1 s (--statement-timeout)\n',
      });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });

  describe('confirmations', () => {
    it('refuses a destructive command without --yes when there is no terminal to ask on (exit 3), and changes nothing', async () => {
      const [before] = await env.db.query<{ id: string; write_key: string }>("SELECT id, write_key FROM sources WHERE name = 'web'");
      expect(await cli(['sources', 'disable', 'web'])).toEqual({
        code: 3,
        stdout: '',
        stderr: 'error: sources disable needs confirming: add --yes (stdin is not a terminal to ask on)\n',
      });
      expect((await cli(['sources', 'rotate-key', 'web'])).code).toBe(3);
      expect(await env.db.query("SELECT enabled, write_key FROM sources WHERE name = 'web'")).toEqual([{ enabled: true, write_key: before.write_key }]);
      expect(await cli(['events', 'prune', '--older-than', '1d'])).toEqual({
        code: 3,
        stdout: '',
        stderr:
          'error: events prune (drops partitions of events for good; --dry-run says which) needs confirming: add --yes (stdin is not a terminal to ask on)\n',
      });
      expect((await cli(['rejected', 'retry'])).code).toBe(3);
      expect((await cli(['queues', 'discard-failed'])).code).toBe(3);
    });

    it('asks on the terminal: n changes nothing (exit 3), y goes on', async () => {
      const questions: string[] = [];
      const answer = (yes: boolean) => async (question: string) => {
        questions.push(question);
        return yes;
      };
      const [source] = await env.db.query<{ id: string }>("SELECT id FROM sources WHERE name = 'web'");
      expect(await cli(['sources', 'disable', 'web'], { confirm: answer(false) })).toEqual({
        code: 3,
        stdout: '',
        stderr: 'error: not confirmed: nothing was changed\n',
      });
      expect(questions).toEqual([`Disable source web (id ${source.id})? The gateway will refuse its events. [y/N] `]);
      expect(await env.db.query("SELECT enabled FROM sources WHERE name = 'web'")).toEqual([{ enabled: true }]);

      expect(await cli(['sources', 'disable', 'web'], { confirm: answer(true) })).toEqual({ code: 0, stdout: `source ${source.id} disabled\n`, stderr: '' });
      expect(await env.db.query("SELECT enabled FROM sources WHERE name = 'web'")).toEqual([{ enabled: false }]);
      // --yes asks nothing.
      questions.length = 0;
      expect((await cli(['sources', 'rotate-key', 'web', '--yes'], { confirm: answer(false) })).code).toBe(0);
      expect(questions).toEqual([]);
      // Nothing to drop, nothing to ask.
      expect((await cli(['events', 'prune', '--older-than', '3650d'], { confirm: answer(false) })).code).toBe(0);
      expect(questions).toEqual([]);
    });
  });

  describe('the evt bin', () => {
    it('runs the built file directly (shebang, executable) and through npx evt', async () => {
      expect(await spawnCli(MAIN, ['--version'], env.processEnv())).toMatchObject({ code: 0, stdout: '0.2.0\n', stderr: '' });
      expect(await spawnCli('npx', ['--offline', 'evt', '--version'], env.processEnv())).toMatchObject({ code: 0, stdout: '0.2.0\n' });
      const help = await spawnCli(MAIN, ['workspaces', 'list', '--help'], env.processEnv());
      expect([help.code, help.stdout.split('\n')[0]]).toEqual([0, 'Usage: evt workspaces list [options]']);
    }, 30_000);
  });
});
