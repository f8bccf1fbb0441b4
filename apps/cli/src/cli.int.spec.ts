import { createConsumer, QueueProducers } from '@evt/queue';
import { createTestEnv, waitFor, type TestEnv } from '@evt/testing';
import { runCaptured } from './run-captured';

describe('admin CLI (real Postgres)', () => {
  let env: TestEnv;
  let vars: Record<string, string>;

  beforeAll(async () => {
    env = await createTestEnv('cli');
    vars = { DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl, QUEUE_PREFIX: env.queuePrefix };
  });
  afterAll(() => env.close());

  const cli = (...argv: string[]) => runCaptured(argv, vars);

  it('creates a workspace and a source; `sources create --json` prints only {id, writeKey, workspaceId, kind}', async () => {
    expect(await cli('workspaces', 'create', '--name', 'shop')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^created workspace shop \(id \w{27}\)\n$/),
    });
    const created = await cli('sources', 'create', '--workspace', 'shop', '--name', 'web', '--json');
    expect(created.code).toBe(0);
    const source = JSON.parse(created.stdout);
    expect(Object.keys(source).sort()).toEqual(['id', 'kind', 'workspaceId', 'writeKey']);
    expect(source.kind).toBe('event_stream');
    expect(source.writeKey).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(
      await env.db.query('SELECT s.name, s.write_key, w.name AS workspace FROM sources s JOIN workspaces w ON w.id = s.workspace_id WHERE s.id = $1', [
        source.id,
      ]),
    ).toEqual([{ name: 'web', write_key: source.writeKey, workspace: 'shop' }]);
  });

  it('lists workspaces and sources as tables or JSON', async () => {
    const workspaces = JSON.parse((await cli('workspaces', 'list', '--json')).stdout);
    expect(workspaces.map((w: { name: string }) => w.name)).toContain('shop');
    const table = await cli('sources', 'list', '--workspace', 'shop');
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+name\s+kind\s+enabled\s+workspace\s+writeKey\s+rateLimit$/);
    expect(table.stdout).toMatch(/ web +event_stream +true +shop +\w{4}…\w{4}\n/);
  });

  it('disables, enables and rotates the key of a source', async () => {
    const source = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'app', '--json')).stdout);
    expect(await cli('sources', 'disable', source.id, '--yes')).toMatchObject({ code: 0, stdout: `source ${source.id} disabled\n` });
    expect(await env.db.query('SELECT enabled FROM sources WHERE id = $1', [source.id])).toEqual([{ enabled: false }]);
    expect(await cli('sources', 'enable', source.id)).toMatchObject({ code: 0 });
    expect(await env.db.query('SELECT enabled FROM sources WHERE id = $1', [source.id])).toEqual([{ enabled: true }]);
    const rotated = JSON.parse((await cli('sources', 'rotate-key', source.id, '--yes', '--json')).stdout);
    expect(rotated.id).toBe(source.id);
    expect(rotated.writeKey).not.toBe(source.writeKey);
    expect(await env.db.query('SELECT write_key FROM sources WHERE id = $1', [source.id])).toEqual([{ write_key: rotated.writeKey }]);
  });

  it('creates webhook and replay sources; a replay source needs an existing original source', async () => {
    const webhook = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'hooks', '--kind', 'webhook', '--json')).stdout);
    expect(webhook.kind).toBe('webhook');
    expect(await cli('sources', 'create', '--workspace', 'shop', '--name', 'replay', '--kind', 'replay')).toMatchObject({
      code: 2,
      stderr: 'error: a replay source needs --original-source SOURCE_ID\n',
    });
    const replay = JSON.parse(
      (await cli('sources', 'create', '--workspace', 'shop', '--name', 'replay', '--kind', 'replay', '--original-source', webhook.id, '--json')).stdout,
    );
    expect(await env.db.query('SELECT kind, original_source_id FROM sources WHERE id = $1', [replay.id])).toEqual([
      { kind: 'replay', original_source_id: webhook.id },
    ]);
    // Events never cross workspaces: a replay of another workspace's source is refused.
    expect(await cli('workspaces', 'create', '--name', 'other-shop')).toMatchObject({ code: 0 });
    expect(
      await cli('sources', 'create', '--workspace', 'other-shop', '--name', 'crossing', '--kind', 'replay', '--original-source', webhook.id),
    ).toMatchObject({
      code: 2,
      stderr: `error: source "${webhook.id}" is in workspace ${webhook.workspaceId}: a replay source replays a source of its own workspace\n`,
    });
    expect(await env.db.query("SELECT count(*)::int AS n FROM sources WHERE name = 'crossing'")).toEqual([{ n: 0 }]);
  });

  it('sets and removes a rate limit', async () => {
    const source = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'limited', '--json')).stdout);
    expect(await cli('sources', 'rate-limit', source.id, '--events', '100', '--window', '10')).toMatchObject({ code: 0 });
    expect(await env.db.query('SELECT rate_limit_events, rate_limit_window_seconds FROM sources WHERE id = $1', [source.id])).toEqual([
      { rate_limit_events: 100, rate_limit_window_seconds: 10 },
    ]);
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

  it('adds, lists and disables destinations of a rETL source', async () => {
    const source = JSON.parse((await cli('sources', 'create', '--workspace', 'shop', '--name', 'warehouse', '--kind', 'retl', '--json')).stdout);
    const destination = JSON.parse((await cli('destinations', 'add', '--source', source.id, '--name', 'crm', '--json')).stdout);
    expect(destination).toEqual({ id: expect.stringMatching(/^\w{27}$/), sourceId: source.id, name: 'crm' });
    expect(await cli('destinations', 'disable', destination.id)).toMatchObject({ code: 0, stdout: `destination ${destination.id} disabled\n` });
    expect(JSON.parse((await cli('destinations', 'list', '--source', source.id, '--json')).stdout)).toEqual([
      expect.objectContaining({ id: destination.id, enabled: false }),
    ]);
  });

  it('lists audiences and rETL records', async () => {
    await env.db.query(
      `INSERT INTO audience_members (source_id, audience_id, member_key, workspace_id, member, present, message_id, sequence, sequence_index) VALUES
       ('s1', 'list-a', 'k1', 'w', '{"EMAIL":"a@x.io"}', true, 'm', 1, 0), ('s1', 'list-a', 'k2', 'w', '{"EMAIL":"b@x.io"}', false, 'm', 1, 1)`,
    );
    await env.db.query(
      `INSERT INTO retl_records (source_id, destination_id, record_id, workspace_id, fields, deleted, last_action, message_id, received_at, sequence, sequence_index)
       VALUES ('s1', 'd1', 'r1', 'w', '{"name":"Ada"}', false, 'insert', 'm', now(), 1, 0)`,
    );
    expect(JSON.parse((await cli('audiences', 'list', '--json')).stdout)).toEqual([
      { sourceId: 's1', audienceId: 'list-a', members: 1, removed: 1, updatedAt: expect.any(String) },
    ]);
    expect(JSON.parse((await cli('retl', 'list', '--json')).stdout)).toEqual([
      expect.objectContaining({ sourceId: 's1', destinationId: 'd1', recordId: 'r1', fields: { name: 'Ada' }, deleted: false }),
    ]);
  });

  it('retries rejected events that pass validation now, and keeps the others with the reason', async () => {
    const [source] = await env.db.query<{ id: string; workspace_id: string }>("SELECT id, workspace_id FROM sources WHERE name = 'web'");
    await env.db.query(
      `INSERT INTO rejected_events (id, workspace_id, source_id, reason, message_id, event, received_at) VALUES
       ('retry-ok', $1, $2, 'event is larger than 10 bytes', 'retry-1', '{"type":"track","userId":"u","event":"E","messageId":"retry-1"}', '2026-02-01T00:00:00Z'),
       ('retry-bad', $1, $2, 'userId or anonymousId is required', 'retry-2', '{"type":"track","event":"E","messageId":"retry-2"}', '2026-02-01T00:00:00Z'),
       ('retry-nul', $1, $2, 'properties.name contains NUL (U+0000), which Postgres cannot store', 'retry-3',
        '{"type":"track","userId":"u","event":"E","messageId":"retry-3","properties":{"name":"a\ufffdb"}}', '2026-02-01T00:00:00Z')`,
      [source.workspace_id, source.id],
    );
    const retried = await cli('rejected', 'retry', 'retry-ok', 'retry-bad', 'retry-nul', '--json');
    expect(retried).toMatchObject({ code: 0, stderr: '' });
    // Its kept copy has U+FFFD where the client sent NUL: retrying would store an event nobody sent.
    const altered = 'the event as sent cannot be stored exactly (the kept copy is altered)';
    expect(JSON.parse(retried.stdout)).toEqual({
      examined: 3,
      retried: 1,
      stillRejected: 1,
      skipped: 1,
      reasons: { 'userId or anonymousId is required': 1, [altered]: 1 },
      lastId: 'retry-ok',
      rows: [
        { id: 'retry-bad', result: 'still rejected', reason: 'userId or anonymousId is required' },
        { id: 'retry-nul', result: 'skipped', reason: altered },
        { id: 'retry-ok', result: 'retried' },
      ],
    });
    expect(await env.db.query("SELECT id FROM rejected_events WHERE id LIKE 'retry-%' ORDER BY id")).toEqual([{ id: 'retry-bad' }, { id: 'retry-nul' }]);
    const depths = JSON.parse((await cli('queues', 'depth', '--json')).stdout);
    expect(depths[0]).toEqual({ queue: 'events', waiting: 1, active: 0, delayed: 0, failed: 0 });
  });

  it('shows queue depths', async () => {
    const depths = JSON.parse((await cli('queues', 'depth', '--json')).stdout);
    expect(depths.map((d: { queue: string }) => d.queue)).toEqual(['events', 'replay', 'retl', 'audiencelist', 'extract', 'internal-batch']);
  });

  it('lists failed jobs with their reasons, retries one (its count of failures reset) and discards them only with --yes', async () => {
    // A replay worker whose every attempt fails for a reason that is not transient, with a bound of 1.
    const consumer = createConsumer({
      queueName: 'replay',
      redisUrl: env.redisUrl,
      prefix: env.queuePrefix,
      concurrency: 1,
      maxDeterministicFailures: 1,
      process: async () => {
        throw new Error('relation "events" does not exist');
      },
    });
    const producers = new QueueProducers({
      redisUrl: env.redisUrl,
      prefix: env.queuePrefix,
      timeoutMs: 5000,
      maxItemsPerJob: 10,
      maxBytesPerJob: 1 << 20,
      maxPendingBytes: 1 << 24,
    });
    const failed = async () => JSON.parse((await cli('queues', 'failed', '--queue', 'replay', '--json')).stdout) as Array<Record<string, unknown>>;
    try {
      await consumer.ready();
      await producers.waitUntilReady();
      for (const messageId of ['f-1', 'f-2']) {
        await producers.replay.enqueue({
          items: [{ sourceId: 's', workspaceId: 'w', event: { type: 'track', messageId, receivedAt: '2026-01-01T00:00:00.000Z', rudderId: 'r' } }],
          rejected: [],
          bytes: 100,
        });
      }
      const jobs = await waitFor(async () => ((await failed()).length === 2 ? failed() : undefined), 10_000, 'two failed jobs');
      const ids = jobs.map((job) => job.id as string).sort();
      const described = jobs.map(
        ({ failedAt, ...job }) => ({ ...job, failedAt: new Date(failedAt as string).toISOString() === failedAt }) as Record<string, unknown>,
      );
      expect(described.sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual(
        ids.map((id) => ({ queue: 'replay', id, attempts: 1, deterministicFailures: 1, failedAt: true, reason: 'relation "events" does not exist' })),
      );
      const listed = await cli('queues', 'failed');
      expect(listed.code).toBe(0);
      expect(listed.stdout.split('\n')[0]).toMatch(/^queue\s+id\s+attempts\s+failedAt\s+reason$/);
      expect(JSON.parse((await cli('queues', 'depth', '--json')).stdout)[1]).toEqual({ queue: 'replay', waiting: 0, active: 0, delayed: 0, failed: 2 });

      expect(await cli('queues', 'discard-failed', ids[0])).toEqual({
        code: 3,
        stdout: '',
        stderr: 'error: queues discard-failed (deletes jobs and their events for good) needs confirming: add --yes (stdin is not a terminal to ask on)\n',
      });
      expect((await cli('queues', 'failed', '--queue', 'nope')).code).toBe(2);

      expect(await cli('queues', 'retry-failed', '--queue', 'replay', ids[0])).toEqual({
        code: 0,
        stdout: `moved 1 failed job(s) back to waiting: replay:${ids[0]}\n`,
        stderr: '',
      });
      // Taken again and failed again: one failure counted since the retry, two attempts in all.
      await waitFor(
        async () => ((await failed()).find((job) => job.id === ids[0] && job.attempts === 2) ? true : undefined),
        10_000,
        'the retried job to fail again',
      );
      expect((await failed()).find((job) => job.id === ids[0])).toMatchObject({ attempts: 2, deterministicFailures: 1 });

      expect(await cli('queues', 'discard-failed', '--yes', '--queue', 'replay')).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/^deleted 2 failed job\(s\): replay:\d+, replay:\d+\n$/),
      });
      expect(JSON.parse((await cli('queues', 'depth', '--json')).stdout)[1]).toEqual({ queue: 'replay', waiting: 0, active: 0, delayed: 0, failed: 0 });
    } finally {
      await producers.close();
      await consumer.close();
    }
  }, 30_000);

  it('applies migrations once', async () => {
    expect(await cli('db', 'migrate')).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  });

  it('explains wrong usage with exit code 2 and a message on stderr only', async () => {
    expect(await cli('sources', 'create', '--name', 'x')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: required option '--workspace <workspace>' not specified\n",
    });
    expect(await cli('sources', 'create', '--workspace', 'nope', '--name', 'x')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: no workspace with id or name "nope"\n',
    });
    expect(await cli('sources', 'create', '--workspace', 'shop', '--name', 'x', '--kind', 'ftp')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: option '--kind <kind>' argument 'ftp' is invalid. Allowed choices are event_stream, webhook, replay, retl, extract.\n",
    });
    expect((await cli('bogus')).code).toBe(2);
    expect((await cli('sources', 'list', '--unknown')).code).toBe(2);
    expect((await cli('--help')).stdout).toMatch(/^Usage: evt \[options\] \[command\]\n/);
  });

  it('stores names exactly as typed: SQL goes through parameters only', async () => {
    const name = `x'); DROP TABLE events; --"\\`;
    expect((await cli('workspaces', 'create', '--name', name)).code).toBe(0);
    const created = JSON.parse((await cli('sources', 'create', '--workspace', name, '--name', `${name}$1`, '--json')).stdout);
    expect(
      await env.db.query('SELECT w.name AS workspace, s.name AS source FROM sources s JOIN workspaces w ON w.id = s.workspace_id WHERE s.id = $1', [
        created.id,
      ]),
    ).toEqual([{ workspace: name, source: `${name}$1` }]);
    expect(await env.db.query("SELECT to_regclass('events')::text AS t")).toEqual([{ t: 'events' }]);
  });

  it('names the variable when the configuration is wrong (exit 2: fix the setting)', async () => {
    expect(await runCaptured(['workspaces', 'list'], { DATABASE_URL: 'mysql://x' })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: DATABASE_URL: must start with postgres:// or postgresql://\n',
    });
  });
});
