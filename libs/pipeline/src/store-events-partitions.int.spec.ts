import { EventPartitionsRepository, EventStore } from '@evt/db';
import { rudderId } from '@evt/ingest';
import { createLogger } from '@evt/logging';
import type { EventsJob, QueuedEvent } from '@evt/schemas';
import { createTestEnv, type TestEnv } from '@evt/testing';
import { storeEventsJob } from './store-events';

const logger = createLogger('store-events-partitions-test', 'silent');

function queued(messageId: string, receivedAt: string, overrides: Record<string, unknown> = {}): QueuedEvent {
  const fields: Record<string, unknown> = { traits: { plan: 'free' }, ...overrides };
  return {
    sourceId: 'src-1',
    workspaceId: 'ws-1',
    event: { type: 'identify', userId: 'u-1', messageId, receivedAt, rudderId: rudderId('u-1', undefined), ...fields },
  };
}

// Exactly-once across partitions: `events` is partitioned by receivedAt, and a client that resends
// an event (or a job retried later) delivers it again with another receivedAt, into another
// partition. The dedup key (source, messageId) in event_keys is the same for both.
describe('storing events into daily partitions (real Postgres)', () => {
  let env: TestEnv;
  let store: EventStore;
  const stored = () =>
    env.db.query(`SELECT message_id, to_json(received_at)#>>'{}' AS received_at, tableoid::regclass::text AS partition FROM events ORDER BY message_id`);

  beforeAll(async () => {
    env = await createTestEnv('store-events-partitions');
    store = new EventStore(env.db);
    await new EventPartitionsRepository(env.db).maintain({ interval: 'day', ahead: 2, dedupWindowDays: 7, now: new Date('2031-05-31T12:00:00.000Z') });
  });
  afterAll(() => env.close());

  it('keeps one row, and its profile change once, when the two deliveries of an event fall on two days', async () => {
    const first: EventsJob = { events: [queued('resent', '2031-05-31T23:59:58.000Z')], rejected: [] };
    expect(await storeEventsJob(first, { queue: 'events', id: '1' }, { store, logger })).toEqual({ stored: 1, duplicates: 0, rejected: 0 });
    // The resend carries other traits: had it been stored, the profile would say so.
    const resend: EventsJob = {
      events: [
        queued('resent', '2031-06-01T00:00:03.000Z', { traits: { plan: 'pro' } }),
        queued('next-day', '2031-06-01T00:00:03.000Z', { type: 'track', event: 'Seen', traits: undefined }),
      ],
      rejected: [],
    };
    expect(await storeEventsJob(resend, { queue: 'events', id: '2' }, { store, logger })).toEqual({ stored: 1, duplicates: 1, rejected: 0 });
    expect(await storeEventsJob(resend, { queue: 'events', id: '2' }, { store, logger })).toEqual({ stored: 0, duplicates: 2, rejected: 0 });
    expect(await stored()).toEqual([
      { message_id: 'next-day', received_at: '2031-06-01T00:00:03+00:00', partition: 'events_2031_06_01' },
      { message_id: 'resent', received_at: '2031-05-31T23:59:58+00:00', partition: 'events_2031_05_31' },
    ]);
    expect(await env.db.query('SELECT user_id, traits FROM users')).toEqual([{ user_id: 'u-1', traits: { plan: 'free' } }]);
  });
});
