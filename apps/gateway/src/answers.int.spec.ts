import { gzipSync, deflateSync } from 'node:zlib';
import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { postJson, send, startStack, type Stack } from './test-support/harness';

// Every row of the answer table (README, The HTTP API), with the exact status and body, and what was stored.
describe('gateway answers', () => {
  let stack: Stack;
  let source: Source;

  beforeAll(async () => {
    stack = await startStack('answers', { MAX_REQUEST_SIZE: '100KB', MAX_EVENT_SIZE: '2KB' });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.url, path, body, headers);
  const auth = (s: Source) => ({ Authorization: basicAuth(s.writeKey) });
  const eventsOf = (messageIds: string[]) =>
    stack.rows<{ message_id: string; type: string; user_id: string | null; event: string | null }>(
      'SELECT message_id, type, user_id, event FROM events WHERE source_id = $1 AND message_id = ANY($2) ORDER BY message_id',
      [source.id, messageIds],
      messageIds.length,
    );

  describe('200 OK', () => {
    it('accepts a track with `Basic base64("key:")`, answers text/plain OK and stores the event', async () => {
      const answer = await post('/v1/track', { userId: 'u-1', event: 'Order Completed', messageId: 'ok-1', properties: { total: 10 } }, auth(source));
      expect([answer.status, answer.body, answer.headers.get('content-type')]).toEqual([200, 'OK', 'text/plain; charset=utf-8']);
      expect(await eventsOf(['ok-1'])).toEqual([{ message_id: 'ok-1', type: 'track', user_id: 'u-1', event: 'Order Completed' }]);
    });

    it('accepts the write key without the colon', async () => {
      const answer = await post(
        '/v1/track',
        { userId: 'u-2', event: 'E', messageId: 'ok-2' },
        { Authorization: `Basic ${Buffer.from(source.writeKey).toString('base64')}` },
      );
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
      const routes = {
        identify: 'identify',
        i: 'identify',
        track: 'track',
        t: 'track',
        page: 'page',
        p: 'page',
        screen: 'screen',
        s: 'screen',
        group: 'group',
        g: 'group',
        alias: 'alias',
        a: 'alias',
      };
      for (const path of Object.keys(routes)) {
        const answer = await post(
          `/v1/${path}`,
          { type: 'track', userId: 'u-4', event: 'E', groupId: 'g-1', previousId: 'p-1', messageId: `route-${path}` },
          auth(source),
        );
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
      expect((await eventsOf(['b-batch', 'b-import', 'b-short', 'b-beacon'])).map((row) => row.message_id)).toEqual([
        'b-batch',
        'b-beacon',
        'b-import',
        'b-short',
      ]);
    });

    it('inflates gzip sent as application/x-www-form-urlencoded (rudder-sdk-node) and deflate', async () => {
      const gzip = gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'u-6', event: 'E', messageId: 'gz-1' }] }));
      const gz = await send(stack.url, {
        path: '/v1/batch',
        method: 'POST',
        headers: { ...auth(source), 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Encoding': 'gzip' },
        body: gzip,
      });
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
        {
          reason: 'userId or anonymousId is required',
          message_id: 'mixed-bad-1',
          event: { type: 'track', event: 'No identity', messageId: 'mixed-bad-1' },
          event_size: null,
        },
        {
          reason: 'type must be one of identify, track, page, screen, group, alias',
          message_id: 'mixed-bad-2',
          event: { type: 'launch', userId: 'u-7', messageId: 'mixed-bad-2' },
          event_size: null,
        },
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
      expect(Object.keys(row.payload).sort()).toEqual([
        'anonymousId',
        'context',
        'event',
        'messageId',
        'receivedAt',
        'request_ip',
        'rudderId',
        'sentAt',
        'timestamp',
        'type',
      ]);
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
            {
              type: 'identify',
              userId: 'u-null',
              anonymousId: null,
              messageId: 'nulls-identify',
              traits: null,
              context: { traits: { plan: 'pro' }, ip: null },
            },
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
      const known = [
        'messageId',
        'userId',
        'anonymousId',
        'context',
        'integrations',
        'timestamp',
        'originalTimestamp',
        'sentAt',
        'channel',
        'properties',
        'traits',
        'name',
        'category',
        'event',
      ];
      expect(rows.flatMap((row) => known.filter((key) => row.payload[key] === null).map((key) => `${row.type}.${key}`))).toEqual([]);
      expect(rows[1].payload.context).toEqual({ traits: { plan: 'pro' } });
      expect(rows[3].message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const [user] = await stack.rows<{ traits: unknown }>(
        'SELECT traits FROM users WHERE user_id = $1 AND workspace_id = $2',
        ['u-null', source.workspaceId],
        1,
      );
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
});
