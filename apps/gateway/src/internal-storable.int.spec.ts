import { basicAuth, createDestination, createSource } from '@evt/testing';
import type { Destination, Source } from '@evt/db';
import { postJson, send, startStack, type Stack } from './test-support/harness';

// The internal API (README, The internal API) refuses what Postgres cannot keep exactly (docs/reliability.md, Bounds).
describe('internal API: what cannot be stored', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('internal-storable', { MAX_REQUEST_SIZE: '100KB' }, { internalWorker: true });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.url, path, body, headers);
  const bySourceId = (id: string) => ({ Authorization: basicAuth(id) });

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
      (
        await stack.rows<{ message_id: string | null; reason: string }>(
          'SELECT message_id, reason FROM rejected_events WHERE source_id = $1',
          [sourceId],
          count,
        )
      ).sort((a, b) => (a.reason !== b.reason ? (a.reason < b.reason ? -1 : 1) : (a.message_id ?? '') < (b.message_id ?? '') ? -1 : 1));

    it('extract: an over-long messageId or a NUL in a value gets 400 with the reason', async () => {
      const auth = { Authorization: basicAuth(bounded.writeKey) };
      expect(await post('/internal/v1/extract', { messageId: 'x'.repeat(1025), event: 'Row' }, auth)).toMatchObject({
        status: 400,
        body: `Invalid request: messageId ${TOO_LONG}`,
      });
      expect(await post('/internal/v1/extract', { messageId: 'extract-nul', properties: { name: 'a\u0000' } }, auth)).toMatchObject({
        status: 400,
        body: `Invalid request: properties.name ${NUL}`,
      });
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
      const answer = await send(stack.url, {
        path: '/internal/v1/retl',
        method: 'POST',
        headers: { ...bySourceId(boundedRetl.id), 'X-Rudder-Destination-Id': boundedDestination.id },
        body,
      });
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      expect(await stack.rows('SELECT record_id, fields FROM retl_records WHERE source_id = $1', [boundedRetl.id], 1)).toEqual([
        { record_id: 'bound-ok', fields: { name: 'Ada' } },
      ]);
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
        payload: {
          type: 'track',
          event: 'Upstream',
          userId: 'u-b',
          messageId,
          receivedAt: '2025-06-01T00:00:00.000Z',
          request_ip: '203.0.113.1',
          rudderId: 'r-1',
          ...extra,
        },
      });

      it('answers 400 with the reason for an item alone whose userId is a number', async () => {
        const other = await createSource(stack.env);
        await stack.gateway.sources.refresh();
        expect(await post('/internal/v1/batch', [item('ib-42-alone', { userId: 42 })], bySourceId(other.id))).toMatchObject({
          status: 400,
          body: 'Invalid request: payload.userId must be a string',
        });
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
