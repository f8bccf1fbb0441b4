import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { postJson, startStack, type Stack } from './test-support/harness';

// The internal API (README, The internal API): each route's auth failures with exact status and body, its rows,
// and idempotency when the same request is delivered twice.
describe('internal API', () => {
  let stack: Stack;
  let events: Source;
  let disabled: Source;

  beforeAll(async () => {
    stack = await startStack('internal', { MAX_REQUEST_SIZE: '100KB' }, { internalWorker: true });
    events = await createSource(stack.env);
    disabled = await createSource(stack.env, { enabled: false });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.url, path, body, headers);
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
      expect(await post('/internal/v1/replay', { batch: [{ type: 'track', userId: 'u', event: 'E' }] }, bySourceId(events.id))).toMatchObject({
        status: 401,
        body: 'Invalid source id',
      });
    });
  });

  describe('replay sources', () => {
    const replayed = { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'replay-refused-1' }] };

    it("a replay of another workspace's source → 401 Invalid source id, and nothing is stored", async () => {
      const elsewhere = await createSource(stack.env);
      const crossing = await createSource(stack.env, { kind: 'replay', originalSourceId: events.id, workspaceId: elsewhere.workspaceId });
      await stack.gateway.sources.refresh();
      expect(await post('/internal/v1/replay', replayed, bySourceId(crossing.id))).toMatchObject({ status: 401, body: 'Invalid source id' });
    });

    it('a replay of a disabled source → 404 Source is disabled, as that source itself would be', async () => {
      const original = await createSource(stack.env, { enabled: false });
      const replay = await createSource(stack.env, { kind: 'replay', originalSourceId: original.id });
      await stack.gateway.sources.refresh();
      expect(await post('/internal/v1/replay', replayed, bySourceId(replay.id))).toMatchObject({ status: 404, body: 'Source is disabled' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await stack.env.db.query('SELECT count(*)::int AS n FROM events WHERE message_id = $1', ['replay-refused-1'])).toEqual([{ n: 0 }]);
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
      const rows = await stack.rows("SELECT type, user_id, event, payload->'properties' AS properties FROM events WHERE message_id = $1", ['extract-1'], 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query('SELECT count(*)::int AS n FROM events WHERE message_id = $1', ['extract-1'])).toEqual([{ n: 1 }]);
      expect(rows).toEqual([{ type: 'extract', user_id: null, event: 'Row Extracted', properties: { table: 'orders', id: 7 } }]);
    });

    it('answers 400 for a body that is not an event', async () => {
      expect(await post('/internal/v1/extract', [1, 2], { Authorization: basicAuth(events.writeKey) })).toMatchObject({
        status: 400,
        body: 'Invalid request: event must be an object',
      });
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
      expect(await post('/internal/v1/audiencelist', list('al-1', [{ EMAIL: 'a@x.io' }, { EMAIL: 'b@x.io' }, { EMAIL: 'c@x.io' }]), auth)).toMatchObject({
        status: 200,
        body: 'OK',
      });
      // Adds then removes within one request: c is added and removed, so it ends up out.
      expect(
        await post('/internal/v1/audiencelist', list('al-2', [{ EMAIL: 'd@x.io' }, { EMAIL: 'c@x.io' }], [{ EMAIL: 'a@x.io' }, { EMAIL: 'c@x.io' }]), auth),
      ).toMatchObject({ status: 200 });
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
      expect(
        await post('/internal/v1/audiencelist', list('al-2', [{ EMAIL: 'd@x.io' }, { EMAIL: 'c@x.io' }], [{ EMAIL: 'a@x.io' }, { EMAIL: 'c@x.io' }]), auth),
      ).toMatchObject({ status: 200 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await members()).toEqual(expected);
    });

    it('answers 400 when listData is missing', async () => {
      expect(await post('/internal/v1/audiencelist', { properties: {} }, { Authorization: basicAuth(events.writeKey) })).toMatchObject({
        status: 400,
        body: 'Invalid request: properties.listData is required',
      });
    });

    it('is exempt from MAX_REQUEST_SIZE', async () => {
      const many = Array.from({ length: 3000 }, (_, i) => ({ EMAIL: `member-${i}@example.com`, FIRST_NAME: 'someone' }));
      const body = { messageId: 'al-big', properties: { audienceId: 'big-list', listData: { add: many } } };
      expect(JSON.stringify(body).length).toBeGreaterThan(100 * 1024);
      expect(await post('/internal/v1/extract', { event: 'x', properties: { many } }, { Authorization: basicAuth(events.writeKey) })).toMatchObject({
        status: 413,
        body: 'Request size too large',
      });
      expect(await post('/internal/v1/audiencelist', body, { Authorization: basicAuth(events.writeKey) })).toMatchObject({ status: 200, body: 'OK' });
      expect(await stack.rows("SELECT count(*)::int AS n FROM audience_members WHERE audience_id = 'big-list' HAVING count(*) = 3000", [], 1)).toEqual([
        { n: 3000 },
      ]);
    });
  });
});
