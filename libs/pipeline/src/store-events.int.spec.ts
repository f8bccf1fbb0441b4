import { randomBytes } from 'node:crypto';
import { createDbClient, EventStore, type UnitOfWork } from '@evt/db';
import { createLogger } from '@evt/logging';
import { rudderId } from '@evt/ingest';
import { createTestEnv, type TestEnv } from '@evt/testing';
import { QueuedEvent, Validator, type EventsJob } from '@evt/schemas';
import { toEventRow } from './event-rows';
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
    await env.db.query('TRUNCATE events, event_keys, users, groups, aliases, rejected_events');
  });

  it('hands onStored the events a commit stored, once: none when the job runs again, and the new ones of a group', async () => {
    const seen: string[][] = [];
    const deps: StoreEventsDeps = { store, logger, onStored: (stored) => seen.push(stored().map((row) => row.messageId)) };
    // m-1 twice in one job (an SDK sent it twice): one row, shown once.
    const job: EventsJob = { events: [queued('m-1'), queued('m-2'), queued('m-1')], rejected: [] };
    expect(await processEventsJob(job, '1', deps)).toEqual({ stored: 2, duplicates: 1, rejected: 0 });
    expect(await processEventsJob(job, '1', deps)).toEqual({ stored: 0, duplicates: 3, rejected: 0 });
    expect(seen).toEqual([['m-1', 'm-2']]);
    const other: EventsJob = { events: [queued('m-3')], rejected: [] };
    await storeEventsJobs([{ data: other, job: { queue: 'events', id: '2' } }], deps);
    expect(seen).toEqual([['m-1', 'm-2'], ['m-3']]);
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
      {
        workspace_id: 'ws-1',
        source_id: 'src-1',
        message_id: 'm-1',
        type: 'track',
        user_id: 'u-1',
        event: 'Order Completed',
        name: null,
        received_at: '2026-03-01T12:00:00+00:00',
        timestamp: '2026-03-01T11:59:59+00:00',
        request_ip: '10.1.2.3',
        rudder_id: rudderId('u-1', undefined),
        payload_message_id: 'm-1',
      },
      {
        workspace_id: 'ws-1',
        source_id: 'src-1',
        message_id: 'm-2',
        type: 'page',
        user_id: 'u-1',
        event: null,
        name: 'Home',
        received_at: '2026-03-01T12:00:00+00:00',
        timestamp: '2026-03-01T11:59:59+00:00',
        request_ip: '10.1.2.3',
        rudder_id: rudderId('u-1', undefined),
        payload_message_id: 'm-2',
      },
    ]);
  });

  it('is idempotent: the same job run twice (a retry, a crash after commit) leaves the same rows', async () => {
    const job: EventsJob = {
      events: [queued('twice-1'), queued('twice-2', { type: 'identify', traits: { plan: 'pro' }, event: undefined })],
      rejected: [
        {
          id: 'rej-1',
          sourceId: 'src-1',
          workspaceId: 'ws-1',
          reason: 'userId or anonymousId is required',
          event: { type: 'track' },
          receivedAt: '2026-03-01T12:00:00.000Z',
        },
      ],
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

  it('stores only the new events of a job some of whose events were stored before, and their profiles once', async () => {
    const before = { events: [queued('part-1'), queued('part-2', { type: 'identify', traits: { plan: 'free' }, event: undefined })], rejected: [] };
    expect(await processEventsJob(before, '1', { store, logger })).toEqual({ stored: 2, duplicates: 0, rejected: 0 });
    const later: EventsJob = {
      events: [
        queued('part-1'),
        queued('part-3', { type: 'identify', traits: { plan: 'pro' }, event: undefined, userId: 'u-part-3' }),
        queued('part-2', { type: 'identify', traits: { plan: 'team' }, event: undefined }),
        queued('part-4'),
      ],
      rejected: [],
    };
    expect(await processEventsJob(later, '2', { store, logger })).toEqual({ stored: 2, duplicates: 2, rejected: 0 });
    expect(await env.db.query("SELECT message_id, payload->'traits' AS traits FROM events WHERE message_id LIKE 'part-%' ORDER BY message_id")).toEqual([
      { message_id: 'part-1', traits: null },
      { message_id: 'part-2', traits: { plan: 'free' } },
      { message_id: 'part-3', traits: { plan: 'pro' } },
      { message_id: 'part-4', traits: null },
    ]);
    // part-2's second copy was not stored, so it changed no profile: the user keeps the first traits.
    expect(await env.db.query("SELECT user_id, traits FROM users WHERE last_message_id LIKE 'part-%' ORDER BY user_id")).toEqual([
      { user_id: 'u-1', traits: { plan: 'free' } },
      { user_id: 'u-part-3', traits: { plan: 'pro' } },
    ]);
  });

  it('stores a job of several megabytes exactly, multi-byte text across the COPY chunks included', async () => {
    const text = (i: number) => `${i} é☃😀 \\ \t `.repeat(60 + (i % 7));
    const events = Array.from({ length: 3000 }, (_, i) => queued(`big-${i}`, { properties: { text: text(i) } }));
    expect(await processEventsJob({ events, rejected: [] }, '1', { store, logger })).toEqual({ stored: 3000, duplicates: 0, rejected: 0 });
    const rows = await env.db.query<{ message_id: string; text: string }>(
      "SELECT message_id, payload->'properties'->>'text' AS text FROM events WHERE message_id LIKE 'big-%'",
    );
    expect(rows).toHaveLength(3000);
    expect(rows.every((row) => row.text === text(Number(row.message_id.slice(4))))).toBe(true);
  });

  it('keeps one row when a job carries the same messageId twice', async () => {
    expect(await processEventsJob({ events: [queued('dup'), queued('dup')], rejected: [] }, '1', { store, logger })).toEqual({
      stored: 1,
      duplicates: 1,
      rejected: 0,
    });
  });

  it('lets the newest traits win whatever order jobs run in', async () => {
    const newer = queued('id-new', { type: 'identify', traits: { plan: 'pro', seats: 5 }, timestamp: '2026-03-02T00:00:00.000Z' });
    const older = queued('id-old', { type: 'identify', traits: { plan: 'free', email: 'a@example.com' }, timestamp: '2026-03-01T00:00:00.000Z' });
    await processEventsJob({ events: [newer], rejected: [] }, '1', { store, logger });
    await processEventsJob({ events: [older], rejected: [] }, '2', { store, logger });
    expect(
      await env.db.query(
        `SELECT traits, last_message_id, to_json(first_seen_at)#>>'{}' AS first_seen_at, to_json(last_seen_at)#>>'{}' AS last_seen_at FROM users`,
      ),
    ).toEqual([
      {
        traits: { plan: 'pro', seats: 5, email: 'a@example.com' },
        last_message_id: 'id-new',
        first_seen_at: '2026-03-01T00:00:00+00:00',
        last_seen_at: '2026-03-02T00:00:00+00:00',
      },
    ]);
  });

  it('stores text Postgres cannot hold (NUL, lone surrogates) with U+FFFD instead of failing the job', async () => {
    const job = { events: [queued('nul-1', { properties: { note: 'a\u0000b', broken: 'x\ud800y' } })], rejected: [] };
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 1, duplicates: 0, rejected: 0 });
    expect(await env.db.query("SELECT payload->'properties' AS properties FROM events")).toEqual([{ properties: { note: 'a\ufffdb', broken: 'x\ufffdy' } }]);
  });

  it('sets a job that is not even {events, rejected} aside whole, in rejected_events with its reason', async () => {
    expect(await processEventsJob({ events: 'not an array', rejected: [] }, '77', { store, logger })).toEqual({ stored: 0, duplicates: 0, rejected: 1 });
    expect(await env.db.query('SELECT id, reason, source_id, event FROM rejected_events')).toEqual([
      { id: 'job:events:77', reason: 'malformed events job: events must be an array', source_id: null, event: { events: 'not an array', rejected: [] } },
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
    expect(refused.id).toMatch(/^refused:[0-9a-f]{32}$/);
    expect(refused.message_id).toBe('refused-1');
    expect(refused.reason).toMatch(/^database refused the event: .*no_refused/);
  });

  it('stores a time Postgres cannot hold as NULL in its column, keeping the client value in the payload', async () => {
    const job = { events: [queued('far-future', { originalTimestamp: '+275760-09-13T00:00:00.000Z' })], rejected: [] };
    expect(await processEventsJob(job, '1', { store, logger })).toEqual({ stored: 1, duplicates: 0, rejected: 0 });
    expect(await env.db.query("SELECT original_timestamp, payload->>'originalTimestamp' AS sent FROM events")).toEqual([
      { original_timestamp: null, sent: '+275760-09-13T00:00:00.000Z' },
    ]);
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

describe('isolating what Postgres refuses (real Postgres)', () => {
  let env: TestEnv;
  let store: EventStore;
  const deps = () => ({ store, logger });
  // Random, so that TOAST cannot compress it under the btree's limit of about 2,700 bytes.
  const long = () => randomBytes(2500).toString('hex');
  const fromSource = (sourceId: string, workspaceId: string, messageId: string, overrides: Record<string, unknown> = {}): QueuedEvent => ({
    ...queued(messageId, overrides),
    sourceId,
    workspaceId,
  });
  const events = () => env.db.query('SELECT source_id, workspace_id, message_id FROM events ORDER BY source_id, message_id');
  const rejected = () =>
    env.db.query<{ id: string; source_id: string | null; workspace_id: string | null; message_id: string | null; reason: string; event: unknown }>(
      'SELECT id, source_id, workspace_id, message_id, reason, event FROM rejected_events ORDER BY reason, id',
    );
  const queuedCheck = new Validator(QueuedEvent);
  const REFUSED_ID = /^refused:[0-9a-f]{32}$/;

  beforeAll(async () => {
    env = await createTestEnv('events-isolation');
    store = new EventStore(env.db);
  });
  afterAll(() => env.close());
  beforeEach(async () => {
    await env.db.query('TRUNCATE events, event_keys, users, groups, aliases, rejected_events');
  });

  it('stores the good events of a job, from two sources and workspaces, once, beside an event with a 5,000-character messageId', async () => {
    const bad = fromSource('src-a', 'ws-1', long());
    const job = { events: [fromSource('src-a', 'ws-1', 'a-1'), bad, fromSource('src-b', 'ws-2', 'b-1'), fromSource('src-b', 'ws-2', 'b-2')], rejected: [] };
    expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 3, duplicates: 0, rejected: 1 });
    // A retry of the same job changes nothing.
    expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 0, duplicates: 3, rejected: 1 });
    expect(await events()).toEqual([
      { source_id: 'src-a', workspace_id: 'ws-1', message_id: 'a-1' },
      { source_id: 'src-b', workspace_id: 'ws-2', message_id: 'b-1' },
      { source_id: 'src-b', workspace_id: 'ws-2', message_id: 'b-2' },
    ]);
    const rows = await rejected();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source_id: 'src-a', workspace_id: 'ws-1', message_id: bad.event.messageId, event: bad.event });
    // The job schema bounds messageId: the item is malformed, its source and workspace kept.
    expect(queuedCheck.is(bad)).toBe(false);
    expect(rows[0]).toMatchObject({
      id: 'job:events:1:events.1',
      reason: expect.stringMatching(/^malformed events job: events\.1: event\.messageId is longer than 1024 bytes$/),
    });
  });

  it('refuses only the identify whose userId is 5,000 characters (the users key), with its event', async () => {
    const bad = fromSource('src-a', 'ws-1', 'id-bad', { type: 'identify', userId: long(), traits: { plan: 'x' } });
    const job = {
      events: [fromSource('src-a', 'ws-1', 'id-good', { type: 'identify', traits: { plan: 'pro' } }), bad, fromSource('src-b', 'ws-2', 't-1')],
      rejected: [],
    };
    expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 2, duplicates: 0, rejected: 1 });
    expect(await events()).toEqual([
      { source_id: 'src-a', workspace_id: 'ws-1', message_id: 'id-good' },
      { source_id: 'src-b', workspace_id: 'ws-2', message_id: 't-1' },
    ]);
    expect(await env.db.query('SELECT workspace_id, user_id, traits FROM users')).toEqual([{ workspace_id: 'ws-1', user_id: 'u-1', traits: { plan: 'pro' } }]);
    const rows = await rejected();
    expect(rows.map(({ source_id, workspace_id, message_id }) => ({ source_id, workspace_id, message_id }))).toEqual([
      { source_id: 'src-a', workspace_id: 'ws-1', message_id: 'id-bad' },
    ]);
    expect(queuedCheck.is(bad)).toBe(false);
    expect(rows[0].reason).toBe('malformed events job: events.1: event.userId is longer than 1024 bytes');
  });

  it('refuses only the group with a 5,000-character groupId and the alias with such a previousId, each with the database’s reason', async () => {
    const groupId = long();
    const previousId = long();
    const job = {
      events: [
        fromSource('src-a', 'ws-1', 'g-good', { type: 'group', groupId: 'acme', traits: { size: 5 } }),
        fromSource('src-a', 'ws-1', 'g-bad', { type: 'group', groupId }),
        fromSource('src-b', 'ws-2', 'al-bad', { type: 'alias', previousId }),
        fromSource('src-b', 'ws-2', 'al-good', { type: 'alias', previousId: 'anon-1' }),
      ],
      rejected: [],
    };
    expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 2, duplicates: 0, rejected: 2 });
    expect(await events()).toEqual([
      { source_id: 'src-a', workspace_id: 'ws-1', message_id: 'g-good' },
      { source_id: 'src-b', workspace_id: 'ws-2', message_id: 'al-good' },
    ]);
    expect(await env.db.query('SELECT group_id, traits FROM groups')).toEqual([{ group_id: 'acme', traits: { size: 5 } }]);
    expect(await env.db.query('SELECT previous_id, user_id FROM aliases')).toEqual([{ previous_id: 'anon-1', user_id: 'u-1' }]);
    const rows = await rejected();
    expect(
      rows.map(({ id, source_id, message_id, reason }) => ({ id: REFUSED_ID.test(id), source_id, message_id, reason: reason.replace(/\d+/g, 'N') })),
    ).toEqual([
      {
        id: true,
        source_id: 'src-b',
        message_id: 'al-bad',
        reason: 'database refused the event: index row size N exceeds btree version N maximum N for index "aliases_pkey"',
      },
      {
        id: true,
        source_id: 'src-a',
        message_id: 'g-bad',
        reason: 'database refused the event: index row size N exceeds btree version N maximum N for index "groups_pkey"',
      },
    ]);
  });

  it('bisects: several refused rows among many, each in rejected_events, every other event stored', async () => {
    await env.db.query("ALTER TABLE events ADD CONSTRAINT no_refused CHECK (message_id NOT LIKE 'refused%')");
    try {
      const ids = Array.from({ length: 40 }, (_, i) => ([3, 17, 18, 39].includes(i) ? `refused-${i}` : `fine-${i}`));
      const job = { events: ids.map((id, i) => fromSource(i % 2 ? 'src-a' : 'src-b', i % 2 ? 'ws-1' : 'ws-2', id)), rejected: [] };
      expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 36, duplicates: 0, rejected: 4 });
      expect((await env.db.query<{ message_id: string }>('SELECT message_id FROM events ORDER BY message_id')).map((row) => row.message_id)).toEqual(
        ids.filter((id) => id.startsWith('fine')).sort(),
      );
      const rows = await rejected();
      expect(rows.map((row) => row.message_id).sort()).toEqual(['refused-17', 'refused-18', 'refused-3', 'refused-39']);
      // Postgres names the partition the row falls in.
      expect(
        rows.every((row) => /^database refused the event: new row for relation "events_\w+" violates check constraint "no_refused"$/.test(row.reason)),
      ).toBe(true);
    } finally {
      await env.db.query('ALTER TABLE events DROP CONSTRAINT no_refused');
    }
  });

  it('refuses an event whose profile the database refuses, and no other: the profile is written in the event’s savepoint', async () => {
    await env.db.query("ALTER TABLE users ADD CONSTRAINT no_bad_user CHECK (user_id NOT LIKE 'bad%')");
    try {
      const job = {
        events: [
          fromSource('src-a', 'ws-1', 'p-good', { type: 'identify', userId: 'good-user', traits: { a: 1 } }),
          fromSource('src-a', 'ws-1', 'p-bad', { type: 'identify', userId: 'bad-user', traits: { a: 2 } }),
        ],
        rejected: [],
      };
      expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 1, duplicates: 0, rejected: 1 });
      expect(await events()).toEqual([{ source_id: 'src-a', workspace_id: 'ws-1', message_id: 'p-good' }]);
      expect(await env.db.query('SELECT user_id FROM users')).toEqual([{ user_id: 'good-user' }]);
      expect((await rejected()).map((row) => [row.message_id, row.reason])).toEqual([
        ['p-bad', 'database refused the event: new row for relation "users" violates check constraint "no_bad_user"'],
      ]);
    } finally {
      await env.db.query('ALTER TABLE users DROP CONSTRAINT no_bad_user');
    }
  });

  it('keeps a group commit going: one bad event in a group of jobs fails no other job', async () => {
    const groupId = long();
    const outcome = await storeEventsJobs(
      [
        { data: { events: [fromSource('src-a', 'ws-1', 'j1-1')], rejected: [] }, job: { queue: 'events', id: '1' } },
        {
          data: { events: [fromSource('src-b', 'ws-2', 'j2-1'), fromSource('src-b', 'ws-2', 'j2-bad', { type: 'group', groupId })], rejected: [] },
          job: { queue: 'events', id: '2' },
        },
        { data: { events: [fromSource('src-c', 'ws-2', 'j3-1')], rejected: [] }, job: { queue: 'events', id: '3' } },
      ],
      deps(),
    );
    expect(outcome).toEqual({ stored: 3, duplicates: 0, rejected: 1 });
    expect((await events()).map((row) => row.message_id)).toEqual(['j1-1', 'j2-1', 'j3-1']);
    expect((await rejected()).map((row) => row.message_id)).toEqual(['j2-bad']);
  });

  it('keeps a rejected row of the gateway that the database refuses in its minimal form, and stores the rest', async () => {
    const sourceId = long();
    const job = {
      events: [fromSource('src-a', 'ws-1', 'kept')],
      rejected: [
        {
          id: 'rej-ok',
          sourceId: 'src-a',
          workspaceId: 'ws-1',
          reason: 'userId or anonymousId is required',
          event: { type: 'track' },
          receivedAt: '2026-03-01T12:00:00.000Z',
        },
        // Its source_id does not fit the btree of rejected_events' index on (source_id, received_at).
        {
          id: 'rej-long',
          sourceId,
          workspaceId: 'ws-1',
          reason: 'event is too large',
          event: { type: 'track', big: true },
          receivedAt: '2026-03-01T12:00:00.000Z',
        },
      ],
    };
    expect(await processEventsJob(job, '1', deps())).toEqual({ stored: 1, duplicates: 0, rejected: 2 });
    expect(await events()).toEqual([{ source_id: 'src-a', workspace_id: 'ws-1', message_id: 'kept' }]);
    const rows = await env.db.query<{ id: string; source_id: string | null; reason: string; event: unknown; event_size: number }>(
      'SELECT id, source_id, reason, event, event_size FROM rejected_events ORDER BY id',
    );
    expect(rows.map((row) => ({ ...row, reason: row.reason.replace(/\d+/g, 'N') }))).toEqual([
      {
        id: 'rej-long',
        source_id: null,
        reason:
          'event is too large (kept without its event: the database refused the row: index row size N exceeds btree version N maximum N for index "rejected_events_source_id_received_at_idx")',
        event: null,
        event_size: 27,
      },
      { id: 'rej-ok', source_id: 'src-a', reason: 'userId or anonymousId is required', event: { type: 'track' }, event_size: null },
    ]);
  });

  it('splits a malformed job per item: good items stored, each bad item its own row with its source kept', async () => {
    const job = {
      events: [
        fromSource('src-a', 'ws-1', 'ok-1'),
        { sourceId: 'src-b', workspaceId: 'ws-2', event: { ...queued('bad-1').event, userId: 42 } },
        { sourceId: 'src-b', event: queued('bad-2').event },
        'not an item',
        fromSource('src-b', 'ws-2', 'ok-2'),
      ],
      rejected: [
        { id: 'rej-1', sourceId: 'src-a', workspaceId: 'ws-1', reason: 'userId or anonymousId is required', receivedAt: '2026-03-01T12:00:00.000Z' },
        { reason: 42 },
      ],
    };
    expect(await processEventsJob(job, '9', deps())).toEqual({ stored: 2, duplicates: 0, rejected: 5 });
    expect(await events()).toEqual([
      { source_id: 'src-a', workspace_id: 'ws-1', message_id: 'ok-1' },
      { source_id: 'src-b', workspace_id: 'ws-2', message_id: 'ok-2' },
    ]);
    const rows = await env.db.query('SELECT id, source_id, workspace_id, message_id, reason, event IS NOT NULL AS kept FROM rejected_events ORDER BY id');
    expect(rows).toEqual([
      {
        id: 'job:events:9:events.1',
        source_id: 'src-b',
        workspace_id: 'ws-2',
        message_id: 'bad-1',
        reason: expect.stringMatching(/^malformed events job: events\.1: event\.userId /),
        kept: true,
      },
      {
        id: 'job:events:9:events.2',
        source_id: 'src-b',
        workspace_id: null,
        message_id: 'bad-2',
        reason: 'malformed events job: events.2: workspaceId is required',
        kept: true,
      },
      {
        id: 'job:events:9:events.3',
        source_id: null,
        workspace_id: null,
        message_id: null,
        reason: 'malformed events job: events.3: event must be an object',
        kept: true,
      },
      {
        id: 'job:events:9:rejected.1',
        source_id: null,
        workspace_id: null,
        message_id: null,
        reason: 'malformed events job: rejected.1: id is required',
        kept: true,
      },
      { id: 'rej-1', source_id: 'src-a', workspace_id: 'ws-1', message_id: null, reason: 'userId or anonymousId is required', kept: false },
    ]);
  });

  it('stores the next job on a fresh connection whose first transaction failed (the staging table survives the rollback)', async () => {
    for (const fail of [
      (uow: UnitOfWork) => uow.events.insert([toEventRow(queued('rolled-back'))]).then(() => Promise.reject(new Error('the job failed after staging'))),
      (uow: UnitOfWork) =>
        uow.savepoint((inner) => inner.events.insert([toEventRow(queued('rolled-back'))]).then(() => Promise.reject(new Error('the savepoint failed')))),
    ]) {
      const fresh = createDbClient(env.databaseUrl, { max: 1 });
      const freshStore = new EventStore(fresh);
      try {
        await expect(freshStore.transaction(fail)).rejects.toThrow(/failed/);
        // The savepoint case goes on in the same transaction too.
        await freshStore.transaction(async (uow) => {
          await uow
            .savepoint((inner) => inner.events.insert([toEventRow(queued('in-sp'))]).then(() => Promise.reject(new Error('undone'))))
            .catch(() => undefined);
          await uow.events.insert([toEventRow(queued('after-sp'))]);
        });
        expect(await storeEventsJob({ events: [queued('next-job')], rejected: [] }, { queue: 'events', id: '2' }, { store: freshStore, logger })).toEqual({
          stored: 1,
          duplicates: 0,
          rejected: 0,
        });
      } finally {
        await fresh.close();
      }
      expect((await env.db.query<{ message_id: string }>('SELECT message_id FROM events ORDER BY message_id')).map((row) => row.message_id)).toEqual([
        'after-sp',
        'next-job',
      ]);
      await env.db.query('TRUNCATE events, event_keys');
    }
  });
});
