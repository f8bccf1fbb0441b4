import { createConsumer, QueueProducers } from '@evt/queue';
import { waitFor } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

const TOKEN = 'admin-token-0123456789';

interface BoardQueue {
  name: string;
  displayName?: string;
  counts: Record<string, number>;
  jobs: Array<{ id: string; failedReason?: string; data: unknown }>;
}

// The queue dashboard (bull-board at /admin/queues): behind ADMIN_TOKEN, over every queue and
// shard, where a job that failed for good can be read and retried.
describe('queue dashboard with ADMIN_TOKEN and EVENTS_QUEUE_SHARDS=2', () => {
  let stack: Stack;
  const bearer = { Authorization: `Bearer ${TOKEN}` };
  beforeAll(async () => {
    stack = await startStack('admin-dashboard', { ADMIN_TOKEN: TOKEN, EVENTS_QUEUE_SHARDS: '2' }, { workerEnv: { EVENTS_QUEUE_SHARDS: '2' } });
  });
  afterAll(() => stack.stop());

  async function queues(query = ''): Promise<BoardQueue[]> {
    const answer = await send(stack.url, { path: `/admin/queues/api/queues${query}`, headers: bearer });
    expect(answer.status).toBe(200);
    return (JSON.parse(answer.body) as { queues: BoardQueue[] }).queues;
  }

  it('asks for the token: 401 with a Basic challenge without one, or with a wrong one', async () => {
    const none = await send(stack.url, { path: '/admin/queues' });
    expect([none.status, none.headers.get('www-authenticate'), none.body]).toEqual([401, 'Basic realm="evt admin", charset="UTF-8"', 'Invalid admin token']);
    const wrongBearer = await send(stack.url, { path: '/admin/queues', headers: { Authorization: 'Bearer admin-token-0123456780' } });
    const wrongBasic = await send(stack.url, {
      path: '/admin/queues/api/queues',
      headers: { Authorization: `Basic ${Buffer.from('admin:not-the-token-at-all').toString('base64')}` },
    });
    expect([wrongBearer.status, wrongBasic.status]).toEqual([401, 401]);
    expect(wrongBasic.headers.get('www-authenticate')).toBe('Basic realm="evt admin", charset="UTF-8"');
  });

  it('serves the dashboard page to the token, as a Bearer token or as Basic password with any user name', async () => {
    for (const authorization of [
      `Bearer ${TOKEN}`,
      `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
      `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`,
    ]) {
      const page = await send(stack.url, { path: '/admin/queues', headers: { Authorization: authorization } });
      expect([page.status, page.headers.get('content-type'), page.headers.get('cache-control')]).toEqual([200, 'text/html; charset=utf-8', 'no-store']);
      expect(page.body).toContain('<title>evt queues</title>');
    }
  });

  it('lists every queue of the registry and every shard of events, by label', async () => {
    expect((await queues()).map(({ name, displayName }) => [name, displayName])).toEqual([
      ['events', 'events'],
      ['events-1', 'events-1'],
      ['replay', 'replay'],
      ['retl', 'retl'],
      ['audiencelist', 'audiencelist'],
      ['extract', 'extract'],
      ['internal-batch', 'internal-batch'],
    ]);
  });

  it('shows a job that failed for good, decoded, and retries it: it is no longer failed', async () => {
    // No internal worker runs in this stack: a consumer of retl that fails every job stands in for it.
    const producers = new QueueProducers({
      redisUrl: stack.env.redisUrl,
      prefix: stack.env.queuePrefix,
      timeoutMs: 5000,
      maxItemsPerJob: 100,
      maxBytesPerJob: 1 << 20,
      maxPendingBytes: 1 << 20,
    });
    await producers.waitUntilReady();
    const item = { recordId: 'r-1', note: 'x'.repeat(20_000) };
    // Not a valid rETL record: this consumer never reads it, and the dashboard shows what is stored.
    await producers.retl.enqueue({ items: [item as never], rejected: [], bytes: 20_000 });
    await producers.close();
    const consumer = createConsumer({
      queueName: 'retl',
      redisUrl: stack.env.redisUrl,
      prefix: stack.env.queuePrefix,
      concurrency: 1,
      maxDeterministicFailures: 1,
      process: async () => {
        throw new Error('broken on purpose');
      },
    });
    const failedRetl = async () => (await queues('?activeQueue=retl&status=failed&page=1&jobsPerPage=10')).find(({ name }) => name === 'retl');
    let retl: BoardQueue | undefined;
    try {
      retl = await waitFor(async () => ((await failedRetl())?.counts.failed === 1 ? failedRetl() : undefined), 10_000, 'the failed retl job');
    } finally {
      await consumer.close();
    }
    expect(retl?.jobs.map(({ failedReason }) => failedReason)).toEqual(['broken on purpose']);
    // Stored deflated ({z: base64}, over 16 KB of bodies); shown as the items the worker reads.
    expect(retl?.jobs[0].data).toEqual({ records: [item], rejected: [] });

    const retry = await send(stack.url, { path: `/admin/queues/api/queues/retl/${retl?.jobs[0].id}/retry`, method: 'PUT', headers: bearer });
    expect(retry.status).toBe(204);
    const after = await failedRetl();
    expect([after?.counts.failed, after?.counts.waiting]).toEqual([0, 1]);
  });

  it("serves the page's assets, and counts the dashboard's requests as one route in the metrics", async () => {
    const page = await send(stack.url, { path: '/admin/queues', headers: bearer });
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await send(stack.url, { path: `/admin/queues/${script}`, headers: bearer });
    expect([asset.status, asset.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    const metrics = await send(stack.url, { path: '/metrics' });
    const routes = metrics.body.split('\n').filter((line) => line.startsWith('evt_http_requests_total{') && line.includes('/admin'));
    expect(routes.every((line) => line.includes('route="/admin/queues"'))).toBe(true);
    expect(routes.some((line) => line.includes('status="401"'))).toBe(true);
  });
});

describe('queue dashboard without ADMIN_TOKEN', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('admin-off');
  });
  afterAll(() => stack.stop());

  it('is not there: /admin/queues is 404 like any unknown route, with a token or without', async () => {
    const answers = await Promise.all([
      send(stack.url, { path: '/admin/queues' }),
      send(stack.url, { path: '/admin/queues/api/queues', headers: { Authorization: `Bearer ${TOKEN}` } }),
    ]);
    expect(answers.map(({ status, body }) => [status, body])).toEqual([
      [404, 'Not found'],
      [404, 'Not found'],
    ]);
  });
});
