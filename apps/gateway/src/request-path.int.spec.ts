import { basicAuth, createSource } from '@evt/testing';
import type { Source } from '@evt/db';
import { send, startStack, type Stack } from './test-support/harness';

// The way of a request through the gateway (listener.ts, request/read.ts).
describe('request path', () => {
  let stack: Stack;
  const sources: Record<string, Source> = {};

  beforeAll(async () => {
    stack = await startStack('unreadable', { MAX_REQUEST_SIZE: '10KB', MAX_AUDIENCE_LIST_SIZE: '20KB' });
    for (const route of ['track', 'batch', 'beacon', 'extract', 'audiencelist', 'retl', 'batchInternal', 'webhook']) {
      sources[route] = await createSource(stack.env, { kind: route === 'retl' ? 'retl' : route === 'webhook' ? 'webhook' : undefined });
    }
    sources.replayOriginal = await createSource(stack.env);
    sources.replay = await createSource(stack.env, { kind: 'replay', originalSourceId: sources.replayOriginal.id });
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const byWriteKey = (route: string) => ({ path: '', headers: { Authorization: basicAuth(sources[route].writeKey) } });
  const bySourceId = (route: string) => ({ path: '', headers: { Authorization: basicAuth(sources[route].id) } });
  const routes: Array<[string, string, (route: string) => { path: string; headers: Record<string, string> }]> = [
    ['track', '/v1/track', byWriteKey],
    ['batch', '/v1/batch', byWriteKey],
    ['beacon', '/beacon/v1/batch?writeKey=', () => ({ path: sources.beacon.writeKey, headers: {} })],
    ['extract', '/internal/v1/extract', byWriteKey],
    ['audiencelist', '/internal/v1/audiencelist', byWriteKey],
    ['retl', '/internal/v1/retl', bySourceId],
    ['replay', '/internal/v1/replay', bySourceId],
    ['batchInternal', '/internal/v1/batch', bySourceId],
    ['webhook', '/v1/webhook?writeKey=', () => ({ path: sources.webhook.writeKey, headers: {} })],
  ];

  // README, The HTTP API: "Nothing a client sent disappears without a trace". Every route with a
  // body reads it the same way (request/read.ts): a known source's body that is not JSON, or too
  // large, is answered 400 or 413 and leaves a rejected-event record of its size.
  it.each(routes)('%s (%s): Invalid JSON and Request size too large each leave a record', async (route, path, credentials) => {
    const { path: suffix, headers } = credentials(route);
    const post = (body: string) =>
      send(stack.url, { path: `${path}${suffix}`, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    const notJson = '{"batch": [';
    const tooLarge = JSON.stringify({ batch: [], padding: 'x'.repeat(30 * 1024) });
    expect(await post(notJson)).toMatchObject({ status: 400, body: 'Invalid JSON' });
    expect(await post(tooLarge)).toMatchObject({ status: 413, body: 'Request size too large' });
    const rows = await stack.rows<{ reason: string; event: unknown; event_size: number }>(
      'SELECT reason, event, event_size FROM rejected_events WHERE source_id = $1 ORDER BY reason',
      [sources[route].id],
      2,
    );
    expect(rows).toEqual([
      { reason: 'Invalid JSON', event: null, event_size: Buffer.byteLength(notJson) },
      { reason: 'Request size too large', event: null, event_size: Buffer.byteLength(tooLarge) },
    ]);
  });

  it('takes an event route in another case or with a trailing slash, as Express routes match; other methods are 404', async () => {
    const post = (path: string, messageId: string) =>
      send(stack.url, {
        path,
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: basicAuth(sources.track.writeKey) },
        body: JSON.stringify({ userId: 'u', event: 'E', messageId }),
      });
    expect(await post('/v1/track/', 'loose-1')).toMatchObject({ status: 200, body: 'OK' });
    expect(await post('/V1/Track', 'loose-2')).toMatchObject({ status: 200, body: 'OK' });
    expect(await send(stack.url, { path: '/v1/track', method: 'GET' })).toMatchObject({ status: 404, body: 'Not found' });
    const rows = await stack.rows<{ message_id: string; type: string }>(
      "SELECT message_id, type FROM events WHERE source_id = $1 AND message_id LIKE 'loose-%' ORDER BY message_id",
      [sources.track.id],
      2,
    );
    expect(rows).toEqual([
      { message_id: 'loose-1', type: 'track' },
      { message_id: 'loose-2', type: 'track' },
    ]);
  });
});
