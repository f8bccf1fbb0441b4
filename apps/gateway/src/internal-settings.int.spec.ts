import { basicAuth, createSource } from '@evt/testing';
import { send, startStack } from './test-support/harness';

describe('internal API settings', () => {
  it('requires INTERNAL_API_TOKEN, as Basic password or X-Internal-Token, on every internal route', async () => {
    const stack = await startStack('internal-token', { INTERNAL_API_TOKEN: 's3cret' });
    try {
      const source = await createSource(stack.env);
      await stack.gateway.sources.refresh();
      const post = (path: string, headers: Record<string, string>) =>
        send(stack.url, { path, method: 'POST', headers, body: JSON.stringify({ event: 'x', properties: {} }) });
      expect(await post('/internal/v1/extract', { Authorization: basicAuth(source.writeKey) })).toMatchObject({
        status: 401,
        body: 'Invalid Authorization Header',
      });
      expect(await post('/internal/v1/extract', { Authorization: basicAuth(source.writeKey, 'wrong') })).toMatchObject({
        status: 401,
        body: 'Invalid Authorization Header',
      });
      expect(await post('/internal/v1/extract', { Authorization: basicAuth(source.writeKey, 's3cret') })).toMatchObject({ status: 200, body: 'OK' });
      expect(await post('/internal/v1/batch', { 'X-Rudder-Source-Id': source.id })).toMatchObject({ status: 401, body: 'Invalid Authorization Header' });
      expect(await post('/internal/v1/batch', { 'X-Rudder-Source-Id': source.id, 'X-Internal-Token': 's3cret' })).toMatchObject({ status: 400 });
      // The public API does not need the token.
      expect(
        (
          await send(stack.url, {
            path: '/v1/track',
            method: 'POST',
            headers: { Authorization: basicAuth(source.writeKey) },
            body: JSON.stringify({ userId: 'u', event: 'E' }),
          })
        ).status,
      ).toBe(200);
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
        expect([path, await send(stack.url, { path, method: 'POST', headers: { Authorization: basicAuth(source.writeKey) }, body: '{}' })]).toEqual([
          path,
          expect.objectContaining({ status: 404, body: 'Not found' }),
        ]);
      }
    } finally {
      await stack.stop();
    }
  });
});
