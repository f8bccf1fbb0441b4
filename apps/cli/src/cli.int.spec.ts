import { createTestEnv, type TestEnv } from '@evt/testing';
import { run } from './cli';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

describe('admin CLI (real Postgres)', () => {
  let env: TestEnv;
  let vars: Record<string, string>;

  beforeAll(async () => {
    env = await createTestEnv('cli');
    vars = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, QUEUE_PREFIX: env.queuePrefix };
  });
  afterAll(() => env.close());

  async function cli(...argv: string[]): Promise<Captured> {
    let stdout = '';
    let stderr = '';
    const code = await run(argv, vars, { out: (text) => (stdout += `${text}\n`), err: (text) => (stderr += `${text}\n`) });
    return { code, stdout, stderr };
  }

  it('creates a workspace and a source; `sources create --json` prints only {id, writeKey, workspaceId, kind}', async () => {
    expect(await cli('workspaces', 'create', '--name', 'shop')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^created workspace shop \(id \w{27}\)\n$/) });
    const created = await cli('sources', 'create', '--workspace', 'shop', '--name', 'web', '--json');
    expect(created.code).toBe(0);
    const source = JSON.parse(created.stdout);
    expect(Object.keys(source).sort()).toEqual(['id', 'kind', 'workspaceId', 'writeKey']);
    expect(source.kind).toBe('event_stream');
    expect(source.writeKey).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(await env.db.query('SELECT s.name, s.write_key, w.name AS workspace FROM sources s JOIN workspaces w ON w.id = s.workspace_id WHERE s.id = $1', [source.id])).toEqual([
      { name: 'web', write_key: source.writeKey, workspace: 'shop' },
    ]);
  });

  it('lists workspaces and sources as tables or JSON', async () => {
    const workspaces = JSON.parse((await cli('workspaces', 'list', '--json')).stdout);
    expect(workspaces.map((w: { name: string }) => w.name)).toContain('shop');
    const table = await cli('sources', 'list', '--workspace', 'shop');
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+name\s+kind\s+enabled\s+workspaceId\s+writeKey/);
    expect(table.stdout).toContain(' web ');
  });

  it('disables, enables and rotates the key of a source', async () => {
    const source = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'app', '--json')).stdout);
    expect(await cli('sources', 'disable', source.id)).toMatchObject({ code: 0, stdout: `source ${source.id} disabled\n` });
    expect(await env.db.query('SELECT enabled FROM sources WHERE id = $1', [source.id])).toEqual([{ enabled: false }]);
    expect(await cli('sources', 'enable', source.id)).toMatchObject({ code: 0 });
    expect(await env.db.query('SELECT enabled FROM sources WHERE id = $1', [source.id])).toEqual([{ enabled: true }]);
    const rotated = JSON.parse((await cli('sources', 'rotate-key', source.id, '--json')).stdout);
    expect(rotated.id).toBe(source.id);
    expect(rotated.writeKey).not.toBe(source.writeKey);
    expect(await env.db.query('SELECT write_key FROM sources WHERE id = $1', [source.id])).toEqual([{ write_key: rotated.writeKey }]);
  });

  it('creates webhook and replay sources; a replay source needs an existing original source', async () => {
    const webhook = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'hooks', '--kind', 'webhook', '--json')).stdout);
    expect(webhook.kind).toBe('webhook');
    expect(await cli('sources', 'create', '--workspace', 'shop', '--name', 'replay', '--kind', 'replay')).toMatchObject({ code: 2, stderr: 'error: a replay source needs --original-source SOURCE_ID\n' });
    const replay = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'replay', '--kind', 'replay', '--original-source', webhook.id, '--json')).stdout);
    expect(await env.db.query('SELECT kind, original_source_id FROM sources WHERE id = $1', [replay.id])).toEqual([{ kind: 'replay', original_source_id: webhook.id }]);
  });

  it('sets and removes a rate limit', async () => {
    const source = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'limited', '--json')).stdout);
    expect(await cli('sources', 'rate-limit', source.id, '--events', '100', '--window', '10')).toMatchObject({ code: 0 });
    expect(await env.db.query('SELECT rate_limit_events, rate_limit_window_seconds FROM sources WHERE id = $1', [source.id])).toEqual([{ rate_limit_events: 100, rate_limit_window_seconds: 10 }]);
    expect(await cli('sources', 'rate-limit', source.id, '--off')).toMatchObject({ code: 0 });
    expect(await env.db.query('SELECT rate_limit_events FROM sources WHERE id = $1', [source.id])).toEqual([{ rate_limit_events: null }]);
  });

  it('lists rejected events, newest first', async () => {
    const [source] = await env.db.query<{ id: string; workspace_id: string }>("SELECT id, workspace_id FROM sources WHERE name = 'web'");
    await env.db.query(
      `INSERT INTO rejected_events (id, workspace_id, source_id, reason, message_id, event, received_at) VALUES
       ('r1', $1, $2, 'userId or anonymousId is required', 'm-1', '{"type":"track"}', '2026-01-01T00:00:00Z'),
       ('r2', $1, $2, 'event is required', 'm-2', '{"type":"track"}', '2026-01-02T00:00:00Z')`,
      [source.workspace_id, source.id],
    );
    const listed = JSON.parse((await cli('rejected', 'list', '--source', source.id, '--json')).stdout);
    expect(listed.map((row: { id: string; reason: string }) => [row.id, row.reason])).toEqual([
      ['r2', 'event is required'],
      ['r1', 'userId or anonymousId is required'],
    ]);
    expect((await cli('rejected', 'list')).stdout).toContain('event is required');
  });

  it('shows queue depths', async () => {
    const depths = JSON.parse((await cli('queues', 'depth', '--json')).stdout);
    expect(depths.map((d: { queue: string }) => d.queue)).toEqual(['events', 'replay', 'retl', 'audiencelist', 'extract', 'internal-batch']);
    expect(depths[0]).toEqual({ queue: 'events', waiting: 0, active: 0, delayed: 0, failed: 0 });
  });

  it('applies migrations once', async () => {
    expect(await cli('db', 'migrate')).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  });

  it('explains wrong usage with exit code 2 and a message on stderr only', async () => {
    expect(await cli('sources', 'create', '--name', 'x')).toEqual({ code: 2, stdout: '', stderr: 'error: sources create needs --workspace W --name N\n' });
    expect(await cli('sources', 'create', '--workspace', 'nope', '--name', 'x')).toEqual({ code: 2, stdout: '', stderr: 'error: no workspace with id or name "nope"\n' });
    expect(await cli('sources', 'create', '--workspace', 'shop', '--name', 'x', '--kind', 'ftp')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --kind must be one of event_stream, webhook, replay, retl, extract\n',
    });
    expect((await cli('bogus')).code).toBe(2);
    expect((await cli('sources', 'list', '--unknown')).code).toBe(2);
    expect((await cli('--help')).stdout).toContain('usage: npm run cli');
  });

  it('names the variable when the configuration is wrong', async () => {
    let stderr = '';
    const code = await run(['workspaces', 'list'], { DATABASE_URL: 'mysql://x' }, { out: () => undefined, err: (text) => (stderr += text) });
    expect([code, stderr]).toEqual([1, 'configuration error: DATABASE_URL: must start with postgres:// or postgresql://']);
  });
});
