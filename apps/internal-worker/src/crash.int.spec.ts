import { createDbClient, EventStore, type DbClient } from '@evt/db';
import { createLogger } from '@evt/logging';
import { QueueProducers, readQueueDepths } from '@evt/queue';
import { AppProcess, createTestEnv, waitFor, withProcessOutput, type TestEnv } from '@evt/testing';
import type { RetlItem } from '@evt/schemas';
import { processRetlJob } from './processors/retl.processor';

const ROWS =
  'SELECT destination_id, record_id, workspace_id, fields, deleted, last_action, message_id, received_at, sequence, sequence_index FROM retl_records ORDER BY record_id';

function records(): RetlItem[] {
  return Array.from({ length: 3000 }, (_, i) => ({
    sourceId: 'src',
    workspaceId: 'ws',
    destinationId: 'dst',
    recordId: `r-${String(i % 2000).padStart(4, '0')}`,
    action: i < 2000 ? 'insert' : i % 3 === 0 ? 'delete' : 'update',
    fields: { n: i, name: `record ${i}` },
    messageId: `m-${i}`,
    receivedAt: '2026-01-01T00:00:00.000Z',
    sequence: 1_000_000,
    index: i,
  }));
}

// A worker killed (SIGKILL) in the middle of a bulk write, then started again, must leave exactly
// the rows of an uninterrupted run: the transaction never committed, and the job is taken again.
describe('internal worker killed mid-job', () => {
  let env: TestEnv;
  let reference: TestEnv;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    [env, reference] = await Promise.all([createTestEnv('crash'), createTestEnv('crash-reference')]);
  });
  afterAll(async () => {
    await worker?.stop();
    await env.close();
    await reference.close();
  });

  it(
    'leaves the same rows as an uninterrupted run after a restart',
    withProcessOutput(
      () => (worker ? [worker] : []),
      async () => {
        const items = records();
        await processRetlJob({ records: items, rejected: [] }, 'reference', {
          store: new EventStore(reference.db),
          logger: createLogger('reference', 'silent'),
        });
        const expected = await reference.db.query(ROWS);
        expect(expected).toHaveLength(2000);

        const producers = new QueueProducers({
          redisUrl: env.redisUrl,
          prefix: env.queuePrefix,
          timeoutMs: 5000,
          maxItemsPerJob: 10_000,
          maxBytesPerJob: 1 << 24,
          maxPendingBytes: 1 << 26,
        });
        await producers.waitUntilReady();
        await producers.retl.enqueue({ items, rejected: [], bytes: 1000 });
        await producers.close();

        // Hold a lock the worker's upsert needs, so that it is certainly in the middle of its transaction when killed.
        // One connection (max 1), so BEGIN, LOCK and ROLLBACK share a session.
        const blocker = createDbClient(env.databaseUrl, { max: 1 });
        const release = await holdTableLock(blocker);
        const workerEnv = env.processEnv({ WORKER_QUEUES: 'retl', WORKER_LOCK_MS: '1000', MIGRATE_ON_START: 'false', LOG_LEVEL: 'info' });
        worker = AppProcess.start('internal-worker', 'dist/apps/internal-worker/main.js', workerEnv);
        await waitFor(async () => ((await blockedWriters(env)) > 0 ? true : undefined), 15_000, 'the worker to be inside its write');
        expect((await readQueueDepths(env.redisUrl, env.queuePrefix)).find((d) => d.queue === 'retl')?.active).toBe(1);
        worker.kill('SIGKILL');
        await worker.stop();
        await release();
        await blocker.close();
        await waitFor(async () => ((await blockedWriters(env)) === 0 ? true : undefined), 10_000, 'the killed worker’s transaction to end');
        expect(await env.db.query('SELECT count(*)::int AS n FROM retl_records')).toEqual([{ n: 0 }]);

        worker = AppProcess.start('internal-worker', 'dist/apps/internal-worker/main.js', workerEnv);
        await waitFor(
          async () => {
            const depth = (await readQueueDepths(env.redisUrl, env.queuePrefix)).find((d) => d.queue === 'retl');
            return depth && depth.waiting + depth.active + depth.delayed === 0 ? depth : undefined;
          },
          30_000,
          'the job to be done',
        );
        expect(await env.db.query(ROWS)).toEqual(expected);
        expect((await readQueueDepths(env.redisUrl, env.queuePrefix)).find((d) => d.queue === 'retl')?.failed).toBe(0);
      },
    ),
    60_000,
  );
});

/** Locks retl_records against writes from a transaction of its own; resolves to the release. */
async function holdTableLock(client: DbClient): Promise<() => Promise<void>> {
  await client.query('BEGIN');
  await client.query('LOCK TABLE retl_records IN SHARE MODE');
  return async () => {
    await client.query('ROLLBACK');
  };
}

/** Backends of the test's database waiting for a lock: the worker inside its upsert. */
async function blockedWriters(env: TestEnv): Promise<number> {
  const [row] = await env.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%retl_records%'",
  );
  return row.n;
}
