import { gzipSync, deflateSync } from 'node:zlib';
import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { send, startStack, type Stack } from './test-support/harness';

// Every row of the answer table (README, The HTTP API), with the exact status and body, and what was stored.
describe('gateway answers', () => {
  let stack: Stack;
  let source: Source;
  let disabled: Source;
  let webhook: Source;
  let limited: Source;

  beforeAll(async () => {
    stack = await startStack('answers', { MAX_REQUEST_SIZE: '100KB', MAX_EVENT_SIZE: '2KB' });
    source = await createSource(stack.env);
    disabled = await createSource(stack.env, { enabled: false });
    webhook = await createSource(stack.env, { kind: 'webhook' });
    limited = await createSource(stack.env, { rateLimitEvents: 3, rateLimitWindowSeconds: 60 });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(stack.url, { path, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const auth = (s: Source) => ({ Authorization: basicAuth(s.writeKey) });
  const eventsOf = (messageIds: string[]) =>
    stack.rows<{ message_id: string; type: string; user_id: string | null; event: string | null }>(
      'SELECT message_id, type, user_id, event FROM events WHERE source_id = $1 AND message_id = ANY($2) ORDER BY message_id',
      [source.id, messageIds],
      messageIds.length,
    );
  const rejectedOf = (sourceId: string, count: number) =>
    stack.rows<{ reason: string; message_id: string | null; event: unknown; event_size: number | null }>(
      'SELECT reason, message_id, event, event_size FROM rejected_events WHERE source_id = $1 ORDER BY reason, message_id',
      [sourceId],
      count,
    );

  describe('200 OK', () => {
    it('accepts a track with `Basic base64("key:")`, answers text/plain OK and stores the event', async () => {
      const answer = await post('/v1/track', { userId: 'u-1', event: 'Order Completed', messageId: 'ok-1', properties: { total: 10 } }, auth(source));
      expect([answer.status, answer.body, answer.headers.get('content-type')]).toEqual([200, 'OK', 'text/plain; charset=utf-8']);
      expect(await eventsOf(['ok-1'])).toEqual([{ message_id: 'ok-1', type: 'track', user_id: 'u-1', event: 'Order Completed' }]);
    });

    it('accepts the write key without the colon', async () => {
      const answer = await post('/v1/track', { userId: 'u-2', event: 'E', messageId: 'ok-2' }, { Authorization: `Basic ${Buffer.from(source.writeKey).toString('base64')}` });
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      expect(await eventsOf(['ok-2'])).toHaveLength(1);
    });

    it("accepts Segment's writeKey in the body when no header is sent, and does not store the key", async () => {
      const answer = await post('/v1/t', { writeKey: source.writeKey, userId: 'u-3', event: 'E', messageId: 'ok-3' }, { 'Content-Type': 'text/plain' });
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      const [row] = await stack.rows<{ payload: Record<string, unknown> }>('SELECT payload FROM events WHERE message_id = $1', ['ok-3'], 1);
      expect(row.payload.writeKey).toBeUndefined();
    });

    it('forces the type of every single-event route and Segment short path', async () => {
      const routes = { identify: 'identify', i: 'identify', track: 'track', t: 'track', page: 'page', p: 'page', screen: 'screen', s: 'screen', group: 'group', g: 'group', alias: 'alias', a: 'alias' };
      for (const path of Object.keys(routes)) {
        const answer = await post(`/v1/${path}`, { type: 'track', userId: 'u-4', event: 'E', groupId: 'g-1', previousId: 'p-1', messageId: `route-${path}` }, auth(source));
        expect([path, answer.status, answer.body]).toEqual([path, 200, 'OK']);
      }
      const rows = await eventsOf(Object.keys(routes).map((path) => `route-${path}`));
      expect(Object.fromEntries(rows.map((row) => [row.message_id.slice('route-'.length), row.type]))).toEqual(routes);
    });

    it('accepts batches on /v1/batch, /v1/import, /v1/b and the beacon route', async () => {
      const batch = (id: string) => ({ batch: [{ type: 'track', userId: 'u-5', event: 'E', messageId: id }] });
      expect((await post('/v1/batch', batch('b-batch'), auth(source))).status).toBe(200);
      expect((await post('/v1/import', batch('b-import'), auth(source))).status).toBe(200);
      expect((await post('/v1/b', batch('b-short'), auth(source))).status).toBe(200);
      const beacon = await post(`/beacon/v1/batch?writeKey=${source.writeKey}`, batch('b-beacon'), { 'Content-Type': 'text/plain;charset=UTF-8' });
      expect([beacon.status, beacon.body]).toEqual([200, 'OK']);
      expect((await eventsOf(['b-batch', 'b-import', 'b-short', 'b-beacon'])).map((row) => row.message_id)).toEqual(['b-batch', 'b-beacon', 'b-import', 'b-short']);
    });

    it('inflates gzip sent as application/x-www-form-urlencoded (rudder-sdk-node) and deflate', async () => {
      const gzip = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u-6', event: 'E', messageId: 'gz-1' }] }));
      const gz = await send(stack.url, { path: '/v1/batch', method: 'POST', headers: { ...auth(source), 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' }, body: gzip });
      const deflate = deflateSync(JSON.stringify({ userId: 'u-6', event: 'E', messageId: 'df-1' }));
      const df = await send(stack.url, { path: '/v1/track', method: 'POST', headers: { ...auth(source), 'Content-Encoding': 'deflate' }, body: deflate });
      expect([gz.status, gz.body, df.status, df.body]).toEqual([200, 'OK', 200, 'OK']);
      expect((await eventsOf(['df-1', 'gz-1'])).map((row) => row.message_id)).toEqual(['df-1', 'gz-1']);
    });

    it('stores the good events of a batch and records each bad one with its reason', async () => {
      const answer = await post(
        '/v1/batch',
        {
          batch: [
            { type: 'track', userId: 'u-7', event: 'Good', messageId: 'mixed-good' },
            { type: 'track', event: 'No identity', messageId: 'mixed-bad-1' },
            { type: 'launch', userId: 'u-7', messageId: 'mixed-bad-2' },
            { type: 'track', userId: 'u-7', event: 'x'.repeat(3000), messageId: 'mixed-bad-3' },
          ],
        },
        auth(source),
      );
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      expect(await eventsOf(['mixed-good'])).toHaveLength(1);
      const rejected = await stack.rows<{ reason: string; message_id: string; event: unknown; event_size: number | null }>(
        "SELECT reason, message_id, event, event_size FROM rejected_events WHERE message_id LIKE 'mixed-bad-%' ORDER BY message_id",
        [],
        3,
      );
      expect(rejected).toEqual([
        { reason: 'userId or anonymousId is required', message_id: 'mixed-bad-1', event: { type: 'track', event: 'No identity', messageId: 'mixed-bad-1' }, event_size: null },
        { reason: 'type must be one of identify, track, page, screen, group, alias', message_id: 'mixed-bad-2', event: { type: 'launch', userId: 'u-7', messageId: 'mixed-bad-2' }, event_size: null },
        { reason: 'event is larger than 2048 bytes', message_id: 'mixed-bad-3', event: null, event_size: expect.any(Number) },
      ]);
      expect(rejected[2].event_size).toBeGreaterThan(3000);
    });

    it("accepts Segment's anonymous track whose absent fields are null, and stores it as if they had not been sent", async () => {
      // As analytics-next sends it before identify, with a caller's null options and rudder-sdk-node's passed-through nulls.
      const sent = {
        writeKey: source.writeKey,
        type: 'track',
        event: 'Viewed',
        userId: null,
        anonymousId: 'a1',
        messageId: 'null-fields-1',
        properties: null,
        context: { traits: null, library: { name: 'analytics.js', version: 'next-1.84.3' } },
        integrations: null,
        timestamp: null,
        sentAt: '2026-01-01T00:00:00.000Z',
      };
      const answer = await post('/v1/t', sent, { 'Content-Type': 'text/plain' });
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      const [row] = await stack.rows<{ user_id: string | null; anonymous_id: string; event: string; payload: Record<string, unknown> }>(
        'SELECT user_id, anonymous_id, event, payload FROM events WHERE source_id = $1 AND message_id = $2',
        [source.id, 'null-fields-1'],
        1,
      );
      expect([row.user_id, row.anonymous_id, row.event]).toEqual([null, 'a1', 'Viewed']);
      expect(Object.keys(row.payload).sort()).toEqual(['anonymousId', 'context', 'event', 'messageId', 'receivedAt', 'request_ip', 'rudderId', 'sentAt', 'timestamp', 'type']);
      expect(row.payload.context).toEqual({ library: { name: 'analytics.js', version: 'next-1.84.3' } });
      expect(row.payload.timestamp).toBe(row.payload.receivedAt);
    });

    it('stores the events of a batch whose absent fields are null and rejects the one whose required field is null', async () => {
      const answer = await post(
        '/v1/batch',
        {
          sentAt: null,
          context: null,
          integrations: null,
          batch: [
            { type: 'identify', userId: 'u-null', anonymousId: null, messageId: 'nulls-identify', traits: null, context: { traits: { plan: 'pro' }, ip: null } },
            { type: 'page', userId: 'u-null', messageId: 'nulls-page', name: null, category: null, properties: null, event: null, channel: null },
            { type: 'group', userId: 'u-null', messageId: 'nulls-group', groupId: 'g-null', traits: null },
            { type: 'track', userId: 'u-null', messageId: null, event: 'No message id', originalTimestamp: null },
            { type: 'track', userId: 'u-null', messageId: 'nulls-bad-track', event: null },
            { type: 'alias', userId: 'u-null', messageId: 'nulls-bad-alias', previousId: null },
          ],
        },
        auth(source),
      );
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      const rows = await stack.rows<{ message_id: string; type: string; name: string | null; payload: Record<string, unknown> }>(
        'SELECT message_id, type, name, payload FROM events WHERE source_id = $1 AND user_id = $2 ORDER BY type',
        [source.id, 'u-null'],
        4,
      );
      expect(rows.map((row) => [row.type, row.name])).toEqual([
        ['group', null],
        ['identify', null],
        ['page', null],
        ['track', null],
      ]);
      const known = ['messageId', 'userId', 'anonymousId', 'context', 'integrations', 'timestamp', 'originalTimestamp', 'sentAt', 'channel', 'properties', 'traits', 'name', 'category', 'event'];
      expect(rows.flatMap((row) => known.filter((key) => row.payload[key] === null).map((key) => `${row.type}.${key}`))).toEqual([]);
      expect(rows[1].payload.context).toEqual({ traits: { plan: 'pro' } });
      expect(rows[3].message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const [user] = await stack.rows<{ traits: unknown }>('SELECT traits FROM users WHERE user_id = $1 AND workspace_id = $2', ['u-null', source.workspaceId], 1);
      expect(user.traits).toEqual({ plan: 'pro' });
      const rejected = await stack.rows<{ reason: string; message_id: string }>(
        "SELECT reason, message_id FROM rejected_events WHERE message_id LIKE 'nulls-bad-%' ORDER BY message_id",
        [],
        2,
      );
      expect(rejected).toEqual([
        { reason: 'previousId must be a string or a number', message_id: 'nulls-bad-alias' },
        { reason: 'event must be a string', message_id: 'nulls-bad-track' },
      ]);
    });

    it('is idempotent on messageId: a retried request stores the event once', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await post('/v1/track', { userId: 'u-8', event: 'E', messageId: 'retried-1' }, auth(source))).status).toBe(200);
      }
      await eventsOf(['retried-1']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query('SELECT count(*)::int AS n FROM events WHERE message_id = $1', ['retried-1'])).toEqual([{ n: 1 }]);
    });
  });

  describe('401', () => {
    it.each([
      ['no Authorization and no writeKey in the body', {}],
      ['a Bearer token', { Authorization: 'Bearer abc' }],
      ['Basic with garbage', { Authorization: 'Basic !!!' }],
      ['Basic with an empty user', { Authorization: basicAuth('') }],
    ])('answers Invalid Authorization Header for %s', async (_case, headers: Record<string, string>) => {
      const answer = await post('/v1/track', { userId: 'u', event: 'E' }, headers);
      expect([answer.status, answer.body]).toEqual([401, 'Invalid Authorization Header']);
    });

    it('answers Invalid write key for an unknown key, in the header or in the body', async () => {
      const header = await post('/v1/track', { userId: 'u', event: 'E' }, { Authorization: basicAuth('not-a-key') });
      const body = await post('/v1/track', { writeKey: 'not-a-key', userId: 'u', event: 'E' });
      expect([header.status, header.body, body.status, body.body]).toEqual([401, 'Invalid write key', 401, 'Invalid write key']);
    });
  });

  describe('404', () => {
    it('answers Source is disabled for a disabled source', async () => {
      const answer = await post('/v1/track', { userId: 'u', event: 'E' }, auth(disabled));
      expect([answer.status, answer.body]).toEqual([404, 'Source is disabled']);
    });

    it('answers Source does not accept webhook events when a non-webhook source calls /v1/webhook', async () => {
      const answer = await post(`/v1/webhook?writeKey=${source.writeKey}`, { any: 'thing' });
      expect([answer.status, answer.body]).toEqual([404, 'Source does not accept webhook events']);
    });

    it('stores webhook calls (POST JSON, POST form, GET query) of a webhook source as webhook events', async () => {
      const json = await post(`/v1/webhook?writeKey=${webhook.writeKey}`, { order: 7 });
      const form = await send(stack.url, { path: '/v1/webhook', method: 'POST', headers: { ...auth(webhook), 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two' });
      const get = await send(stack.url, { path: `/v1/webhook?writeKey=${webhook.writeKey}&status=paid`, method: 'GET' });
      expect([json.status, form.status, get.status]).toEqual([200, 200, 200]);
      const rows = await stack.rows<{ type: string; properties: unknown }>(
        "SELECT type, payload->'properties' AS properties FROM events WHERE source_id = $1 ORDER BY id",
        [webhook.id],
        3,
      );
      expect(rows).toEqual([
        { type: 'webhook', properties: { order: 7 } },
        { type: 'webhook', properties: { a: '1', b: 'two' } },
        { type: 'webhook', properties: { status: 'paid' } },
      ]);
    });
  });

  describe('400', () => {
    it('answers Invalid JSON for a body that is not JSON, and for corrupt gzip', async () => {
      const text = await post('/v1/track', '{"userId": ', auth(source));
      const gzip = await send(stack.url, { path: '/v1/batch', method: 'POST', headers: { ...auth(source), 'Content-Encoding': 'gzip' }, body: Buffer.from('not gzip at all') });
      expect([text.status, text.body, gzip.status, gzip.body]).toEqual([400, 'Invalid JSON', 400, 'Invalid JSON']);
    });

    it('answers Invalid request when batch is not an array, or is empty', async () => {
      const notArray = await post('/v1/batch', { batch: { type: 'track' } }, auth(source));
      const empty = await post('/v1/batch', { batch: [] }, auth(source));
      expect([notArray.status, notArray.body]).toEqual([400, 'Invalid request: batch must be an array']);
      expect([empty.status, empty.body]).toEqual([400, 'Invalid request: batch is empty']);
    });

    it('answers Invalid request with the first reason when every event of a batch is rejected, and records them', async () => {
      const other = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      const answer = await post('/v1/batch', { batch: [{ type: 'track', event: 'E', messageId: 'all-bad-1' }, { type: 'track', userId: 'u', messageId: 'all-bad-2' }] }, auth(other));
      expect([answer.status, answer.body]).toEqual([400, 'Invalid request: userId or anonymousId is required']);
      expect((await rejectedOf(other.id, 2)).map((row) => [row.message_id, row.reason])).toEqual([
        ['all-bad-2', 'event is required'],
        ['all-bad-1', 'userId or anonymousId is required'],
      ]);
    });

    it.each([
      [{ event: 'E' }, 'Invalid request: userId or anonymousId is required'],
      [{ userId: 'u' }, 'Invalid request: event is required'],
      [{ userId: true, event: 'E' }, 'Invalid request: userId must be a string or a number'],
      [{ userId: 'u', event: 'E', properties: 'nope' }, 'Invalid request: properties must be an object'],
      [[{ userId: 'u', event: 'E' }], 'Invalid request: event must be an object'],
      [{ userId: 'u', event: null }, 'Invalid request: event must be a string'],
      [{ userId: null, anonymousId: null, event: 'E', properties: null }, 'Invalid request: userId or anonymousId is required'],
    ])('answers a single invalid track %j with %s', async (body, expected) => {
      const answer = await post('/v1/track', body, auth(source));
      expect([answer.status, answer.body]).toEqual([400, expected]);
    });
  });

  // docs/reliability.md, Bounds: ids are at most 1024 bytes of UTF-8; NUL, unpaired surrogates and
  // non-finite numbers are refused with a reason, alone (400) or in a batch (rejected_events), never changed.
  describe('400: what Postgres cannot keep exactly', () => {
    let bounded: Source;
    beforeAll(async () => {
      bounded = await createSource(stack.env);
      await stack.gateway.sources.refresh();
    });
    const TOO_LONG = 'is longer than 1024 bytes';
    const NUL = 'contains NUL (U+0000), which Postgres cannot store';
    const UNPAIRED = 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot encode';
    const stored = (messageIds: string[]) =>
      stack.env.db.query<{ message_id: string }>('SELECT message_id FROM events WHERE source_id = $1 AND message_id = ANY($2) ORDER BY message_id', [bounded.id, messageIds]);
    const drained = async () => {
      // A marker sent last, stored once everything before it was handled.
      const marker = `marker-${Math.random()}`;
      expect((await post('/v1/track', { userId: 'u', event: 'E', messageId: marker }, auth(bounded))).status).toBe(200);
      await stack.rows('SELECT 1 FROM events WHERE message_id = $1', [marker], 1);
    };

    it('stores an id of exactly 1024 bytes as sent, and refuses 1025 bytes, in multi-byte characters too', async () => {
      const ids = ['a'.repeat(1024), 'é'.repeat(512), '😀'.repeat(256)];
      for (const messageId of ids) {
        expect(await post('/v1/track', { userId: 'u', event: 'E', messageId }, auth(bounded))).toMatchObject({ status: 200, body: 'OK' });
      }
      for (const messageId of ['a'.repeat(1025), 'é'.repeat(512) + 'a', '€'.repeat(342)]) {
        expect(await post('/v1/track', { userId: 'u', event: 'E', messageId }, auth(bounded))).toMatchObject({ status: 400, body: `Invalid request: messageId ${TOO_LONG}` });
      }
      await stack.rows('SELECT 1 FROM events WHERE source_id = $1', [bounded.id], 3);
      expect((await stored(ids)).map((row) => row.message_id).sort()).toEqual([...ids].sort());
    });

    it.each([
      ['/v1/identify', 'userId', { userId: 'u'.repeat(1025) }],
      ['/v1/track', 'anonymousId', { anonymousId: 'é'.repeat(513), event: 'E' }],
      ['/v1/group', 'groupId', { userId: 'u', groupId: 'g'.repeat(1025) }],
      ['/v1/alias', 'previousId', { userId: 'u', previousId: 'p'.repeat(1025) }],
    ])('%s: a %s over 1024 bytes gets 400 with the field named', async (path, field, body) => {
      expect(await post(path, body, auth(bounded))).toMatchObject({ status: 400, body: `Invalid request: ${field} ${TOO_LONG}` });
    });

    it.each([
      ['/v1/identify', 'userId', { userId: 'u\u0000' }, NUL],
      ['/v1/track', 'anonymousId', { anonymousId: '\udfff', event: 'E' }, UNPAIRED],
      ['/v1/group', 'groupId', { userId: 'u', groupId: '\u0000g' }, NUL],
      ['/v1/alias', 'previousId', { userId: 'u', previousId: 'p\ud800' }, UNPAIRED],
      ['/v1/track', 'messageId', { userId: 'u', event: 'E', messageId: '\u0000abc' }, NUL],
    ])('%s: a %s with NUL or an unpaired surrogate gets 400, never a cleaned id', async (path, field, body, problem) => {
      expect(await post(path, body, auth(bounded))).toMatchObject({ status: 400, body: `Invalid request: ${field} ${problem}` });
    });

    it('refuses NUL in a value or a key, and a number JSON cannot hold as a double', async () => {
      expect(await post('/v1/track', { userId: 'u', event: 'E', properties: { name: 'a\u0000b' } }, auth(bounded))).toMatchObject({ status: 400, body: `Invalid request: properties.name ${NUL}` });
      expect(await post('/v1/track', { userId: 'u', event: 'E', properties: { list: [{ ['k\u0000']: 1 }] } }, auth(bounded))).toMatchObject({
        status: 400,
        body: `Invalid request: a key of properties.list.0 ${NUL}`,
      });
      expect(await post('/v1/track', '{"userId":"u","event":"E","properties":{"total":1e400}}', auth(bounded))).toMatchObject({ status: 400, body: 'Invalid request: properties.total is a number too large to store' });
      expect(await post('/v1/identify', '{"userId":1e400}', auth(bounded))).toMatchObject({ status: 400, body: 'Invalid request: userId is a number too large to store' });
    });

    it('keeps "\\ud800" and "\\udfff" apart: both refused, neither stored, each its own rejected row', async () => {
      const other = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      for (const messageId of ['\ud800', '\udfff']) {
        expect(await post('/v1/track', { userId: 'u', event: 'E', messageId }, auth(other))).toMatchObject({ status: 400, body: `Invalid request: messageId ${UNPAIRED}` });
      }
      const rows = await stack.rows<{ id: string; message_id: string; event: Record<string, unknown> }>('SELECT id, message_id, event FROM rejected_events WHERE source_id = $1 ORDER BY id', [other.id], 2);
      // jsonb cannot hold either half, so each row keeps U+FFFD in its place; the rows stay two.
      expect(rows.map((row) => [row.message_id, row.event.messageId])).toEqual([
        ['\ufffd', '\ufffd'],
        ['\ufffd', '\ufffd'],
      ]);
      expect(rows[0].id).not.toBe(rows[1].id);
      expect(await stack.env.db.query('SELECT count(*)::int AS n FROM events WHERE source_id = $1', [other.id])).toEqual([{ n: 0 }]);
    });

    it('stores the good events of a batch and records each unstorable one with its reason', async () => {
      const good = (messageId: string) => ({ type: 'track', userId: 'u', event: 'E', messageId });
      const batch = [
        good('mix-good-1'),
        { type: 'track', userId: 'u', event: 'E', messageId: 'm'.repeat(1025) },
        { type: 'identify', userId: 'é'.repeat(513), messageId: 'mix-user' },
        { type: 'group', userId: 'u', groupId: 'g'.repeat(1025), messageId: 'mix-group' },
        { type: 'alias', userId: 'u', previousId: '\u0000', messageId: 'mix-alias' },
        { type: 'track', userId: 'u', event: 'E', messageId: '\u0000abc' },
        good('abc'),
        { type: 'track', userId: 'u', event: 'E', messageId: 'mix-value', properties: { name: 'a\u0000b' } },
        { type: 'page', anonymousId: 'a', messageId: 'mix-key', properties: { ['\ud800']: 'x' } },
        good('mix-good-2'),
        { type: 'track', userId: null, anonymousId: 'a', event: 'E', messageId: 'mix-null-user' },
      ];
      const text = JSON.stringify({ batch }).replace('"mix-good-2"}', '"mix-good-2","properties":{"ok":1e308}}');
      const answer = await post('/v1/batch', text.replace('"messageId":"mix-value"', '"messageId":"mix-value","total":-1e400'), auth(bounded));
      expect([answer.status, answer.body]).toEqual([200, 'OK']);
      const goodRows = await stack.rows<{ message_id: string; user_id: string | null }>(
        "SELECT message_id, user_id FROM events WHERE source_id = $1 AND message_id IN ('mix-good-1', 'abc', 'mix-good-2', 'mix-null-user') ORDER BY message_id",
        [bounded.id],
        4,
      );
      expect(goodRows).toEqual([
        { message_id: 'abc', user_id: 'u' },
        { message_id: 'mix-good-1', user_id: 'u' },
        { message_id: 'mix-good-2', user_id: 'u' },
        { message_id: 'mix-null-user', user_id: null },
      ]);
      const rows = await stack.rows<{ reason: string; message_id: string; event: Record<string, unknown> }>(
        "SELECT reason, message_id, event FROM rejected_events WHERE source_id = $1 AND (message_id LIKE 'mix-%' OR message_id LIKE 'mmm%' OR message_id = '\ufffdabc')",
        [bounded.id],
        7,
      );
      const byId = [...rows].sort((a, b) => (a.message_id < b.message_id ? -1 : 1));
      expect(byId.map((row) => [row.message_id.length > 100 ? `${row.message_id[0]}×${row.message_id.length}` : row.message_id, row.reason])).toEqual([
        ['mix-alias', `previousId ${NUL}`],
        ['mix-group', `groupId ${TOO_LONG}`],
        ['mix-key', `a key of properties ${UNPAIRED}`],
        ['mix-user', `userId ${TOO_LONG}`],
        ['mix-value', 'total is a number too large to store'],
        ['m×1025', `messageId ${TOO_LONG}`],
        ['\ufffdabc', `messageId ${NUL}`],
      ]);
      // Kept as sent, but for what jsonb cannot hold: U+FFFD for NUL, null for -1e400.
      expect(rows.find((row) => row.message_id === 'mix-value')?.event).toEqual({ type: 'track', userId: 'u', event: 'E', messageId: 'mix-value', total: null, properties: { name: 'a\ufffdb' } });
    });

    it('refuses every event of a batch whose shared context cannot be stored', async () => {
      const answer = await post('/v1/batch', { context: { page: { title: 'x\u0000' } }, batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'shared-1' }] }, auth(bounded));
      expect([answer.status, answer.body]).toEqual([400, `Invalid request: context.page.title ${NUL}`]);
      const [row] = await stack.rows<{ reason: string }>('SELECT reason FROM rejected_events WHERE message_id = $1', ['shared-1'], 1);
      expect(row.reason).toBe(`context.page.title ${NUL}`);
    });

    it('applies the same rules to beacon, webhook and pixel events', async () => {
      const beacon = await post(`/beacon/v1/batch?writeKey=${bounded.writeKey}`, { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'b'.repeat(1025) }] }, { 'Content-Type': 'text/plain;charset=UTF-8' });
      expect([beacon.status, beacon.body]).toEqual([400, `Invalid request: messageId ${TOO_LONG}`]);
      const hook = await post(`/v1/webhook?writeKey=${webhook.writeKey}`, '{"order":{"total":1e400}}');
      expect([hook.status, hook.body]).toEqual([400, 'Invalid request: properties.order.total is a number too large to store']);
      const pixel = await send(stack.url, { path: `/pixel/v1/track?writeKey=${bounded.writeKey}&userId=u&event=E&messageId=pixel-nul&properties.name=a%00b`, method: 'GET' });
      expect([pixel.status, pixel.headers.get('content-type')]).toEqual([200, 'image/gif']);
      const [row] = await stack.rows<{ reason: string }>('SELECT reason FROM rejected_events WHERE message_id = $1', ['pixel-nul'], 1);
      expect(row.reason).toBe(`properties.name ${NUL}`);
      await drained();
      expect(await stored(['pixel-nul', 'b'.repeat(1025)])).toEqual([]);
    });
  });

  describe('413', () => {
    it('answers Request size too large for a body over MAX_REQUEST_SIZE', async () => {
      const answer = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'x'.repeat(120 * 1024) }] }, auth(source));
      expect([answer.status, answer.body]).toEqual([413, 'Request size too large']);
    });

    it('applies the limit to the inflated bytes: a gzip bomb is cut off without the process growing', async () => {
      const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20), { level: 9 });
      expect(bomb.length).toBeLessThan(1024 * 1024);
      const before = process.memoryUsage().rss;
      const answer = await send(stack.url, { path: '/v1/batch', method: 'POST', headers: { ...auth(source), 'Content-Encoding': 'gzip' }, body: bomb });
      const grown = process.memoryUsage().rss - before;
      expect([answer.status, answer.body]).toEqual([413, 'Request size too large']);
      expect(grown).toBeLessThan(64 * 1024 * 1024);
    });
  });

  describe('429', () => {
    it('answers Too many requests with Retry-After once a source passes its rate limit', async () => {
      const track = () => post('/v1/track', { userId: 'u', event: 'E' }, auth(limited));
      const statuses = [(await track()).status, (await track()).status, (await track()).status];
      const limitedAnswer = await track();
      expect(statuses).toEqual([200, 200, 200]);
      expect([limitedAnswer.status, limitedAnswer.body]).toEqual([429, 'Too many requests']);
      expect(Number(limitedAnswer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(limitedAnswer.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    });
  });

  describe('CORS', () => {
    it('passes the browser SDKs’ preflight for any origin, without credentials', async () => {
      const answer = await send(stack.url, {
        path: '/v1/batch',
        method: 'OPTIONS',
        headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,anonymousid,sentat,rsa-retry-attempt' },
      });
      expect(answer.status).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe('*');
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
      const allowed = (answer.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'anonymousid', 'sentat', 'x-retry-count', 'rsa-retry-attempt']));
      expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
    });

    it('exposes Retry-After on answers so browsers can read it', async () => {
      const answer = await post('/v1/track', { userId: 'u', event: 'E' }, { ...auth(source), Origin: 'https://shop.example' });
      expect(answer.headers.get('access-control-expose-headers')).toBe('Retry-After');
    });
  });
});
