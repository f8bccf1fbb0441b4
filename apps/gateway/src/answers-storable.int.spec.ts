import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { postJson, send, startStack, type Stack } from './test-support/harness';

// The 400 rows of the answer table (README, The HTTP API) for what Postgres cannot keep exactly, and what was stored.
describe('gateway answers: what Postgres cannot keep exactly', () => {
  let stack: Stack;
  let webhook: Source;

  beforeAll(async () => {
    stack = await startStack('answers-storable', { MAX_REQUEST_SIZE: '100KB', MAX_EVENT_SIZE: '2KB' });
    webhook = await createSource(stack.env, { kind: 'webhook' });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => postJson(stack.url, path, body, headers);
  const auth = (s: Source) => ({ Authorization: basicAuth(s.writeKey) });

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
      stack.env.db.query<{ message_id: string }>('SELECT message_id FROM events WHERE source_id = $1 AND message_id = ANY($2) ORDER BY message_id', [
        bounded.id,
        messageIds,
      ]);
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
        expect(await post('/v1/track', { userId: 'u', event: 'E', messageId }, auth(bounded))).toMatchObject({
          status: 400,
          body: `Invalid request: messageId ${TOO_LONG}`,
        });
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
      expect(await post('/v1/track', { userId: 'u', event: 'E', properties: { name: 'a\u0000b' } }, auth(bounded))).toMatchObject({
        status: 400,
        body: `Invalid request: properties.name ${NUL}`,
      });
      expect(await post('/v1/track', { userId: 'u', event: 'E', properties: { list: [{ ['k\u0000']: 1 }] } }, auth(bounded))).toMatchObject({
        status: 400,
        body: `Invalid request: a key of properties.list.0 ${NUL}`,
      });
      expect(await post('/v1/track', '{"userId":"u","event":"E","properties":{"total":1e400}}', auth(bounded))).toMatchObject({
        status: 400,
        body: 'Invalid request: properties.total is a number too large to store',
      });
      expect(await post('/v1/identify', '{"userId":1e400}', auth(bounded))).toMatchObject({
        status: 400,
        body: 'Invalid request: userId is a number too large to store',
      });
    });

    it('keeps "\\ud800" and "\\udfff" apart: both refused, neither stored, each its own rejected row', async () => {
      const other = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      for (const messageId of ['\ud800', '\udfff']) {
        expect(await post('/v1/track', { userId: 'u', event: 'E', messageId }, auth(other))).toMatchObject({
          status: 400,
          body: `Invalid request: messageId ${UNPAIRED}`,
        });
      }
      const rows = await stack.rows<{ id: string; message_id: string; event: Record<string, unknown> }>(
        'SELECT id, message_id, event FROM rejected_events WHERE source_id = $1 ORDER BY id',
        [other.id],
        2,
      );
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
      expect(rows.find((row) => row.message_id === 'mix-value')?.event).toEqual({
        type: 'track',
        userId: 'u',
        event: 'E',
        messageId: 'mix-value',
        total: null,
        properties: { name: 'a\ufffdb' },
      });
    });

    it('refuses every event of a batch whose shared context cannot be stored', async () => {
      const answer = await post(
        '/v1/batch',
        { context: { page: { title: 'x\u0000' } }, batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'shared-1' }] },
        auth(bounded),
      );
      expect([answer.status, answer.body]).toEqual([400, `Invalid request: context.page.title ${NUL}`]);
      const [row] = await stack.rows<{ reason: string }>('SELECT reason FROM rejected_events WHERE message_id = $1', ['shared-1'], 1);
      expect(row.reason).toBe(`context.page.title ${NUL}`);
    });

    it('applies the same rules to beacon, webhook and pixel events', async () => {
      const beacon = await post(
        `/beacon/v1/batch?writeKey=${bounded.writeKey}`,
        { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'b'.repeat(1025) }] },
        { 'Content-Type': 'text/plain;charset=UTF-8' },
      );
      expect([beacon.status, beacon.body]).toEqual([400, `Invalid request: messageId ${TOO_LONG}`]);
      const hook = await post(`/v1/webhook?writeKey=${webhook.writeKey}`, '{"order":{"total":1e400}}');
      expect([hook.status, hook.body]).toEqual([400, 'Invalid request: properties.order.total is a number too large to store']);
      const pixel = await send(stack.url, {
        path: `/pixel/v1/track?writeKey=${bounded.writeKey}&userId=u&event=E&messageId=pixel-nul&properties.name=a%00b`,
        method: 'GET',
      });
      expect([pixel.status, pixel.headers.get('content-type')]).toEqual([200, 'image/gif']);
      const [row] = await stack.rows<{ reason: string }>('SELECT reason FROM rejected_events WHERE message_id = $1', ['pixel-nul'], 1);
      expect(row.reason).toBe(`properties.name ${NUL}`);
      await drained();
      expect(await stored(['pixel-nul', 'b'.repeat(1025)])).toEqual([]);
    });
  });
});
