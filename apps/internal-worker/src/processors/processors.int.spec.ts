import { EventStore } from '@evt/db';
import { createLogger } from '@evt/logging';
import { createTestEnv, type TestEnv } from '@evt/testing';
import type { AudienceListJob, RetlItem, RetlJob } from '@evt/schemas';
import { processAudienceListJob } from './audiencelist.processor';
import { foldRecordWrites, processRetlJob } from './retl.processor';

const logger = createLogger('internal-processors-test', 'silent');

function record(recordId: string, action: RetlItem['action'], fields: Record<string, unknown>, sequence: number, index = 0): RetlItem {
  return { sourceId: 's', workspaceId: 'w', destinationId: 'd', recordId, action, fields, messageId: `m-${sequence}-${index}`, receivedAt: '2026-01-01T00:00:00.000Z', sequence, index };
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
  const members = () => env.db.query("SELECT member->>'EMAIL' AS email, present FROM audience_members ORDER BY 1");

  describe('retl', () => {
    it('folds a record’s writes in order: insert then update replaces and merges; update alone merges; delete flags', () => {
      expect(foldRecordWrites([record('r', 'insert', { a: 1 }, 1), record('r', 'update', { b: 2 }, 1, 1)])).toMatchObject({ mode: 'replace', fields: { a: 1, b: 2 }, lastAction: 'update' });
      expect(foldRecordWrites([record('r', 'update', { a: 1 }, 1), record('r', 'update', { b: 2 }, 2)])).toMatchObject({ mode: 'merge', fields: { a: 1, b: 2 }, sequence: 2 });
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

    it('sets a malformed job aside in rejected_events', async () => {
      expect(await processRetlJob({ records: [{ recordId: 'x' }], rejected: [] }, '9', { store, logger })).toEqual({ records: 0, rejected: 1 });
      expect(await env.db.query('SELECT id, reason FROM rejected_events')).toEqual([{ id: 'job:retl:9', reason: 'malformed retl job: records.0.sourceId is required' }]);
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

    it('treats members with the same identifiers in another key order as one member', async () => {
      const job: AudienceListJob = { lists: [{ ...list(1, [], []), add: [{ EMAIL: 'k', PHONE: '1' }] }, { ...list(2, [], []), remove: [{ PHONE: '1', EMAIL: 'k' }] }], rejected: [] };
      await processAudienceListJob(job, '1', { store, logger });
      expect(await env.db.query('SELECT present FROM audience_members')).toEqual([{ present: false }]);
    });
  });
});
