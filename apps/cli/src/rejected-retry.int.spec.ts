import { randomUUID } from 'node:crypto';
import type { Source } from '@evt/db';
import { createRedis, decodeJobData, queueKey, queueLayout, queueShards, readQueueDepths } from '@evt/queue';
import { AppProcess, createSource, createTestEnv, waitFor, type TestEnv } from '@evt/testing';
import { retryRejected, RetryInterruptedError, type RetryRejectedOptions, type RetrySummary } from './commands/rejected-retry';

interface Seeded {
  id: string;
  sourceId: string;
  passes: boolean;
  messageId?: string;
  receivedAt: string;
}

const MISSING_USER = 'userId or anonymousId is required';
const NOT_A_STRING = 'event must be a string';

// `rejected retry`'s engine against real Postgres and Redis: keyset pages, bounded jobs, deletes only
// after Redis has the jobs, and a built events worker storing what was retried.
describe('retryRejected (real Postgres and Redis, a built events worker)', () => {
  let env: TestEnv;
  let web: Source;
  let app: Source;
  let worker: AppProcess | undefined;
  const seeded: Seeded[] = [];

  const options = (overrides: Partial<RetryRejectedOptions> = {}): RetryRejectedOptions => ({
    db: env.db,
    redisUrl: env.redisUrl,
    queuePrefix: env.queuePrefix,
    eventsQueueShards: 1,
    maxEventSize: 1024 * 1024,
    dryRun: false,
    ...overrides,
  });

  /**
   * Rejected rows with random ids (so id order mixes sources and outcomes), of which every fourth
   * passes validation now; the rest lack a user (two of three) or have an event name that is not a
   * string. Every third passing event has no messageId, as the gateway kept such rejections.
   */
  async function seed(sources: Source[], count: number, tag: string): Promise<Seeded[]> {
    const rows: Seeded[] = [];
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let i = 0; i < count; i++) {
      const source = sources[i % sources.length];
      const passes = i % 4 === 0;
      const messageId = passes && i % 3 === 0 ? undefined : `${tag}-${i}`;
      const event: Record<string, unknown> = { type: 'track', event: 'Clicked', properties: { i } };
      if (messageId !== undefined) event.messageId = messageId;
      if (passes) event.userId = `u-${i}`;
      else if (i % 3 === 0) Object.assign(event, { userId: `u-${i}`, event: 42 });
      const receivedAt = new Date(Date.UTC(2026, 2, 1) + i * 60_000 + 123).toISOString();
      const row: Seeded = { id: randomUUID(), sourceId: source.id, passes, messageId, receivedAt };
      rows.push(row);
      const n = values.length;
      tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, 'refused before', $${n + 4}, $${n + 5}::jsonb, $${n + 6}::timestamptz)`);
      values.push(row.id, source.workspaceId, source.id, messageId ?? null, JSON.stringify(event), receivedAt);
    }
    await env.db.query(`INSERT INTO rejected_events (id, workspace_id, source_id, reason, message_id, event, received_at) VALUES ${tuples.join(', ')}`, values);
    seeded.push(...rows);
    return rows;
  }

  const rejectedIds = async (sourceIds: string[]): Promise<string[]> =>
    (await env.db.query<{ id: string }>('SELECT id FROM rejected_events WHERE source_id = ANY($1) ORDER BY id', [sourceIds])).map((row) => row.id);

  const sorted = (ids: string[]) => [...ids].sort();

  /** The events of every job waiting in the events queue, job by job (read straight from BullMQ's keys). */
  async function waitingJobs(): Promise<Array<Array<{ sourceId: string; event: { messageId: string; receivedAt: string } }>>> {
    const redis = createRedis(env.redisUrl, 'admin');
    try {
      const layout = queueLayout(env.redisUrl, env.queuePrefix, 1);
      const [shard] = queueShards(layout, 'events');
      const ids = await redis.lrange(queueKey(layout, shard, 'wait'), 0, -1);
      const jobs = [];
      for (const id of ids) {
        const data = await redis.hget(queueKey(layout, shard, id), 'data');
        const decoded = (await decodeJobData(JSON.parse(data as string))) as {
          events: Array<{ sourceId: string; event: { messageId: string; receivedAt: string } }>;
        };
        jobs.push(decoded.events);
      }
      return jobs;
    } finally {
      redis.disconnect();
    }
  }

  beforeAll(async () => {
    env = await createTestEnv('cli-rejected-retry');
    web = await createSource(env);
    app = await createSource(env);
  });
  afterAll(async () => {
    await worker?.stop();
    await env.close();
  });

  it('a dry run changes nothing and says which rows would be retried', async () => {
    const rows = await seed([web, app], 120, 'first');
    const summary = await retryRejected(options({ dryRun: true, batchSize: 25 }));
    expect(summary).toMatchObject({ examined: 120, retried: 30, stillRejected: 90, skipped: 0, lastId: sorted(rows.map((r) => r.id))[119] });
    expect(summary.reasons).toEqual({ [MISSING_USER]: 60, [NOT_A_STRING]: 30 });
    expect(summary.rows.filter((row) => row.result === 'would retry').map((row) => row.id)).toEqual(sorted(rows.filter((r) => r.passes).map((r) => r.id)));
    expect(summary.rows.map((row) => row.id)).toEqual(sorted(rows.map((r) => r.id)));
    expect(await rejectedIds([web.id, app.id])).toHaveLength(120);
    expect((await readQueueDepths(env.redisUrl, env.queuePrefix))[0]).toMatchObject({ queue: 'events', waiting: 0 });
  });

  it('retries every row that passes now in one run of pages (30, not the 2 of the newest 30), in jobs of at most batchSize events, and keeps the rest', async () => {
    const rows = seeded.filter((row) => row.sourceId === web.id || row.sourceId === app.id);
    const progress: RetrySummary[] = [];
    const summary = await retryRejected(options({ batchSize: 25, onProgress: (s) => progress.push(s) }));

    expect(summary).toMatchObject({ examined: 120, retried: 30, stillRejected: 90, skipped: 0 });
    expect(summary.reasons).toEqual({ [MISSING_USER]: 60, [NOT_A_STRING]: 30 });
    expect(summary.rows.filter((row) => row.result === 'retried')).toHaveLength(30);
    expect(summary.rows.find((row) => row.result === 'still rejected')).toEqual({
      id: expect.any(String),
      result: 'still rejected',
      reason: expect.any(String),
    });
    // One call per page, each with the counts so far.
    expect(progress.map((p) => p.examined)).toEqual([25, 50, 75, 100, 120]);
    expect(progress.map((p) => p.retried + p.stillRejected)).toEqual([25, 50, 75, 100, 120]);
    expect(progress[4].retried).toBe(30);
    expect(progress.map((p) => p.rows.length)).toEqual([25, 50, 75, 100, 120]);

    // The rows that still fail stay as they were; those retried are gone.
    expect(await rejectedIds([web.id, app.id])).toEqual(sorted(rows.filter((r) => !r.passes).map((r) => r.id)));
    expect(
      await env.db.query("SELECT count(*)::int AS n FROM rejected_events WHERE source_id = ANY($1) AND reason = 'refused before'", [[web.id, app.id]]),
    ).toEqual([{ n: 90 }]);

    const jobs = await waitingJobs();
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...jobs.map((events) => events.length))).toBeLessThanOrEqual(25);
    const queued = jobs.flat();
    expect(queued).toHaveLength(30);
    // A rejection kept without a messageId is enqueued under its row id (a rerun after a crash is then a duplicate the worker drops).
    expect(sorted(queued.map((item) => item.event.messageId))).toEqual(sorted(rows.filter((r) => r.passes).map((r) => r.messageId ?? r.id)));

    // A second run finds nothing more to retry.
    expect(await retryRejected(options({ batchSize: 25 }))).toMatchObject({ examined: 90, retried: 0, stillRejected: 90 });
  });

  it('the events worker stores the retried events with their original receivedAt', async () => {
    worker = AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', env.processEnv({ MIGRATE_ON_START: 'false' }));
    const expected = seeded
      .filter((row) => row.passes)
      .map((row) => ({ source_id: row.sourceId, message_id: row.messageId ?? row.id, received_at_ms: String(Date.parse(row.receivedAt)) }))
      // Code unit order, as COLLATE "C" below.
      .sort((a, b) => (a.message_id < b.message_id ? -1 : 1));
    const stored = await waitFor(
      async () => {
        const rows = await env.db.query<{ source_id: string; message_id: string; received_at_ms: string }>(
          `SELECT source_id, message_id, (extract(epoch FROM received_at) * 1000)::bigint::text AS received_at_ms FROM events ORDER BY message_id COLLATE "C"`,
        );
        return rows.length >= expected.length ? rows : undefined;
      },
      20_000,
      `the ${expected.length} retried events in events (worker output: ${worker.output()})`,
    );
    expect(stored).toEqual(expected);
  }, 30_000);

  it('retries only the rows of --source, and skips what cannot go through the pipeline again', async () => {
    const [one, other] = [await createSource(env), await createSource(env)];
    const mine = await seed([one], 20, 'one');
    const theirs = await seed([other], 20, 'other');
    await env.db.query(
      `INSERT INTO rejected_events (id, workspace_id, source_id, reason, event, event_size, received_at)
       VALUES ('zz-size-only', $1, $2, 'event is larger than 10 bytes', NULL, 2048, '2026-03-02T00:00:00Z')`,
      [one.workspaceId, one.id],
    );
    const summary = await retryRejected(options({ sourceId: one.id, batchSize: 7 }));
    expect(summary).toMatchObject({ examined: 21, retried: 5, stillRejected: 15, skipped: 1, lastId: 'zz-size-only' });
    expect(summary.reasons).toEqual({ [MISSING_USER]: 10, [NOT_A_STRING]: 5, 'only its size was kept': 1 });
    expect(summary.rows.at(-1)).toEqual({ id: 'zz-size-only', result: 'skipped', reason: 'only its size was kept' });
    expect(await rejectedIds([one.id])).toEqual(sorted([...mine.filter((r) => !r.passes).map((r) => r.id), 'zz-size-only']));
    expect(await rejectedIds([other.id])).toEqual(sorted(theirs.map((r) => r.id)));
    await waitFor(
      async () => {
        const [{ n }] = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [one.id]);
        return n === 5 ? true : undefined;
      },
      20_000,
      'the 5 events of the source',
    );
    expect(await env.db.query('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [other.id])).toEqual([{ n: 0 }]);
  }, 30_000);

  it('a limited run says where it stopped, and a run from there covers the rest, each row once', async () => {
    const source = await createSource(env);
    const rows = await seed([source], 80, 'resume');
    const ids = sorted(rows.map((r) => r.id));
    const first = await retryRejected(options({ sourceId: source.id, limit: 50, batchSize: 20 }));
    expect(first.examined).toBe(50);
    expect(first.lastId).toBe(ids[49]);
    expect(first.rows.map((row) => row.id)).toEqual(ids.slice(0, 50));
    const rest = await retryRejected(options({ sourceId: source.id, afterId: first.lastId, batchSize: 20 }));
    expect(rest.examined).toBe(30);
    expect(rest.rows.map((row) => row.id)).toEqual(ids.slice(50));
    expect(first.retried + rest.retried).toBe(20);
    expect(await rejectedIds([source.id])).toEqual(sorted(rows.filter((r) => !r.passes).map((r) => r.id)));
  });

  it('keeps a summary of the first 1000 rows only, with exact counts', async () => {
    const source = await createSource(env);
    await seed([source], 1100, 'many');
    const summary = await retryRejected(options({ sourceId: source.id, dryRun: true, batchSize: 300 }));
    expect(summary).toMatchObject({ examined: 1100, retried: 275, stillRejected: 825 });
    expect(summary.rows).toHaveLength(1000);
  });

  it('deletes nothing when Redis does not take the events, and says how far it got', async () => {
    const source = await createSource(env);
    const rows = await seed([source], 12, 'down');
    const failure = await retryRejected(options({ sourceId: source.id, redisUrl: 'redis://127.0.0.1:1', batchSize: 4 })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RetryInterruptedError);
    // The pages before the first one with an event to enqueue are done; the run stops at that one.
    const ids = sorted(rows.map((r) => r.id));
    const passing = new Set(rows.filter((r) => r.passes).map((r) => r.id));
    const done = 4 * [0, 1, 2].findIndex((page) => ids.slice(4 * page, 4 * page + 4).some((id) => passing.has(id)));
    const { examined, retried, lastId } = (failure as RetryInterruptedError).summary;
    expect({ examined, retried, lastId }).toEqual({ examined: done, retried: 0, lastId: done > 0 ? ids[done - 1] : undefined });
    expect((failure as Error).message).toBe(
      `retry stopped: the events queue refused a page (queue unreachable) after 0 retried${done > 0 ? `; resume after ${ids[done - 1]}` : ''}`,
    );
    expect(await rejectedIds([source.id])).toEqual(ids);
  }, 30_000);
});
