import { randomBytes } from 'node:crypto';
import { EventStore } from '@evt/db';
import { createLogger } from '@evt/logging';
import { createTestEnv, type TestEnv } from '@evt/testing';
import { AudienceListItem, RetlItem, Validator, type AudienceListJob, type RetlJob } from '@evt/schemas';
import { processAudienceListJob } from './audiencelist.processor';
import { foldRecordWrites, processRetlJob } from './retl.processor';

const logger = createLogger('internal-processors-test', 'silent');

function record(recordId: string, action: RetlItem['action'], fields: Record<string, unknown>, sequence: number, index = 0): RetlItem {
  return {
    sourceId: 's',
    workspaceId: 'w',
    destinationId: 'd',
    recordId,
    action,
    fields,
    messageId: `m-${sequence}-${index}`,
    receivedAt: '2026-01-01T00:00:00.000Z',
    sequence,
    index,
  };
}

describe('internal worker processors (real Postgres)', () => {
  let env: TestEnv;
  let store: EventStore;
  beforeAll(async () => {
    env = await createTestEnv('internal-processors');
    store = new EventStore(env.db);
  });
  afterAll(() => env.close());
  beforeEach(() => env.db.query('TRUNCATE retl_records, audience_members, rejected_events'));

  const retlRows = () => env.db.query('SELECT record_id, fields, deleted, last_action FROM retl_records ORDER BY record_id');
  const rejectedRows = () =>
    env.db.query<{ id: string; source_id: string | null; workspace_id: string | null; message_id: string | null; reason: string }>(
      'SELECT id, source_id, workspace_id, message_id, reason FROM rejected_events ORDER BY message_id, id',
    );
  // Random, so that TOAST cannot compress it under the btree's limit of about 2,700 bytes.
  const long = () => randomBytes(2500).toString('hex');
  const members = () => env.db.query("SELECT member->>'EMAIL' AS email, present FROM audience_members ORDER BY 1");

  describe('retl', () => {
    it('folds a record’s writes in order: insert then update replaces and merges; update alone merges; delete flags', () => {
      expect(foldRecordWrites([record('r', 'insert', { a: 1 }, 1), record('r', 'update', { b: 2 }, 1, 1)])).toMatchObject({
        mode: 'replace',
        fields: { a: 1, b: 2 },
        lastAction: 'update',
      });
      expect(foldRecordWrites([record('r', 'update', { a: 1 }, 1), record('r', 'update', { b: 2 }, 2)])).toMatchObject({
        mode: 'merge',
        fields: { a: 1, b: 2 },
        sequence: 2,
      });
      expect(foldRecordWrites([record('r', 'insert', { a: 1 }, 1), record('r', 'delete', {}, 2)])).toMatchObject({ mode: 'delete', lastAction: 'delete' });
      expect(foldRecordWrites([record('r', 'delete', {}, 1), record('r', 'update', { c: 3 }, 2)])).toMatchObject({ mode: 'replace', fields: { c: 3 } });
    });

    it('leaves the same rows when a job runs twice, and an older job run late changes nothing', async () => {
      const older: RetlJob = { records: [record('r1', 'insert', { name: 'old' }, 100), record('r2', 'insert', { name: 'two' }, 100, 1)], rejected: [] };
      const newer: RetlJob = { records: [record('r1', 'update', { name: 'new' }, 200), record('r2', 'delete', {}, 200, 1)], rejected: [] };
      await processRetlJob(newer, '2', { store, logger });
      const afterNewer = await retlRows();
      await processRetlJob(newer, '2', { store, logger });
      expect(await retlRows()).toEqual(afterNewer);
      await processRetlJob(older, '1', { store, logger });
      expect(await retlRows()).toEqual(afterNewer);
      expect(afterNewer).toEqual([
        { record_id: 'r1', fields: { name: 'new' }, deleted: false, last_action: 'update' },
        { record_id: 'r2', fields: {}, deleted: true, last_action: 'delete' },
      ]);
    });

    it('sets a malformed item aside in rejected_events and stores the others', async () => {
      expect(await processRetlJob({ records: [{ recordId: 'x' }, record('r1', 'insert', { a: 1 }, 1)], rejected: [] }, '9', { store, logger })).toEqual({
        records: 1,
        rejected: 1,
      });
      expect(await env.db.query('SELECT id, reason FROM rejected_events')).toEqual([
        { id: 'job:retl:9:records.0', reason: 'malformed retl job: records.0: sourceId is required' },
      ]);
      expect(await retlRows()).toEqual([{ record_id: 'r1', fields: { a: 1 }, deleted: false, last_action: 'insert' }]);
    });

    it('stores another source’s records beside a record with a 5,000-character recordId; the refused one goes to rejected_events', async () => {
      const bad = { ...record(long(), 'insert', { name: 'bad' }, 1, 1), sourceId: 's-bad', workspaceId: 'w-bad' };
      const job = {
        records: [record('r1', 'insert', { name: 'one' }, 1), bad, { ...record('r2', 'insert', { name: 'two' }, 1, 2), sourceId: 's2', workspaceId: 'w2' }],
        rejected: [],
      };
      expect(await processRetlJob(job, '1', { store, logger })).toEqual({ records: 2, rejected: 1 });
      expect(await env.db.query('SELECT source_id, record_id, fields FROM retl_records ORDER BY source_id')).toEqual([
        { source_id: 's', record_id: 'r1', fields: { name: 'one' } },
        { source_id: 's2', record_id: 'r2', fields: { name: 'two' } },
      ]);
      const [row, ...more] = await rejectedRows();
      expect(more).toEqual([]);
      expect(row).toMatchObject({ source_id: 's-bad', workspace_id: 'w-bad', message_id: bad.messageId });
      // The job schema bounds recordId: the item is malformed, its source and workspace kept.
      expect(new Validator(RetlItem).is(bad)).toBe(false);
      expect(row).toMatchObject({ id: 'job:retl:1:records.1', reason: 'malformed retl job: records.1: recordId is longer than 1024 bytes' });
    });

    it('bisects the folded record writes: each record Postgres refuses goes to rejected_events with its reason', async () => {
      const job = {
        records: [
          record('r1', 'insert', { a: 1 }, 1),
          { ...record('r2', 'insert', {}, 1, 1), receivedAt: 'not a time' },
          record('r3', 'update', { c: 3 }, 1, 2),
          { ...record('r4', 'delete', {}, 1, 3), receivedAt: 'yesterday-ish' },
        ],
        rejected: [],
      };
      expect(await processRetlJob(job, '1', { store, logger })).toEqual({ records: 2, rejected: 2 });
      expect((await retlRows()).map((row) => row.record_id)).toEqual(['r1', 'r3']);
      const rows = await rejectedRows();
      expect(rows.map((row) => [row.id.replace(/[0-9a-f]{32}$/, 'HASH'), row.message_id, row.reason])).toEqual([
        ['refused:HASH', 'm-1-1', 'database refused the record: invalid input syntax for type timestamp with time zone: "not a time"'],
        ['refused:HASH', 'm-1-3', 'database refused the record: invalid input syntax for type timestamp with time zone: "yesterday-ish"'],
      ]);
    });
  });

  describe('audiencelist', () => {
    const list = (sequence: number, add: string[], remove: string[]): AudienceListJob['lists'][number] => ({
      sourceId: 's',
      workspaceId: 'w',
      audienceId: 'a',
      messageId: `m-${sequence}`,
      receivedAt: '2026-01-01T00:00:00.000Z',
      sequence,
      add: add.map((email) => ({ EMAIL: email })),
      remove: remove.map((email) => ({ EMAIL: email })),
    });

    it('applies adds then removes, requests in order, whatever order they sit in the job', async () => {
      const job: AudienceListJob = { lists: [list(2, ['c'], ['a']), list(1, ['a', 'b'], ['b'])], rejected: [] };
      await processAudienceListJob(job, '1', { store, logger });
      expect(await members()).toEqual([
        { email: 'a', present: false },
        { email: 'b', present: false },
        { email: 'c', present: true },
      ]);
    });

    it('is idempotent when a job runs twice, and an older job run late changes nothing', async () => {
      const newer: AudienceListJob = { lists: [list(20, ['x'], ['y'])], rejected: [] };
      const older: AudienceListJob = { lists: [list(10, ['y'], ['x'])], rejected: [] };
      await processAudienceListJob(newer, '2', { store, logger });
      await processAudienceListJob(newer, '2', { store, logger });
      await processAudienceListJob(older, '1', { store, logger });
      expect(await members()).toEqual([
        { email: 'x', present: true },
        { email: 'y', present: false },
      ]);
    });

    it('stores the other lists beside a list with a 5,000-character audienceId; the refused one goes to rejected_events', async () => {
      const bad = { ...list(2, ['x', 'y'], []), audienceId: long(), sourceId: 's-bad' };
      const job = { lists: [list(1, ['a'], []), bad, { ...list(3, ['b'], []), sourceId: 's2', audienceId: 'other' }], rejected: [] };
      expect(await processAudienceListJob(job, '1', { store, logger })).toEqual({ members: 2, rejected: 1 });
      expect(await env.db.query("SELECT source_id, audience_id, member->>'EMAIL' AS email FROM audience_members ORDER BY source_id")).toEqual([
        { source_id: 's', audience_id: 'a', email: 'a' },
        { source_id: 's2', audience_id: 'other', email: 'b' },
      ]);
      const [row, ...more] = await rejectedRows();
      expect(more).toEqual([]);
      expect(row).toMatchObject({ source_id: 's-bad', workspace_id: 'w', message_id: 'm-2' });
      expect(new Validator(AudienceListItem).is(bad)).toBe(false);
      expect(row).toMatchObject({ id: 'job:audiencelist:1:lists.1', reason: 'malformed audiencelist job: lists.1: audienceId is longer than 1024 bytes' });
    });

    it('isolates a list Postgres refuses: one rejected row per request that wrote to it, the other lists stored', async () => {
      await env.db.query("ALTER TABLE audience_members ADD CONSTRAINT no_refused CHECK (audience_id NOT LIKE 'refused%')");
      try {
        const job = {
          lists: [
            list(1, ['a'], []),
            { ...list(2, ['r1'], []), audienceId: 'refused-list' },
            { ...list(3, [], ['r1']), audienceId: 'refused-list' },
            { ...list(4, ['c'], []), audienceId: 'z' },
          ],
          rejected: [],
        };
        expect(await processAudienceListJob(job, '1', { store, logger })).toEqual({ members: 2, rejected: 2 });
        expect(await env.db.query("SELECT audience_id, member->>'EMAIL' AS email FROM audience_members ORDER BY audience_id")).toEqual([
          { audience_id: 'a', email: 'a' },
          { audience_id: 'z', email: 'c' },
        ]);
        expect((await rejectedRows()).map((row) => [row.message_id, row.reason])).toEqual([
          ['m-2', 'database refused the audience list: new row for relation "audience_members" violates check constraint "no_refused"'],
          ['m-3', 'database refused the audience list: new row for relation "audience_members" violates check constraint "no_refused"'],
        ]);
      } finally {
        await env.db.query('ALTER TABLE audience_members DROP CONSTRAINT no_refused');
      }
    });

    it('keeps one rejected row per part of a large refused list (parts share the request’s sequence)', async () => {
      await env.db.query("ALTER TABLE audience_members ADD CONSTRAINT no_refused CHECK (audience_id NOT LIKE 'refused%')");
      try {
        const part = (add: string[], addOffset: number) => ({ ...list(5, add, []), audienceId: 'refused-list', addOffset });
        expect(await processAudienceListJob({ lists: [part(['p1'], 0), part(['p2'], 1)], rejected: [] }, '1', { store, logger })).toEqual({
          members: 0,
          rejected: 2,
        });
        const rows = await rejectedRows();
        expect(rows.map((row) => row.message_id)).toEqual(['m-5', 'm-5']);
        expect(new Set(rows.map((row) => row.id)).size).toBe(2);
      } finally {
        await env.db.query('ALTER TABLE audience_members DROP CONSTRAINT no_refused');
      }
    });

    it('treats members with the same identifiers in another key order as one member', async () => {
      const job: AudienceListJob = {
        lists: [
          { ...list(1, [], []), add: [{ EMAIL: 'k', PHONE: '1' }] },
          { ...list(2, [], []), remove: [{ PHONE: '1', EMAIL: 'k' }] },
        ],
        rejected: [],
      };
      await processAudienceListJob(job, '1', { store, logger });
      expect(await env.db.query('SELECT present FROM audience_members')).toEqual([{ present: false }]);
    });
  });
});
