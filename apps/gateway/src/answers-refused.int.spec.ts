import { gzipSync } from 'node:zlib';
import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { postJson, send, startStack, type Stack } from './test-support/harness';

// The refusals of the answer table (README, The HTTP API: 401, 404, 400, 413, 429) and CORS, with the exact status and body.
describe('gateway answers: refusals', () => {
  let stack: Stack;
  let source: Source;
  let disabled: Source;
  let webhook: Source;
  let limited: Source;

  beforeAll(async () => {
    stack = await startStack('answers-refused', { MAX_REQUEST_SIZE: '100KB', MAX_EVENT_SIZE: '2KB' });
    source = await createSource(stack.env);
    disabled = await createSource(stack.env, { enabled: false });
    webhook = await createSource(stack.env, { kind: 'webhook' });
    limited = await createSource(stack.env, { rateLimitEvents: 3, rateLimitWindowSeconds: 60 });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.url, path, body, headers);
  const auth = (s: Source) => ({ Authorization: basicAuth(s.writeKey) });
  const rejectedOf = (sourceId: string, count: number) =>
    stack.rows<{ reason: string; message_id: string | null; event: unknown; event_size: number | null }>(
      'SELECT reason, message_id, event, event_size FROM rejected_events WHERE source_id = $1 ORDER BY reason, message_id',
      [sourceId],
      count,
    );

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
      const form = await send(stack.url, {
        path: '/v1/webhook',
        method: 'POST',
        headers: { ...auth(webhook), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=two',
      });
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
      const gzip = await send(stack.url, {
        path: '/v1/batch',
        method: 'POST',
        headers: { ...auth(source), 'Content-Encoding': 'gzip' },
        body: Buffer.from('not gzip at all'),
      });
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
      const answer = await post(
        '/v1/batch',
        {
          batch: [
            { type: 'track', event: 'E', messageId: 'all-bad-1' },
            { type: 'track', userId: 'u', messageId: 'all-bad-2' },
          ],
        },
        auth(other),
      );
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
        headers: {
          Origin: 'https://shop.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type,anonymousid,sentat,rsa-retry-attempt',
        },
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
