import { randomUUID } from 'node:crypto';
import { createDbClient, type DbClient } from '../client';
import { dropDatabase, migrate } from '../migrate';
import { EventStore } from '../unit-of-work';
import type { EventRow } from '../writers/events.writer';
import { EventPartitionsRepository, type EventPartition } from './event-partitions.repository';

function scratchUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/evt_test_partitions_${randomUUID().slice(0, 8)}`;
  return url.toString();
}

function eventRow(messageId: string, receivedAt: string, sourceId = 'src-1'): EventRow {
  return {
    workspaceId: 'ws-1',
    sourceId,
    messageId,
    type: 'track',
    userId: 'u-1',
    anonymousId: null,
    rudderId: null,
    event: 'Order Completed',
    name: null,
    receivedAt,
    sentAt: null,
    originalTimestamp: null,
    timestamp: null,
    requestIp: null,
    payload: { messageId },
  };
}

const ranges = (partitions: EventPartition[]) => partitions.map(({ name, from, to }) => ({ name, from, to }));

describe('the partitions of events (real Postgres)', () => {
  const databaseUrl = scratchUrl();
  let db: DbClient;
  let partitions: EventPartitionsRepository;
  let store: EventStore;
  const insert = (rows: EventRow[]) => store.transaction((uow) => uow.events.insert(rows));
  const where = (messageId: string) =>
    db.query('SELECT message_id, tableoid::regclass::text AS partition FROM events WHERE message_id = $1 ORDER BY received_at', [messageId]);

  beforeAll(async () => {
    await migrate(databaseUrl);
    db = createDbClient(databaseUrl, { max: 4 });
    partitions = new EventPartitionsRepository(db);
    store = new EventStore(db);
  });
  afterAll(async () => {
    await db.close();
    await dropDatabase(databaseUrl);
  });

  it('creates the current month and the next ones, once, named after their month, from where the cut-over partition ends', async () => {
    const [legacy] = await partitions.list();
    const now = new Date(legacy.to as string);
    const next = (months: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + months, 1)).toISOString();
    const name = (months: number) => `events_${next(months).slice(0, 4)}_${next(months).slice(5, 7)}`;
    const made = await partitions.maintain({ interval: 'month', ahead: 2, dedupWindowDays: 30, now });
    // The current month begins at the cut-over: events_legacy holds what came before.
    expect(made).toEqual({
      created: [
        { name: name(0), isDefault: false, from: legacy.to, to: next(1), rowsEstimate: null },
        { name: name(1), isDefault: false, from: next(1), to: next(2), rowsEstimate: null },
        { name: name(2), isDefault: false, from: next(2), to: next(3), rowsEstimate: null },
      ],
      movedFromDefault: 0,
      expiredKeys: 0,
    });
    expect(await partitions.maintain({ interval: 'month', ahead: 2, dedupWindowDays: 30, now })).toEqual({ created: [], movedFromDefault: 0, expiredKeys: 0 });
    expect(ranges(await partitions.list())).toEqual([
      { name: 'events_legacy', from: null, to: legacy.to },
      ...(made?.created ?? []).map(({ name, from, to }) => ({ name, from, to })),
      { name: 'events_default', from: null, to: null },
    ]);
  });

  it('creates daily partitions, and moves the rows the default partition holds for a new one into it', async () => {
    await insert([
      eventRow('early-1', '2031-03-02T08:00:00.000Z'),
      eventRow('early-2', '2031-03-03T23:59:59.999Z'),
      eventRow('later', '2031-03-09T00:00:00.000Z'),
    ]);
    expect(await where('early-1')).toEqual([{ message_id: 'early-1', partition: 'events_default' }]);

    const made = await partitions.maintain({ interval: 'day', ahead: 2, dedupWindowDays: 30, now: new Date('2031-03-02T17:00:00.000Z') });
    expect(made).toEqual({
      created: [
        { name: 'events_2031_03_02', isDefault: false, from: '2031-03-02T00:00:00.000Z', to: '2031-03-03T00:00:00.000Z', rowsEstimate: null },
        { name: 'events_2031_03_03', isDefault: false, from: '2031-03-03T00:00:00.000Z', to: '2031-03-04T00:00:00.000Z', rowsEstimate: null },
        { name: 'events_2031_03_04', isDefault: false, from: '2031-03-04T00:00:00.000Z', to: '2031-03-05T00:00:00.000Z', rowsEstimate: null },
      ],
      movedFromDefault: 2,
      expiredKeys: 0,
    });
    expect(await where('early-1')).toEqual([{ message_id: 'early-1', partition: 'events_2031_03_02' }]);
    expect(await where('early-2')).toEqual([{ message_id: 'early-2', partition: 'events_2031_03_03' }]);
    expect(await where('later')).toEqual([{ message_id: 'later', partition: 'events_default' }]);
    // A partition made by moving rows has the parent's keys as one made empty does.
    expect(await db.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'events_2031_03_02'")).toEqual([
      { indexdef: 'CREATE UNIQUE INDEX events_2031_03_02_pkey ON public.events_2031_03_02 USING btree (source_id, received_at, id)' },
    ]);
  });

  it('lets one of several workers maintain at a time, and none fails', async () => {
    const now = new Date('2032-07-10T00:00:00.000Z');
    const results = await Promise.all([1, 2, 3, 4].map(() => partitions.maintain({ interval: 'month', ahead: 1, dedupWindowDays: 30, now })));
    const created = results.flatMap((result) => result?.created ?? []).map((partition) => partition.name);
    expect(created).toEqual(['events_2032_07', 'events_2032_08']);
  });

  it('keeps exactly one row of an event whose two deliveries fall into two partitions', async () => {
    await partitions.maintain({ interval: 'day', ahead: 1, dedupWindowDays: 30, now: new Date('2033-01-31T12:00:00.000Z') });
    expect(await insert([eventRow('retried', '2033-01-31T23:59:59.000Z')])).toEqual({ inserted: 1, profileKeys: [] });
    // The retry, received the next day (another partition), among new events: those are stored, the retry is not.
    expect(await insert([eventRow('fresh-1', '2033-02-01T00:00:01.000Z'), eventRow('retried', '2033-02-01T00:00:01.000Z')])).toEqual({
      inserted: 1,
      profileKeys: [],
    });
    expect(await where('retried')).toEqual([{ message_id: 'retried', partition: 'events_2033_01_31' }]);
    expect(await where('fresh-1')).toEqual([{ message_id: 'fresh-1', partition: 'events_2033_02_01' }]);
    // Another source's event of the same messageId is its own event.
    expect(await insert([eventRow('retried', '2033-02-01T00:00:02.000Z', 'src-2')])).toEqual({ inserted: 1, profileKeys: [] });
  });

  it('forgets the keys first received before the dedup window, in batches; a delivery after that is stored again', async () => {
    await db.query(
      `INSERT INTO event_keys (source_id, message_id, received_at)
       SELECT 'src-old', 'old-' || n, timestamptz '2034-01-01T00:00:00Z' + n * interval '1 second' FROM generate_series(1, 25000) n`,
    );
    await insert([eventRow('window', '2034-01-20T00:00:00.000Z')]);
    const now = new Date('2034-01-27T00:00:00.000Z');
    // 7 days before `now` is 2034-01-20: the 25,000 older keys (and those of the tests before) go, the key received at that very moment stays.
    const [older] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM event_keys WHERE received_at < '2034-01-20T00:00:00Z'");
    expect(older.n).toBeGreaterThan(25_000);
    expect(await partitions.maintain({ interval: 'month', ahead: 0, dedupWindowDays: 7, now })).toEqual({
      created: [expect.objectContaining({ name: 'events_2034_01' })],
      movedFromDefault: 1,
      expiredKeys: older.n,
    });
    expect(await db.query('SELECT message_id FROM event_keys')).toEqual([{ message_id: 'window' }]);
    expect(await insert([eventRow('window', '2034-01-26T00:00:00.000Z')])).toEqual({ inserted: 0, profileKeys: [] });
    await partitions.maintain({ interval: 'month', ahead: 0, dedupWindowDays: 7, now: new Date('2034-01-28T00:00:00.000Z') });
    expect(await insert([eventRow('window', '2034-01-28T00:00:00.000Z')])).toEqual({ inserted: 1, profileKeys: [] });
    expect((await where('window')).length).toBe(2);
  });

  it('prunes the partitions that end before a moment, whole, and never the default one; a dry run drops nothing', async () => {
    await db.query('ANALYZE events');
    const before = await partitions.list();
    const cutoff = new Date('2031-03-04T00:00:00.000Z');
    const old = before.filter((partition) => partition.to !== null && Date.parse(partition.to) <= cutoff.getTime());
    const month = expect.stringMatching(/^events_\d{4}_\d{2}$/);
    expect(old.map((partition) => partition.name)).toEqual(['events_legacy', month, month, month, 'events_2031_03_02', 'events_2031_03_03']);
    expect(old.find((partition) => partition.name === 'events_2031_03_02')?.rowsEstimate).toBe(1);

    expect(await partitions.prune({ before: cutoff, dryRun: true })).toEqual(old);
    expect(await partitions.list()).toEqual(before);

    expect(await partitions.prune({ before: cutoff })).toEqual(old);
    expect(await partitions.list()).toEqual(before.filter((partition) => !old.includes(partition)));
    expect(await where('early-1')).toEqual([]);
    expect(await where('later')).toEqual([{ message_id: 'later', partition: 'events_default' }]);
    expect(await partitions.prune({ before: cutoff })).toEqual([]);
  });

  it('gives every unique index and key of events, its partitions and event_keys source_id, the column Citus would distribute by', async () => {
    const indexes = await db.query<{ table: string; index: string; columns: string[] }>(
      `SELECT c.relname AS table, i.relname AS index, array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE x.indisunique
          AND (c.oid IN ('events'::regclass, 'event_keys'::regclass) OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass))
        GROUP BY c.relname, i.relname ORDER BY c.relname`,
    );
    const tables = (await partitions.list()).map((partition) => partition.name);
    expect(indexes.map((index) => index.table).sort()).toEqual(['event_keys', 'events', ...tables].sort());
    for (const index of indexes)
      expect({ index: index.index, columns: index.columns }).toEqual({ index: index.index, columns: expect.arrayContaining(['source_id']) });
    expect(indexes.find((index) => index.table === 'event_keys')?.columns).toEqual(['source_id', 'message_id']);
    expect(indexes.find((index) => index.table === 'events')?.columns).toEqual(['source_id', 'received_at', 'id']);

    const constraints = await db.query<{ table: string; name: string; definition: string }>(
      `SELECT k.conrelid::regclass::text AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
         FROM pg_constraint k
        WHERE k.contype IN ('p', 'u', 'x')
          AND (k.conrelid IN ('events'::regclass, 'event_keys'::regclass) OR k.conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'events'::regclass))`,
    );
    expect(constraints.length).toBe(indexes.length);
    for (const constraint of constraints) expect(constraint.definition).toMatch(/^PRIMARY KEY \(source_id, /);
  });
});
