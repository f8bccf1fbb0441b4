import { createDbClient, migrate, SourcesRepository, WorkspacesRepository } from '@evt/db';
import { basicAuth, createSource, startOwnPostgres, startOwnRedis, waitFor, type OwnPostgres, type OwnRedis } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

// A fault of ours is a 503 that SDKs retry, never a 200 and never a 4xx they drop.
describe('gateway when Redis is away', () => {
  it('answers 503 Service unavailable with Retry-After within a second when Redis cannot be reached', async () => {
    // Port 1: nothing listens there, and unlike a port freePort() gave back, no other test's
    // process can come to listen on it while this runs.
    const stack = await startStack('redis-never', { REDIS_URL: 'redis://127.0.0.1:1' }, { unhealthy: true });
    try {
      const source = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      const started = Date.now();
      const answer = await send(stack.url, {
        path: '/v1/track',
        method: 'POST',
        headers: { Authorization: basicAuth(source.writeKey) },
        body: JSON.stringify({ userId: 'u', event: 'E' }),
      });
      const elapsed = Date.now() - started;
      expect([answer.status, answer.body, answer.headers.get('retry-after')]).toEqual([503, 'Service unavailable', '1']);
      expect(elapsed).toBeLessThan(1000);
      const unready = { status: 'unavailable', redis: 'down', postgres: 'up', sourcesLoaded: true, stopping: false };
      for (const path of ['/health/ready', '/health']) {
        const health = await send(stack.url, { path, method: 'GET' });
        expect([path, health.status, JSON.parse(health.body)]).toEqual([path, 503, unready]);
      }
      expect(await send(stack.url, { path: '/health/live', method: 'GET' })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    } finally {
      await stack.stop();
    }
  });

  describe('Redis stopped and started again', () => {
    let redis: OwnRedis;
    let stack: Stack;
    beforeAll(async () => {
      redis = await startOwnRedis();
      stack = await startStack('redis-restart', { REDIS_URL: redis.url });
    });
    afterAll(async () => {
      await stack.stop();
      await redis.dispose();
    });

    it('answers 503 (never 200) while Redis is down, 200 again once it is back, and stores every acknowledged event once', async () => {
      const source = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      const track = (messageId: string) =>
        send(stack.url, {
          path: '/v1/track',
          method: 'POST',
          headers: { Authorization: basicAuth(source.writeKey) },
          body: JSON.stringify({ userId: 'u', event: 'E', messageId }),
        });

      expect((await track('before')).status).toBe(200);
      await redis.stop();
      const during: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const answer = await track(`during-${i}`);
        during.push(answer.status);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(answer.headers.get('retry-after')).toBe('1');
      }
      expect(during).toEqual([503, 503, 503, 503, 503]);
      const ready = await send(stack.url, { path: '/health/ready', method: 'GET' });
      expect([ready.status, JSON.parse(ready.body)]).toEqual([
        503,
        { status: 'unavailable', redis: 'down', postgres: 'up', sourcesLoaded: true, stopping: false },
      ]);
      expect(await send(stack.url, { path: '/health/live', method: 'GET' })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      // Metrics still answer, with the 503s counted.
      const metrics = await send(stack.url, { path: '/metrics', method: 'GET' });
      expect([metrics.status, metrics.body.includes('evt_http_requests_total{route="/v1/track",status="503",service="gateway"} 5')]).toEqual([200, true]);

      await redis.start();
      await waitFor(async () => ((await track('after')).status === 200 ? true : undefined), 10_000, 'the gateway to accept again');
      // The SDK's retry of a refused event is accepted now, and stored once.
      expect((await track('during-0')).status).toBe(200);
      const rows = await stack.rows<{ message_id: string }>('SELECT message_id FROM events WHERE source_id = $1 ORDER BY message_id', [source.id], 3);
      expect(rows.map((row) => row.message_id)).toEqual(['after', 'before', 'during-0']);
    });
  });
});

// The gateway queues events while Postgres is away: a load balancer must keep it in rotation.
describe('gateway when Postgres is away', () => {
  let postgres: OwnPostgres;
  let stack: Stack;
  beforeAll(async () => {
    postgres = await startOwnPostgres();
    await migrate(postgres.url);
    // Gateway and worker both on this Postgres, which the test stops and starts again.
    stack = await startStack('postgres-away', { DATABASE_URL: postgres.url }, { workerEnv: { DATABASE_URL: postgres.url } });
  });
  afterAll(async () => {
    await stack.stop();
    postgres.dispose();
  });

  it('is not ready before it has loaded the sources (Postgres unreachable since the start), alive all the same', async () => {
    const never = await startStack('postgres-never', { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/evt' }, { unhealthy: true });
    try {
      // Redis connects in the background after the start: wait for it, so that only the sources are missing.
      const health = await waitFor(
        async () => {
          const answer = await send(never.url, { path: '/health/ready', method: 'GET' });
          return JSON.parse(answer.body).redis === 'up' ? answer : undefined;
        },
        10_000,
        'Redis to be connected',
      );
      expect([health.status, JSON.parse(health.body)]).toEqual([
        503,
        { status: 'unavailable', redis: 'up', postgres: 'down', sourcesLoaded: false, stopping: false },
      ]);
      expect(await send(never.url, { path: '/health/live', method: 'GET' })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    } finally {
      await never.stop();
    }
  });

  it('stays ready, says Postgres is down in the body and in metrics, accepts events and stores them once Postgres is back', async () => {
    const db = createDbClient(postgres.url, { max: 1 });
    try {
      const workspace = await new WorkspacesRepository(db.db).create('pg-away');
      const source = await new SourcesRepository(db.db).create({ workspaceId: workspace.id, name: 'pg-away' });
      await stack.gateway.sources.refresh();
      postgres.stop();

      const ready = { status: 'ok', redis: 'up', postgres: 'down', sourcesLoaded: true, stopping: false };
      for (const path of ['/health/ready', '/health']) {
        const health = await send(stack.url, { path, method: 'GET' });
        expect([path, health.status, JSON.parse(health.body)]).toEqual([path, 200, ready]);
      }
      const metrics = await send(stack.url, { path: '/metrics', method: 'GET' });
      expect(metrics.body.split('\n').filter((line) => line.startsWith('evt_dependency_up'))).toEqual([
        'evt_dependency_up{dependency="redis",service="gateway"} 1',
        'evt_dependency_up{dependency="postgres",service="gateway"} 0',
      ]);
      const answer = await send(stack.url, {
        path: '/v1/track',
        method: 'POST',
        headers: { Authorization: basicAuth(source.writeKey) },
        body: JSON.stringify({ userId: 'u', event: 'E', messageId: 'while-pg-away' }),
      });
      expect([answer.status, answer.body]).toEqual([200, 'OK']);

      postgres.start();
      const rows = await waitFor(
        async () => {
          const found = await db.query<{ message_id: string }>('SELECT message_id FROM events WHERE message_id = $1', ['while-pg-away']).catch(() => []);
          return found.length > 0 ? found : undefined;
        },
        30_000,
        'the event to be stored once Postgres is back',
      );
      expect(rows).toEqual([{ message_id: 'while-pg-away' }]);
      const back = await send(stack.url, { path: '/health/ready', method: 'GET' });
      expect([back.status, JSON.parse(back.body)]).toEqual([200, { ...ready, postgres: 'up' }]);
    } finally {
      await db.close();
    }
  });
});
