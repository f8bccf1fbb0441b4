import { getTableColumns } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { events, retlRecords, users } from '../schema';
import { EVENT_COLUMNS } from './events.writer';
import { insertFromJson } from './statements';

const render = (query: Parameters<PgDialect['sqlToQuery']>[0]) => new PgDialect().sqlToQuery(query);

describe('insertFromJson', () => {
  it('names and types the columns from schema.ts, and passes the rows as one jsonb parameter', () => {
    const query = render(
      insertFromJson(
        retlRecords,
        ['recordId', 'fields', 'deleted', 'receivedAt', 'sequence', 'sequenceIndex'],
        [{ recordId: 'r1', fields: { a: 1 }, deleted: false, receivedAt: '2026-01-01T00:00:00.000Z', sequence: 1, sequenceIndex: 0 }],
      ),
    );
    expect(query.sql).toBe(
      'INSERT INTO "retl_records" ("record_id", "fields", "deleted", "received_at", "sequence", "sequence_index") ' +
        'SELECT "record_id", "fields", "deleted", "received_at", "sequence", "sequence_index" FROM jsonb_to_recordset($1::jsonb) ' +
        'AS r("record_id" text, "fields" jsonb, "deleted" boolean, "received_at" timestamp with time zone, "sequence" bigint, "sequence_index" integer)',
    );
    expect(JSON.parse(query.params[0] as string)).toEqual([
      { record_id: 'r1', fields: { a: 1 }, deleted: false, received_at: '2026-01-01T00:00:00.000Z', sequence: 1, sequence_index: 0 },
    ]);
  });

  it('sends a missing value as null, and what jsonb cannot hold as U+FFFD', () => {
    const query = render(insertFromJson(users, ['userId', 'anonymousId', 'traits'], [{ userId: 'u\u0000', anonymousId: undefined, traits: {} }]));
    expect(JSON.parse(query.params[0] as string)).toEqual([{ user_id: 'u\ufffd', anonymous_id: null, traits: {} }]);
  });
});

describe('the events COPY columns', () => {
  it('are the columns of events in schema.ts, but those the database fills', () => {
    const columns = Object.values(getTableColumns(events)).map((column) => column.name);
    expect(EVENT_COLUMNS).toEqual(columns.filter((name) => name !== 'id' && name !== 'stored_at'));
  });
});
