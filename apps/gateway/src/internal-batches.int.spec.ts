import { basicAuth, createDestination, createSource } from '@evt/testing';
import type { Destination, Source } from '@evt/db';
import { postJson, startStack, type Stack } from './test-support/harness';

// The internal API (README, The internal API): the rows of rETL, replay and pre-enriched batches, and
// idempotency when the same request is delivered twice.
describe('internal API: rETL, replay and pre-enriched batches', () => {
  let stack: Stack;
  let events: Source;
  let replay: Source;
  let retl: Source;
  let destination: Destination;
  let disabledDestination: Destination;

  beforeAll(async () => {
    stack = await startStack('internal-batches', { MAX_REQUEST_SIZE: '100KB' }, { internalWorker: true });
    events = await createSource(stack.env);
    replay = await createSource(stack.env, { kind: 'replay', originalSourceId: events.id });
    retl = await createSource(stack.env, { kind: 'retl' });
    destination = await createDestination(stack.env, retl.id);
    disabledDestination = await createDestination(stack.env, retl.id, { enabled: false });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.url, path, body, headers);
  const bySourceId = (id: string) => ({ Authorization: basicAuth(id) });

  describe('POST /internal/v1/retl', () => {
    const records = () =>
      stack.env.db.query(
        'SELECT destination_id, record_id, fields, deleted, last_action FROM retl_records WHERE source_id = $1 ORDER BY destination_id, record_id',
        [retl.id],
      );

    it('answers 400 for an unknown X-Rudder-Destination-Id and 404 for a disabled one', async () => {
      const batch = { batch: [{ type: 'record', recordId: '1', action: 'insert', fields: {} }] };
      expect(await post('/internal/v1/retl', batch, { ...bySourceId(retl.id), 'X-Rudder-Destination-Id': 'nope' })).toMatchObject({
        status: 400,
        body: 'Invalid request: unknown destination nope',
      });
      expect(await post('/internal/v1/retl', batch, { ...bySourceId(retl.id), 'X-Rudder-Destination-Id': disabledDestination.id })).toMatchObject({
        status: 404,
        body: 'Destination is disabled',
      });
    });

    it('upserts records by (source, destination, record id), honouring insert, update and delete', async () => {
      const headers = { ...bySourceId(retl.id), 'X-Rudder-Destination-Id': destination.id };
      const first = {
        batch: [
          { type: 'record', recordId: 'r1', action: 'insert', fields: { name: 'Ada', plan: 'free' } },
          { type: 'record', recordId: 'r2', action: 'insert', fields: { name: 'Bob' } },
          { type: 'record', recordId: 'r3', action: 'insert', fields: { name: 'Cy' } },
          { type: 'record', action: 'insert', fields: {} },
        ],
      };
      expect(await post('/internal/v1/retl', first, headers)).toMatchObject({ status: 200, body: 'OK' });
      await stack.rows('SELECT 1 FROM retl_records WHERE source_id = $1', [retl.id], 3);
      const second = {
        batch: [
          { type: 'record', recordId: 'r1', action: 'update', fields: { plan: 'pro' } },
          { type: 'record', recordId: 'r2', action: 'delete', fields: {} },
          { type: 'record', recordId: 'r4', action: 'update', fields: { name: 'Di' } },
          { type: 'identify', userId: 'u-9', messageId: 'retl-identify', traits: { name: 'Eve' } },
        ],
      };
      expect(await post('/internal/v1/retl', second, headers)).toMatchObject({ status: 200, body: 'OK' });
      await stack.rows("SELECT 1 FROM retl_records WHERE source_id = $1 AND record_id = 'retl-identify'", [retl.id], 1);
      const expected = [
        { destination_id: destination.id, record_id: 'r1', fields: { name: 'Ada', plan: 'pro' }, deleted: false, last_action: 'update' },
        { destination_id: destination.id, record_id: 'r2', fields: { name: 'Bob' }, deleted: true, last_action: 'delete' },
        { destination_id: destination.id, record_id: 'r3', fields: { name: 'Cy' }, deleted: false, last_action: 'insert' },
        { destination_id: destination.id, record_id: 'r4', fields: { name: 'Di' }, deleted: false, last_action: 'update' },
        { destination_id: destination.id, record_id: 'retl-identify', fields: { name: 'Eve' }, deleted: false, last_action: 'insert' },
      ];
      expect(await records()).toEqual(expected);
      const [rejected] = await stack.rows<{ reason: string }>('SELECT reason FROM rejected_events WHERE source_id = $1', [retl.id], 1);
      expect(rejected.reason).toBe('recordId is required');

      // The same request delivered again (a client retry after a lost answer) changes nothing.
      expect(await post('/internal/v1/retl', second, headers)).toMatchObject({ status: 200 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await records()).toEqual(expected);
    });

    it('keys a record without recordId (absent or null) by its messageId, and rejects one without either', async () => {
      const keyless = await createSource(stack.env, { kind: 'retl' });
      const keylessDestination = await createDestination(stack.env, keyless.id);
      await stack.gateway.sources.refresh();
      const headers = { ...bySourceId(keyless.id), 'X-Rudder-Destination-Id': keylessDestination.id };
      const batch = [
        { type: 'record', messageId: 'rec-by-message', action: 'insert', fields: { name: 'Ann' } },
        { type: 'record', recordId: null, messageId: 'rec-null-id', action: null, fields: null, context: null },
        { type: 'record', recordId: 'rec-own', messageId: 'rec-own-message', fields: { name: 'Own' } },
        { type: 'record', action: 'insert', fields: { name: 'Nobody' }, context: { sources: { job_id: 'j1' } } },
      ];
      expect(await post('/internal/v1/retl', { batch }, headers)).toMatchObject({ status: 200, body: 'OK' });
      const rows = await stack.rows<{ record_id: string; fields: unknown; deleted: boolean; last_action: string }>(
        'SELECT record_id, fields, deleted, last_action FROM retl_records WHERE source_id = $1 ORDER BY record_id',
        [keyless.id],
        3,
      );
      expect(rows).toEqual([
        { record_id: 'rec-by-message', fields: { name: 'Ann' }, deleted: false, last_action: 'insert' },
        { record_id: 'rec-null-id', fields: {}, deleted: false, last_action: 'insert' },
        { record_id: 'rec-own', fields: { name: 'Own' }, deleted: false, last_action: 'insert' },
      ]);
      const rejected = await stack.rows<{ reason: string; message_id: string | null; event: unknown }>(
        'SELECT reason, message_id, event FROM rejected_events WHERE source_id = $1',
        [keyless.id],
        1,
      );
      expect(rejected).toEqual([{ reason: 'recordId is required', message_id: null, event: batch[3] }]);

      // Alone, such a record is a 400 with the reason.
      expect(await post('/internal/v1/retl', { batch: [{ type: 'record', recordId: null, messageId: null, fields: {} }] }, headers)).toMatchObject({
        status: 400,
        body: 'Invalid request: recordId is required',
      });
    });

    it('answers 400 with the first reason when every record is invalid', async () => {
      expect(await post('/internal/v1/retl', { batch: [{ type: 'record', fields: {} }] }, bySourceId(retl.id))).toMatchObject({
        status: 400,
        body: 'Invalid request: recordId is required',
      });
      expect(await post('/internal/v1/retl', { batch: [] }, bySourceId(retl.id))).toMatchObject({ status: 400, body: 'Invalid request: batch is empty' });
      expect(await post('/internal/v1/retl', { records: [] }, bySourceId(retl.id))).toMatchObject({
        status: 400,
        body: 'Invalid request: batch must be an array',
      });
    });
  });

  describe('POST /internal/v1/replay', () => {
    it('stores events under the original source with their original receivedAt; replaying twice adds nothing', async () => {
      const archive = {
        batch: [
          {
            type: 'track',
            userId: 'u-r',
            event: 'Archived',
            messageId: 'replay-1',
            receivedAt: '2025-01-02T03:04:05.678Z',
            request_ip: '198.51.100.7',
            originalTimestamp: '2025-01-02T03:04:00.000Z',
            sentAt: '2025-01-02T03:04:01.000Z',
          },
          { type: 'identify', userId: 'u-r', messageId: 'replay-2', receivedAt: '2025-01-02T03:05:00.000Z', traits: { plan: 'gold' } },
        ],
      };
      expect(await post('/internal/v1/replay', archive, { 'X-Rudder-Source-Id': replay.id })).toMatchObject({ status: 200, body: 'OK' });
      expect(await post('/internal/v1/replay', archive, { 'X-Rudder-Source-Id': replay.id })).toMatchObject({ status: 200, body: 'OK' });
      const rows = await stack.rows(
        `SELECT source_id, message_id, to_json(received_at)#>>'{}' AS received_at, request_ip, payload->>'receivedAt' AS payload_received_at
         FROM events WHERE message_id LIKE 'replay-%' ORDER BY message_id`,
        [],
        2,
      );
      expect(rows).toEqual([
        {
          source_id: events.id,
          message_id: 'replay-1',
          received_at: '2025-01-02T03:04:05.678+00:00',
          request_ip: '198.51.100.7',
          payload_received_at: '2025-01-02T03:04:05.678Z',
        },
        {
          source_id: events.id,
          message_id: 'replay-2',
          received_at: '2025-01-02T03:05:00+00:00',
          request_ip: '127.0.0.1',
          payload_received_at: '2025-01-02T03:05:00.000Z',
        },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query("SELECT count(*)::int AS n FROM events WHERE message_id LIKE 'replay-%'")).toEqual([{ n: 2 }]);
    });
  });

  describe('POST /internal/v1/batch', () => {
    const enriched = (messageId: string, extra: Record<string, unknown> = {}) => ({
      properties: { sourceID: events.id, workspaceID: events.workspaceId },
      payload: {
        type: 'track',
        event: 'Upstream',
        userId: 'u-b',
        messageId,
        receivedAt: '2025-06-01T00:00:00.000Z',
        request_ip: '203.0.113.1',
        rudderId: 'f5f0a6a2-1c38-4b83-9d0c-2b2c4a1f9e11',
        custom: { kept: true },
        ...extra,
      },
    });

    it('stores valid payloads as they came, and rejects those missing an enrichment field with the reason', async () => {
      const body = [
        enriched('ib-1'),
        enriched('ib-2', { receivedAt: undefined }),
        { properties: {}, payload: { type: 'track', messageId: 'ib-3', receivedAt: '2025-06-01T00:00:00.000Z', request_ip: '1.1.1.1' } },
      ];
      expect(await post('/internal/v1/batch', body, bySourceId(events.id))).toMatchObject({ status: 200, body: 'OK' });
      // Delivered twice: stored once.
      expect(await post('/internal/v1/batch', body, bySourceId(events.id))).toMatchObject({ status: 200, body: 'OK' });
      const [row] = await stack.rows<{ payload: Record<string, unknown> }>('SELECT payload FROM events WHERE message_id = $1', ['ib-1'], 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query('SELECT count(*)::int AS n FROM events WHERE message_id = $1', ['ib-1'])).toEqual([{ n: 1 }]);
      expect(row.payload).toEqual(enriched('ib-1').payload);
      const rejected = await stack.rows('SELECT message_id, reason FROM rejected_events WHERE message_id IN ($1, $2) ORDER BY message_id', ['ib-2', 'ib-3'], 2);
      expect(rejected).toEqual([
        { message_id: 'ib-2', reason: 'payload.receivedAt is required' },
        { message_id: 'ib-3', reason: 'payload.rudderId is required' },
      ]);
    });

    it('answers 400 when the body is not an array', async () => {
      expect(await post('/internal/v1/batch', { batch: [] }, bySourceId(events.id))).toMatchObject({
        status: 400,
        body: 'Invalid request: body must be a JSON array of {"properties", "payload"}',
      });
    });
  });
});
