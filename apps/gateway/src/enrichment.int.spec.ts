import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { rudderId } from '@evt/ingest';
import { send, startStack, type Stack } from './test-support/harness';

interface StoredEvent extends Record<string, unknown> {
  message_id: string;
  user_id: string | null;
  anonymous_id: string | null;
  rudder_id: string;
  received_at: string;
  sent_at: string | null;
  original_timestamp: string | null;
  timestamp: string | null;
  request_ip: string;
  payload: Record<string, any>;
}

// What the gateway adds to every event, as stored by the worker (README, The HTTP API).
describe('gateway enrichment, as stored', () => {
  let stack: Stack;
  let source: Source;

  beforeAll(async () => {
    stack = await startStack('enrichment', { TRUST_PROXY: 'true' });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(stack.url, {
      path,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: basicAuth(source.writeKey), ...headers },
      body: JSON.stringify(body),
    });
  const stored = async (messageId: string) =>
    (
      await stack.rows<StoredEvent>(
        `SELECT message_id, user_id, anonymous_id, rudder_id::text, to_json(received_at)#>>'{}' AS received_at, to_json(sent_at)#>>'{}' AS sent_at,
                to_json(original_timestamp)#>>'{}' AS original_timestamp, to_json("timestamp")#>>'{}' AS timestamp, request_ip, payload
         FROM events WHERE source_id = $1 AND message_id = $2`,
        [source.id, messageId],
        1,
      )
    )[0];

  it('corrects the client clock: timestamp = receivedAt − (sentAt − originalTimestamp) (RudderStack events)', async () => {
    // The client's clock is one hour behind; the event happened 5 s before it was sent.
    const answer = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u1', event: 'E', messageId: 'skew-1', originalTimestamp: '2026-01-01T10:00:00.000Z', sentAt: '2026-01-01T10:00:05.000Z' },
      ],
    });
    expect(answer.status).toBe(200);
    const row = await stored('skew-1');
    const receivedAt = Date.parse(row.payload.receivedAt);
    expect(Date.parse(row.payload.timestamp)).toBe(receivedAt - 5000);
    expect(row.payload.originalTimestamp).toBe('2026-01-01T10:00:00.000Z');
    expect(Date.parse(row.timestamp ?? '')).toBe(receivedAt - 5000);
    expect(Date.parse(row.original_timestamp ?? '')).toBe(Date.parse('2026-01-01T10:00:00.000Z'));
    expect(Date.parse(row.received_at)).toBe(receivedAt);
  });

  it("corrects Segment events with the batch's sentAt and the event's timestamp, keeping the client's time in originalTimestamp", async () => {
    const answer = await post('/v1/batch', {
      sentAt: '2030-05-05T00:00:10.000Z',
      batch: [{ type: 'track', userId: 'u1', event: 'E', messageId: 'skew-2', timestamp: '2030-05-05T00:00:00.000Z' }],
    });
    expect(answer.status).toBe(200);
    const row = await stored('skew-2');
    expect(Date.parse(row.payload.timestamp)).toBe(Date.parse(row.payload.receivedAt) - 10_000);
    expect(row.payload.originalTimestamp).toBe('2030-05-05T00:00:00.000Z');
    expect(row.payload.sentAt).toBe('2030-05-05T00:00:10.000Z');
    expect(Date.parse(row.sent_at ?? '')).toBe(Date.parse('2030-05-05T00:00:10.000Z'));
  });

  it('uses receivedAt as timestamp when the client sent no time at all', async () => {
    await post('/v1/track', { userId: 'u1', event: 'E', messageId: 'no-time' });
    const row = await stored('no-time');
    expect(row.payload.timestamp).toBe(row.payload.receivedAt);
    expect(row.original_timestamp).toBeNull();
    expect(row.payload.receivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('stores rudderId = md5 UUID of "userId:anonymousId", numeric ids as strings', async () => {
    await post('/v1/identify', { userId: 42, anonymousId: 7, messageId: 'numeric-ids', traits: { plan: 'pro' } });
    const row = await stored('numeric-ids');
    expect([row.user_id, row.anonymous_id, row.payload.userId, row.payload.anonymousId]).toEqual(['42', '7', '42', '7']);
    expect(row.rudder_id).toBe(rudderId('42', '7'));
    expect(row.payload.rudderId).toBe(row.rudder_id);
  });

  it('keeps a messageId without its invisible edges, and makes a UUID when there is none', async () => {
    await post('/v1/track', { userId: 'u1', event: 'E', messageId: '\u200b  padded-id \n' });
    expect((await stored('padded-id')).message_id).toBe('padded-id');
    await post('/v1/track', { userId: 'no-message-id', event: 'E' });
    const [row] = await stack.rows<{ message_id: string }>('SELECT message_id FROM events WHERE user_id = $1', ['no-message-id'], 1);
    expect(row.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('merges batch-level context and integrations under each event’s own', async () => {
    await post('/v1/batch', {
      context: { library: { name: 'batch-lib' }, app: { version: '1' } },
      integrations: { All: false, Amplitude: true },
      batch: [
        { type: 'track', userId: 'u1', event: 'E', messageId: 'merged', context: { app: { build: '9' }, ip: '1.2.3.4' }, integrations: { Amplitude: false } },
      ],
    });
    const row = await stored('merged');
    expect(row.payload.context).toEqual({ library: { name: 'batch-lib' }, app: { version: '1', build: '9' }, ip: '1.2.3.4' });
    expect(row.payload.integrations).toEqual({ All: false, Amplitude: false });
  });

  it('takes a null field as absent: the batch’s context, integrations and sentAt apply, the AnonymousId header too', async () => {
    const answer = await post(
      '/v1/batch',
      {
        sentAt: '2030-05-05T00:00:10.000Z',
        context: { traits: { plan: 'pro' }, library: { name: 'batch-lib' }, ip: null },
        integrations: { All: true },
        batch: [
          {
            type: 'track',
            userId: 'null-merge',
            anonymousId: null,
            event: 'E',
            messageId: 'null-merge',
            sentAt: null,
            timestamp: '2030-05-05T00:00:00.000Z',
            context: { traits: null, library: { name: null, version: '2' } },
            integrations: null,
          },
        ],
      },
      { AnonymousId: Buffer.from('anon-null').toString('base64') },
    );
    expect([answer.status, answer.body]).toEqual([200, 'OK']);
    const row = await stored('null-merge');
    expect(row.payload.context).toEqual({ traits: { plan: 'pro' }, library: { name: 'batch-lib', version: '2' } });
    expect(row.payload.integrations).toEqual({ All: true });
    expect([row.anonymous_id, row.payload.anonymousId, row.rudder_id]).toEqual(['anon-null', 'anon-null', rudderId('null-merge', 'anon-null')]);
    expect(row.payload.sentAt).toBe('2030-05-05T00:00:10.000Z');
    expect(Date.parse(row.payload.timestamp)).toBe(Date.parse(row.payload.receivedAt) - 10_000);
  });

  it('takes request_ip from X-Forwarded-For behind a trusted proxy, and the AnonymousId header when the event has none', async () => {
    await post(
      '/v1/page',
      { messageId: 'forwarded', name: 'Home' },
      { 'X-Forwarded-For': '203.0.113.9, 10.0.0.1', AnonymousId: Buffer.from('anon-from-header').toString('base64') },
    );
    const row = await stored('forwarded');
    expect(row.request_ip).toBe('203.0.113.9');
    expect(row.payload.request_ip).toBe('203.0.113.9');
    expect(row.anonymous_id).toBe('anon-from-header');
  });

  it('keeps profiles current: identify merges traits into users, group into groups, alias into aliases', async () => {
    await post('/v1/batch', {
      batch: [
        {
          type: 'identify',
          userId: 'profile-1',
          anonymousId: 'anon-1',
          traits: { plan: 'free', email: 'a@example.com' },
          messageId: 'p-1',
          originalTimestamp: '2026-01-01T00:00:00.000Z',
          sentAt: '2026-01-01T00:00:00.000Z',
        },
        {
          type: 'identify',
          userId: 'profile-1',
          traits: { plan: 'pro' },
          messageId: 'p-2',
          originalTimestamp: '2026-01-01T00:00:01.000Z',
          sentAt: '2026-01-01T00:00:01.000Z',
        },
        { type: 'group', userId: 'profile-1', groupId: 'acme', traits: { employees: 10 }, messageId: 'p-3' },
        { type: 'alias', userId: 'profile-1', previousId: 'anon-1', messageId: 'p-4' },
      ],
    });
    const [user] = await stack.rows<{ traits: unknown; anonymous_id: string; last_message_id: string }>(
      'SELECT traits, anonymous_id, last_message_id FROM users WHERE user_id = $1 AND workspace_id = $2',
      ['profile-1', source.workspaceId],
      1,
    );
    expect(user).toEqual({ traits: { plan: 'pro', email: 'a@example.com' }, anonymous_id: 'anon-1', last_message_id: 'p-2' });
    expect(await stack.rows('SELECT group_id, traits, last_user_id FROM groups WHERE workspace_id = $1', [source.workspaceId], 1)).toEqual([
      { group_id: 'acme', traits: { employees: 10 }, last_user_id: 'profile-1' },
    ]);
    expect(await stack.rows('SELECT previous_id, user_id, message_id FROM aliases WHERE workspace_id = $1', [source.workspaceId], 1)).toEqual([
      { previous_id: 'anon-1', user_id: 'profile-1', message_id: 'p-4' },
    ]);
  });
});
