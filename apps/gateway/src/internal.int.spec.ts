import { basicAuth, createDestination, createSource } from '@evt/testing';
import type { Destination, Source } from '@evt/db';
import { send, startStack, type Stack } from './test-support/harness';

// The internal API (README, The internal API): each route's auth failures with exact status and body, its rows,
// and idempotency when the same request is delivered twice.
describe('internal API', () => {
  let stack: Stack;
  let events: Source;
  let disabled: Source;
  let replay: Source;
  let retl: Source;
  let destination: Destination;
  let disabledDestination: Destination;

  beforeAll(async () => {
    stack = await startStack('internal', { MAX_REQUEST_SIZE: '100KB' }, { internalWorker: true });
    events = await createSource(stack.env);
    disabled = await createSource(stack.env, { enabled: false });
    replay = await createSource(stack.env, { kind: 'replay', originalSourceId: events.id });
    retl = await createSource(stack.env, { kind: 'retl' });
    destination = await createDestination(stack.env, retl.id);
    disabledDestination = await createDestination(stack.env, retl.id, { enabled: false });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(stack.url, { path, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const bySourceId = (id: string) => ({ Authorization: basicAuth(id) });

  describe('sourceIDAuth (retl, replay, batch)', () => {
    it.each(['/internal/v1/retl', '/internal/v1/replay', '/internal/v1/batch'])('%s: no source id → 401 Invalid Authorization Header', async (path) => {
      expect(await post(path, { batch: [] })).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
    });

    it.each(['/internal/v1/retl', '/internal/v1/replay', '/internal/v1/batch'])('%s: unknown source id → 401 Invalid source id', async (path) => {
      expect(await post(path, { batch: [] }, bySourceId('no-such-source'))).toMatchObject({ status: 401, body: 'Invalid source id' });
      expect(await post(path, { batch: [] }, { 'X-Rudder-Source-Id': 'no-such-source' })).toMatchObject({ status: 401, body: 'Invalid source id' });
    });

    it.each(['/internal/v1/retl', '/internal/v1/replay', '/internal/v1/batch'])('%s: disabled source → 404 Source is disabled', async (path) => {
      expect(await post(path, { batch: [] }, { 'X-Rudder-Source-Id': disabled.id })).toMatchObject({ status: 404, body: 'Source is disabled' });
    });

    it('replay takes only a replay source: any other → 401 Invalid source id', async () => {
      expect(await post('/internal/v1/replay', { batch: [{ type: 'track', userId: 'u', event: 'E' }] }, bySourceId(events.id))).toMatchObject({ status: 401, body: 'Invalid source id' });
    });
  });

  describe('write key routes (extract, audiencelist)', () => {
    it.each(['/internal/v1/extract', '/internal/v1/audiencelist'])('%s: 401 without or with an unknown write key, 404 when disabled', async (path) => {
      expect(await post(path, {})).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
      expect(await post(path, {}, { Authorization: basicAuth('nope') })).toMatchObject({ status: 401, body: 'Invalid write key' });
      expect(await post(path, {}, { Authorization: basicAuth(disabled.writeKey) })).toMatchObject({ status: 404, body: 'Source is disabled' });
    });
  });

  describe('POST /internal/v1/extract', () => {
    it('stores one event of type extract, needing no user id; the same request twice stores it once', async () => {
      const body = { messageId: 'extract-1', event: 'Row Extracted', properties: { table: 'orders', id: 7 } };
      expect(await post('/internal/v1/extract', body, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 200, body: 'OK' });
      expect(await post('/internal/v1/extract', body, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 200, body: 'OK' });
      const rows = await stack.rows('SELECT type, user_id, event, payload->\'properties\' AS properties FROM events WHERE message_id = $1', ['extract-1'], 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query('SELECT count(*)::int AS n FROM events WHERE message_id = $1', ['extract-1'])).toEqual([{ n: 1 }]);
      expect(rows).toEqual([{ type: 'extract', user_id: null, event: 'Row Extracted', properties: { table: 'orders', id: 7 } }]);
    });

    it('answers 400 for a body that is not an event', async () => {
      expect(await post('/internal/v1/extract', [1, 2], { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 400, body: 'Invalid request: event must be an object' });
    });

    it('takes a null field as absent, and stores none of them', async () => {
      const body = { messageId: 'extract-nulls', userId: null, event: null, properties: null, context: { traits: null }, timestamp: null };
      expect(await post('/internal/v1/extract', body, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 200, body: 'OK' });
      const [row] = await stack.rows<{ payload: Record<string, unknown> }>('SELECT payload FROM events WHERE message_id = $1', ['extract-nulls'], 1);
      expect(Object.keys(row.payload).sort()).toEqual(['context', 'messageId', 'receivedAt', 'request_ip', 'rudderId', 'timestamp', 'type']);
      expect(row.payload.context).toEqual({});
    });
  });

  describe('POST /internal/v1/audiencelist', () => {
    const list = (messageId: string, add: object[], remove: object[] = []) => ({
      messageId,
      context: { externalId: [{ type: 'GOOGLE_ADWORDS_REMARKETING_LISTS-42', identifierType: 'EMAIL' }] },
      properties: { listData: { add, remove } },
    });
    const members = () =>
      stack.env.db.query<{ email: string; present: boolean }>(
        "SELECT member->>'EMAIL' AS email, present FROM audience_members WHERE source_id = $1 AND audience_id = 'GOOGLE_ADWORDS_REMARKETING_LISTS-42' ORDER BY 1",
        [events.id],
      );

    it('applies adds and removes in order, and is idempotent when a request comes twice', async () => {
      const auth = { Authorization: basicAuth(events.writeKey) };
      expect(await post('/internal/v1/audiencelist', list('al-1', [{ EMAIL: 'a@x.io' }, { EMAIL: 'b@x.io' }, { EMAIL: 'c@x.io' }]), auth)).toMatchObject({ status: 200, body: 'OK' });
      // Adds then removes within one request: c is added and removed, so it ends up out.
      expect(await post('/internal/v1/audiencelist', list('al-2', [{ EMAIL: 'd@x.io' }, { EMAIL: 'c@x.io' }], [{ EMAIL: 'a@x.io' }, { EMAIL: 'c@x.io' }]), auth)).toMatchObject({ status: 200 });
      await stack.rows("SELECT 1 FROM audience_members WHERE member->>'EMAIL' = 'd@x.io'", [], 1);
      const expected = [
        { email: 'a@x.io', present: false },
        { email: 'b@x.io', present: true },
        { email: 'c@x.io', present: false },
        { email: 'd@x.io', present: true },
      ];
      await stack.rows("SELECT 1 FROM audience_members WHERE member->>'EMAIL' = 'a@x.io' AND NOT present", [], 1);
      expect(await members()).toEqual(expected);
      // The same request delivered again (a client retry after a lost answer) changes nothing.
      expect(await post('/internal/v1/audiencelist', list('al-2', [{ EMAIL: 'd@x.io' }, { EMAIL: 'c@x.io' }], [{ EMAIL: 'a@x.io' }, { EMAIL: 'c@x.io' }]), auth)).toMatchObject({ status: 200 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await members()).toEqual(expected);
    });

    it('answers 400 when listData is missing', async () => {
      expect(await post('/internal/v1/audiencelist', { properties: {} }, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 400, body: 'Invalid request: properties.listData is required' });
    });

    it('is exempt from MAX_REQUEST_SIZE', async () => {
      const many = Array.from({ length: 3000 }, (_, i) => ({ EMAIL: `member-${i}@example.com`, FIRST_NAME: 'someone' }));
      const body = { messageId: 'al-big', properties: { audienceId: 'big-list', listData: { add: many } } };
      expect(JSON.stringify(body).length).toBeGreaterThan(100 * 1024);
      expect(await post('/internal/v1/extract', { event: 'x', properties: { many } }, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 413, body: 'Request size too large' });
      expect(await post('/internal/v1/audiencelist', body, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 200, body: 'OK' });
      expect(await stack.rows("SELECT count(*)::int AS n FROM audience_members WHERE audience_id = 'big-list' HAVING count(*) = 3000", [], 1)).toEqual([{ n: 3000 }]);
    });
  });

  describe('POST /internal/v1/retl', () => {
    const records = () =>
      stack.env.db.query('SELECT destination_id, record_id, fields, deleted, last_action FROM retl_records WHERE source_id = $1 ORDER BY destination_id, record_id', [retl.id]);

    it('answers 400 for an unknown X-Rudder-Destination-Id and 404 for a disabled one', async () => {
      const batch = { batch: [{ type: 'record', recordId: '1', action: 'insert', fields: {} }] };
      expect(await post('/internal/v1/retl', batch, { ...bySourceId(retl.id), 'X-Rudder-Destination-Id': 'nope' })).toMatchObject({ status: 400, body: 'Invalid request: unknown destination nope' });
      expect(await post('/internal/v1/retl', batch, { ...bySourceId(retl.id), 'X-Rudder-Destination-Id': disabledDestination.id })).toMatchObject({ status: 404, body: 'Destination is disabled' });
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
      const rejected = await stack.rows<{ reason: string; message_id: string | null; event: unknown }>('SELECT reason, message_id, event FROM rejected_events WHERE source_id = $1', [keyless.id], 1);
      expect(rejected).toEqual([{ reason: 'recordId is required', message_id: null, event: batch[3] }]);

      // Alone, such a record is a 400 with the reason.
      expect(await post('/internal/v1/retl', { batch: [{ type: 'record', recordId: null, messageId: null, fields: {} }] }, headers)).toMatchObject({
        status: 400,
        body: 'Invalid request: recordId is required',
      });
    });

    it('answers 400 with the first reason when every record is invalid', async () => {
      expect(await post('/internal/v1/retl', { batch: [{ type: 'record', fields: {} }] }, bySourceId(retl.id))).toMatchObject({ status: 400, body: 'Invalid request: recordId is required' });
      expect(await post('/internal/v1/retl', { batch: [] }, bySourceId(retl.id))).toMatchObject({ status: 400, body: 'Invalid request: batch is empty' });
      expect(await post('/internal/v1/retl', { records: [] }, bySourceId(retl.id))).toMatchObject({ status: 400, body: 'Invalid request: batch must be an array' });
    });
  });

  describe('POST /internal/v1/replay', () => {
    it('stores events under the original source with their original receivedAt; replaying twice adds nothing', async () => {
      const archive = {
        batch: [
          { type: 'track', userId: 'u-r', event: 'Archived', messageId: 'replay-1', receivedAt: '2025-01-02T03:04:05.678Z', request_ip: '198.51.100.7', originalTimestamp: '2025-01-02T03:04:00.000Z', sentAt: '2025-01-02T03:04:01.000Z' },
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
        { source_id: events.id, message_id: 'replay-1', received_at: '2025-01-02T03:04:05.678+00:00', request_ip: '198.51.100.7', payload_received_at: '2025-01-02T03:04:05.678Z' },
        { source_id: events.id, message_id: 'replay-2', received_at: '2025-01-02T03:05:00+00:00', request_ip: '127.0.0.1', payload_received_at: '2025-01-02T03:05:00.000Z' },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query("SELECT count(*)::int AS n FROM events WHERE message_id LIKE 'replay-%'")).toEqual([{ n: 2 }]);
    });
  });

  describe('POST /internal/v1/batch', () => {
    const enriched = (messageId: string, extra: Record<string, unknown> = {}) => ({
      properties: { sourceID: events.id, workspaceID: events.workspaceId },
      payload: { type: 'track', event: 'Upstream', userId: 'u-b', messageId, receivedAt: '2025-06-01T00:00:00.000Z', request_ip: '203.0.113.1', rudderId: 'f5f0a6a2-1c38-4b83-9d0c-2b2c4a1f9e11', custom: { kept: true }, ...extra },
    });

    it('stores valid payloads as they came, and rejects those missing an enrichment field with the reason', async () => {
      const body = [enriched('ib-1'), enriched('ib-2', { receivedAt: undefined }), { properties: {}, payload: { type: 'track', messageId: 'ib-3', receivedAt: '2025-06-01T00:00:00.000Z', request_ip: '1.1.1.1' } }];
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
      expect(await post('/internal/v1/batch', { batch: [] }, bySourceId(events.id))).toMatchObject({ status: 400, body: 'Invalid request: body must be a JSON array of {"properties", "payload"}' });
    });
  });

  // docs/reliability.md, Bounds: the internal routes refuse what Postgres cannot keep exactly, like the public ones.
  describe('what cannot be stored', () => {
    const TOO_LONG = 'is longer than 1024 bytes';
    const NUL = 'contains NUL (U+0000), which Postgres cannot store';
    const UNPAIRED = 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode';
    let bounded: Source;
    let boundedReplay: Source;
    let boundedRetl: Source;
    let boundedDestination: Destination;
    beforeAll(async () => {
      bounded = await createSource(stack.env);
      boundedReplay = await createSource(stack.env, { kind: 'replay', originalSourceId: bounded.id });
      boundedRetl = await createSource(stack.env, { kind: 'retl' });
      boundedDestination = await createDestination(stack.env, boundedRetl.id);
      await stack.gateway.sources.refresh();
    });
    // Sorted here, by code point: the database's collation may order text otherwise.
    const rejectedOf = async (sourceId: string, count: number) =>
      (await stack.rows<{ message_id: string | null; reason: string }>('SELECT message_id, reason FROM rejected_events WHERE source_id = $1', [sourceId], count)).sort((a, b) =>
        a.reason !== b.reason ? (a.reason < b.reason ? -1 : 1) : (a.message_id ?? '') < (b.message_id ?? '') ? -1 : 1,
      );

    it('extract: an over-long messageId or a NUL in a value gets 400 with the reason', async () => {
      const auth = { Authorization: basicAuth(bounded.writeKey) };
      expect(await post('/internal/v1/extract', { messageId: 'x'.repeat(1025), event: 'Row' }, auth)).toMatchObject({ status: 400, body: `Invalid request: messageId ${TOO_LONG}` });
      expect(await post('/internal/v1/extract', { messageId: 'extract-nul', properties: { name: 'a\u0000' } }, auth)).toMatchObject({ status: 400, body: `Invalid request: properties.name ${NUL}` });
      expect(await post('/internal/v1/extract', { messageId: 'x'.repeat(1024), event: 'Row' }, auth)).toMatchObject({ status: 200, body: 'OK' });
      expect(await stack.rows('SELECT length(message_id) AS n FROM events WHERE source_id = $1', [bounded.id], 1)).toEqual([{ n: 1024 }]);
    });

    it('rETL: an over-long X-Rudder-Destination-Id is a 400 that does not echo it', async () => {
      const batch = { batch: [{ type: 'record', recordId: '1', fields: {} }] };
      expect(await post('/internal/v1/retl', batch, { ...bySourceId(boundedRetl.id), 'X-Rudder-Destination-Id': 'd'.repeat(1025) })).toMatchObject({
        status: 400,
        body: `Invalid request: X-Rudder-Destination-Id ${TOO_LONG}`,
      });
    });

    it('rETL: stores the good records and rejects each unstorable one with its reason', async () => {
      const body =
        '{"batch":[' +
        [
          '{"type":"record","recordId":"bound-ok","fields":{"name":"Ada"}}',
          `{"type":"record","recordId":"${'r'.repeat(1025)}","messageId":"rec-long","fields":{}}`,
          `{"type":"identify","userId":"u","recordId":"${'é'.repeat(513)}","messageId":"rec-identify-long"}`,
          '{"type":"record","recordId":"bound-nul","messageId":"rec-nul","fields":{"name":"a\\u0000"}}',
          '{"type":"record","recordId":"bound-inf","messageId":"rec-inf","fields":{"total":1e400}}',
          '{"type":"record","recordId":"\\ud800","messageId":"rec-surrogate","fields":{}}',
        ].join(',') +
        ']}';
      const answer = await send(stack.url, { path: '/internal/v1/retl', method: 'POST', headers: { ...bySourceId(boundedRetl.id), 'X-Rudder-Destination-Id': boundedDestination.id }, body });
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      expect(await stack.rows('SELECT record_id, fields FROM retl_records WHERE source_id = $1', [boundedRetl.id], 1)).toEqual([{ record_id: 'bound-ok', fields: { name: 'Ada' } }]);
      expect(await rejectedOf(boundedRetl.id, 5)).toEqual([
        { message_id: 'rec-nul', reason: `fields.name ${NUL}` },
        { message_id: 'rec-inf', reason: 'fields.total is a number too large to store' },
        { message_id: 'rec-surrogate', reason: `recordId ${UNPAIRED}` },
        { message_id: 'rec-identify-long', reason: `recordId ${TOO_LONG}` },
        { message_id: 'rec-long', reason: `recordId ${TOO_LONG}` },
      ]);
    });

    it('replay: stores the good events under the original source and rejects the unstorable ones', async () => {
      const archive = {
        batch: [
          { type: 'track', userId: 'u', event: 'E', messageId: 'replay-bound-ok', receivedAt: '2025-01-02T03:04:05.678Z' },
          { type: 'track', userId: 'u', event: 'E', messageId: 'm'.repeat(1025) },
          { type: 'identify', userId: '\udfff', messageId: 'replay-surrogate' },
        ],
      };
      expect(await post('/internal/v1/replay', archive, { 'X-Rudder-Source-Id': boundedReplay.id })).toMatchObject({ status: 200, body: 'OK' });
      expect(await stack.rows('SELECT source_id FROM events WHERE message_id = $1', ['replay-bound-ok'], 1)).toEqual([{ source_id: bounded.id }]);
      const rows = await rejectedOf(boundedReplay.id, 2);
      expect(rows.map((row) => [row.message_id?.length, row.reason])).toEqual([
        [1025, `messageId ${TOO_LONG}`],
        ['replay-surrogate'.length, `userId ${UNPAIRED}`],
      ]);
    });

    describe('internal batch: what the route accepts, the events job accepts', () => {
      const item = (messageId: string, extra: Record<string, unknown> = {}) => ({
        properties: { sourceID: bounded.id },
        payload: { type: 'track', event: 'Upstream', userId: 'u-b', messageId, receivedAt: '2025-06-01T00:00:00.000Z', request_ip: '203.0.113.1', rudderId: 'r-1', ...extra },
      });

      it('answers 400 with the reason for an item alone whose userId is a number', async () => {
        const other = await createSource(stack.env);
        await stack.gateway.sources.refresh();
        expect(await post('/internal/v1/batch', [item('ib-42-alone', { userId: 42 })], bySourceId(other.id))).toMatchObject({ status: 400, body: 'Invalid request: payload.userId must be a string' });
        expect(await rejectedOf(other.id, 1)).toEqual([{ message_id: 'ib-42-alone', reason: 'payload.userId must be a string' }]);
      });

      it('stores the good items of a mixed array, null anonymousId included, exactly as sent', async () => {
        const other = await createSource(stack.env);
        await stack.gateway.sources.refresh();
        const body = [
          item('ib-good'),
          item('ib-null-anonymous', { anonymousId: null }),
          item('ib-null-user', { userId: null, anonymousId: 'a-b' }),
          item('ib-42', { userId: 42 }),
          item('x'.repeat(1025)),
          item('ib-nul-value', { properties: { note: 'a\u0000' } }),
          item('ib-group', { type: 'group', groupId: 'g'.repeat(1025) }),
        ];
        expect(await post('/internal/v1/batch', body, bySourceId(other.id))).toMatchObject({ status: 200, body: 'OK' });
        const rows = await stack.rows<{ message_id: string; user_id: string | null; anonymous_id: string | null; payload: unknown }>(
          'SELECT message_id, user_id, anonymous_id, payload FROM events WHERE source_id = $1 ORDER BY message_id',
          [other.id],
          3,
        );
        expect(rows).toEqual([
          { message_id: 'ib-good', user_id: 'u-b', anonymous_id: null, payload: item('ib-good').payload },
          { message_id: 'ib-null-anonymous', user_id: 'u-b', anonymous_id: null, payload: item('ib-null-anonymous', { anonymousId: null }).payload },
          { message_id: 'ib-null-user', user_id: null, anonymous_id: 'a-b', payload: item('ib-null-user', { userId: null, anonymousId: 'a-b' }).payload },
        ]);
        const rejected = await rejectedOf(other.id, 4);
        expect(rejected.map((row) => [row.message_id && row.message_id.length > 100 ? `x×${row.message_id.length}` : row.message_id, row.reason])).toEqual([
          ['ib-group', `payload.groupId ${TOO_LONG}`],
          ['x×1025', `payload.messageId ${TOO_LONG}`],
          ['ib-nul-value', `payload.properties.note ${NUL}`],
          ['ib-42', 'payload.userId must be a string'],
        ]);
      });
    });
  });
});

describe('internal API settings', () => {
  it('requires INTERNAL_API_TOKEN, as Basic password or X-Internal-Token, on every internal route', async () => {
    const stack = await startStack('internal-token', { INTERNAL_API_TOKEN: 's3cret' });
    try {
      const source = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      const post = (path: string, headers: Record<string, string>) => send(stack.url, { path, method: 'POST', headers, body: JSON.stringify({ event: 'x', properties: {} }) });
      expect(await post('/internal/v1/extract', { Authorization: basicAuth(source.writeKey) })).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
      expect(await post('/internal/v1/extract', { Authorization: basicAuth(source.writeKey, 'wrong') })).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
      expect(await post('/internal/v1/extract', { Authorization: basicAuth(source.writeKey, 's3cret') })).toMatchObject({ status: 200, body: 'OK' });
      expect(await post('/internal/v1/batch', { 'X-Rudder-Source-Id': source.id })).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
      expect(await post('/internal/v1/batch', { 'X-Rudder-Source-Id': source.id, 'X-Internal-Token': 's3cret' })).toMatchObject({ status: 400 });
      // The public API does not need the token.
      expect((await send(stack.url, { path: '/v1/track', method: 'POST', headers: { Authorization: basicAuth(source.writeKey) }, body: JSON.stringify({ userId: 'u', event: 'E' }) })).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });

  it('answers 404 on every internal route with INTERNAL_API_ENABLED=false', async () => {
    const stack = await startStack('internal-off', { INTERNAL_API_ENABLED: 'false' });
    try {
      const source = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      for (const path of ['/internal/v1/extract', '/internal/v1/audiencelist', '/internal/v1/retl', '/internal/v1/replay', '/internal/v1/batch']) {
        expect([path, await send(stack.url, { path, method: 'POST', headers: { Authorization: basicAuth(source.writeKey) }, body: '{}' })]).toEqual([path, expect.objectContaining({ status: 404, body: 'Not found' })]);
      }
    } finally {
      await stack.stop();
    }
  });
});
