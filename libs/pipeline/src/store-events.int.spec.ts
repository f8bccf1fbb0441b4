import { createDbClient, EventStore } from '@evt/db';
import { createLogger } from '@evt/logging';
import { rudderId } from '@evt/ingest';
import { createTestEnv, type TestEnv } from '@evt/testing';
import type { EventsJob, QueuedEvent } from '@evt/schemas';
import { storeEventsJob, storeEventsJobs, type StoreEventsDeps } from './store-events';

const logger = createLogger('events-processor-test', 'silent');

function queued(messageId: string, overrides: Record<string, unknown> = {}): QueuedEvent {
  const userId = (overrides.userId as string | undefined) ?? 'u-1';
  return {
    sourceId: 'src-1',
    workspaceId: 'ws-1',
    event: {
      type: 'track',
      event: 'Order Completed',
      userId,
      messageId,
      receivedAt: '2026-03-01T12:00:00.000Z',
      timestamp: '2026-03-01T11:59:59.000Z',
      rudderId: rudderId(userId, undefined),
      request_ip: '10.1.2.3',
      ...overrides,
    },
  };
}

const processEventsJob = (data: unknown, id: string, deps: StoreEventsDeps) => storeEventsJob(data, { queue: 'events', id }, deps);

describe('storing a job of events (real Postgres)', () => {
  let env: TestEnv;
  let store: EventStore;

  beforeAll(async () => {
    env = await createTestEnv('events-processor');
    store = new EventStore(env.db);
  });
  afterAll(() => env.close());
  beforeEach(async () => {
    await env.db.query('TRUNCATE events, users, groups, aliases, rejected_events');
  });

  it('stores every event of a job with its columns, in one statement', async () => {
    const job: EventsJob = { events: [queued('m-1'), queued('m-2', { type: 'page', name: 'Home', event: undefined })], rejected: [] };
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 2, duplicates: 0, rejected: 0 });
    const rows = await env.db.query(
      `SELECT workspace_id, source_id, message_id, type, user_id, event, name, to_json(received_at)#>>'{}' AS received_at,
              to_json("timestamp")#>>'{}' AS timestamp, request_ip, rudder_id::text, payload->>'messageId' AS payload_message_id
       FROM events ORDER BY message_id`,
    );
    expect(rows).toEqual([
      { workspace_id: 'ws-1', source_id: 'src-1', message_id: 'm-1', type: 'track', user_id: 'u-1', event: 'Order Completed', name: null, received_at: '2026-03-01T12:00:00+00:00', timestamp: '2026-03-01T11:59:59+00:00', request_ip: '10.1.2.3', rudder_id: rudderId('u-1', undefined), payload_message_id: 'm-1' },
      { workspace_id: 'ws-1', source_id: 'src-1', message_id: 'm-2', type: 'page', user_id: 'u-1', event: null, name: 'Home', received_at: '2026-03-01T12:00:00+00:00', timestamp: '2026-03-01T11:59:59+00:00', request_ip: '10.1.2.3', rudder_id: rudderId('u-1', undefined), payload_message_id: 'm-2' },
    ]);
  });

  it('is idempotent: the same job run twice (a retry, a crash after commit) leaves the same rows', async () => {
    const job: EventsJob = {
      events: [queued('twice-1'), queued('twice-2', { type: 'identify', traits: { plan: 'pro' }, event: undefined })],
      rejected: [{ id: 'rej-1', sourceId: 'src-1', workspaceId: 'ws-1', reason: 'userId or anonymousId is required', event: { type: 'track' }, receivedAt: '2026-03-01T12:00:00.000Z' }],
    };
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 2, duplicates: 0, rejected: 1 });
    const snapshot = async () => ({
      events: await env.db.query('SELECT message_id, payload FROM events ORDER BY message_id'),
      users: await env.db.query('SELECT user_id, traits, first_seen_at, last_seen_at, last_message_id FROM users'),
      rejected: await env.db.query('SELECT id, reason FROM rejected_events'),
    });
    const first = await snapshot();
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 0, duplicates: 2, rejected: 1 });
    expect(await snapshot()).toEqual(first);
    expect(first.events).toHaveLength(2);
    expect(first.rejected).toEqual([{ id: 'rej-1', reason: 'userId or anonymousId is required' }]);
  });

  it('keeps one row when a job carries the same messageId twice', async () => {
    expect(await processEventsJob({ events: [queued('dup'), queued('dup')], rejected: [] }, '1', { store, logger })).toEqual({ stored: 1, duplicates: 1, rejected: 0 });
  });

  it('lets the newest traits win whatever order jobs run in', async () => {
    const newer = queued('id-new', { type: 'identify', traits: { plan: 'pro', seats: 5 }, timestamp: '2026-03-02T00:00:00.000Z' });
    const older = queued('id-old', { type: 'identify', traits: { plan: 'free', email: 'a@example.com' }, timestamp: '2026-03-01T00:00:00.000Z' });
    await processEventsJob({ events: [newer], rejected: [] }, '1', { store, logger });
    await processEventsJob({ events: [older], rejected: [] }, '2', { store, logger });
    expect(await env.db.query(`SELECT traits, last_message_id, to_json(first_seen_at)#>>'{}' AS first_seen_at, to_json(last_seen_at)#>>'{}' AS last_seen_at FROM users`)).toEqual([
      { traits: { plan: 'pro', seats: 5, email: 'a@example.com' }, last_message_id: 'id-new', first_seen_at: '2026-03-01T00:00:00+00:00', last_seen_at: '2026-03-02T00:00:00+00:00' },
    ]);
  });

  it('stores text Postgres cannot hold (NUL, lone surrogates) with U+FFFD instead of failing the job', async () => {
    const job = { events: [queued('nul-1', { properties: { note: 'a\u0000b', broken: 'x\ud800y' } })], rejected: [] };
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 1, duplicates: 0, rejected: 0 });
    expect(await env.db.query("SELECT payload->'properties' AS properties FROM events")).toEqual([{ properties: { note: 'a\ufffdb', broken: 'x\ufffdy' } }]);
  });

  it('sets a malformed job aside in rejected_events with its reason instead of blocking the queue', async () => {
    expect(await processEventsJob({ events: [{ sourceId: 'src-1' }], rejected: [] }, '77', { store, logger })).toEqual({ stored: 0, duplicates: 0, rejected: 1 });
    expect(await env.db.query('SELECT id, reason, source_id, event FROM rejected_events')).toEqual([
      { id: 'job:events:77', reason: 'malformed events job: events.0.workspaceId is required', source_id: null, event: { events: [{ sourceId: 'src-1' }], rejected: [] } },
    ]);
  });

  it('moves an event the database refuses to rejected_events and stores the rest of the job', async () => {
    // An admin's own rule on the table stands for any row the database refuses.
    await env.db.query("ALTER TABLE events ADD CONSTRAINT no_refused CHECK (message_id NOT LIKE 'refused%')");
    const job = { events: [queued('fine-1'), queued('refused-1'), queued('fine-2')], rejected: [] };
    const outcome = await processEventsJob(job, '1', { store, logger }).finally(() => env.db.query('ALTER TABLE events DROP CONSTRAINT no_refused'));
    expect(outcome).toEqual({ stored: 2, duplicates: 0, rejected: 1 });
    expect(await env.db.query('SELECT message_id FROM events ORDER BY message_id')).toEqual([{ message_id: 'fine-1' }, { message_id: 'fine-2' }]);
    const [refused] = await env.db.query<{ id: string; reason: string; message_id: string }>('SELECT id, reason, message_id FROM rejected_events');
    expect(refused.id).toBe('refused:src-1:refused-1');
    expect(refused.message_id).toBe('refused-1');
    expect(refused.reason).toMatch(/^database refused the event: .*no_refused/);
  });

  it('stores a time Postgres cannot hold as NULL in its column, keeping the client value in the payload', async () => {
    const job = { events: [queued('far-future', { originalTimestamp: '+275760-09-13T00:00:00.000Z' })], rejected: [] };
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 1, duplicates: 0, rejected: 0 });
    expect(await env.db.query("SELECT original_timestamp, payload->>'originalTimestamp' AS sent FROM events")).toEqual([{ original_timestamp: null, sent: '+275760-09-13T00:00:00.000Z' }]);
  });

  it('throws a retriable error when Postgres is unreachable, so the queue retries the job', async () => {
    const dead = createDbClient('postgres://postgres@127.0.0.1:1/none');
    const error = await processEventsJob({ events: [queued('m')], rejected: [] }, '1', { store: new EventStore(dead), logger }).catch((e: unknown) => e);
    await dead.close();
    expect(error).toMatchObject({ code: 'service_unavailable', retriable: true });
  });
  it('stores several jobs in one transaction, setting a malformed one aside', async () => {
    const outcome = await storeEventsJobs(
      [
        { data: { events: [queued('group-1')], rejected: [] }, job: { queue: 'events', id: '1' } },
        { data: { events: 'not an array' }, job: { queue: 'events', id: '2' } },
        { data: { events: [queued('group-2'), queued('group-1')], rejected: [] }, job: { queue: 'events', id: '3' } },
      ],
      { store, logger },
    );
    expect(outcome).toEqual({ stored: 2, duplicates: 1, rejected: 1 });
    expect(await env.db.query('SELECT message_id FROM events ORDER BY message_id')).toEqual([{ message_id: 'group-1' }, { message_id: 'group-2' }]);
    expect(await env.db.query('SELECT id FROM rejected_events')).toEqual([{ id: 'job:events:2' }]);
  });
});
