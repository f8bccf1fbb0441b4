import http from 'node:http';
import { connect } from 'node:net';
import { SourcesRepository } from '@evt/db';
import { basicAuth, createSource, waitFor } from '@evt/testing';
import type { Source } from '@evt/db';
import { loadConfig } from '@evt/config';
import { internalApiWarning } from './gateway';
import { PIXEL_GIF } from './routes/pixel.route';
import { send, startStack, type Stack } from './test-support/harness';

describe('gateway operations', () => {
  let stack: Stack;
  let source: Source;

  beforeAll(async () => {
    // The default refresh interval: what an operator gets without tuning anything.
    stack = await startStack('operations', { SOURCE_CONFIG_REFRESH_MS: '2000' });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const track = (writeKey: string, messageId?: string) =>
    send(stack.url, {
      path: '/v1/track',
      method: 'POST',
      headers: { Authorization: basicAuth(writeKey) },
      body: JSON.stringify({ userId: 'u', event: 'E', messageId }),
    });
  const statusWithin5s = (writeKey: string, expected: number) =>
    waitFor(async () => ((await track(writeKey)).status === expected ? true : undefined), 5000, `status ${expected}`);

  describe('source configuration', () => {
    it('sees a new source, a disabled one and a rotated key within 5 seconds, without a restart', async () => {
      const repository = new SourcesRepository(stack.env.db.db);
      const fresh = await createSource(stack.env);
      await statusWithin5s(fresh.writeKey, 200);

      await repository.setEnabled(fresh.id, false);
      await statusWithin5s(fresh.writeKey, 404);
      await repository.setEnabled(fresh.id, true);
      await statusWithin5s(fresh.writeKey, 200);

      const rotated = await repository.rotateWriteKey(fresh.id);
      await statusWithin5s(rotated!.writeKey, 200);
      expect(await track(fresh.writeKey)).toMatchObject({ status: 401, body: 'Invalid write key' });
    });
  });

  describe('pixel', () => {
    it('answers a 1×1 GIF and stores the event built from the query', async () => {
      const response = await fetch(
        `${stack.url}/pixel/v1/track?writeKey=${source.writeKey}&anonymousId=px-anon&event=Email%20Opened&messageId=px-1&campaign=winter&context.campaign.source=mail`,
      );
      const gif = Buffer.from(await response.arrayBuffer());
      expect([response.status, response.headers.get('content-type')]).toEqual([200, 'image/gif']);
      expect(gif.equals(PIXEL_GIF)).toBe(true);
      const [row] = await stack.rows<{ type: string; event: string; anonymous_id: string; payload: Record<string, any> }>(
        'SELECT type, event, anonymous_id, payload FROM events WHERE message_id = $1',
        ['px-1'],
        1,
      );
      expect([row.type, row.event, row.anonymous_id]).toEqual(['track', 'Email Opened', 'px-anon']);
      expect(row.payload.properties).toEqual({ campaign: 'winter' });
      expect(row.payload.context).toEqual({ campaign: { source: 'mail' } });
      expect(row.payload.writeKey).toBeUndefined();
    });

    it('answers the GIF even for an unknown write key, storing nothing', async () => {
      const response = await fetch(`${stack.url}/pixel/v1/page?writeKey=unknown&anonymousId=a&messageId=px-unknown`);
      expect([response.status, response.headers.get('content-type')]).toEqual([200, 'image/gif']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stack.env.db.query('SELECT 1 FROM events WHERE message_id = $1', ['px-unknown'])).toEqual([]);
    });
  });

  describe('health, version and docs', () => {
    it('answers /health/live, and /health/ready and /health with Redis and Postgres up', async () => {
      expect(await send(stack.url, { path: '/health/live', method: 'GET' })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      const ready = { status: 'ok', redis: 'up', postgres: 'up', sourcesLoaded: true, stopping: false };
      for (const path of ['/health/ready', '/health']) {
        const answer = await send(stack.url, { path, method: 'GET' });
        expect([path, answer.status, JSON.parse(answer.body)]).toEqual([path, 200, ready]);
      }
      const metrics = await send(stack.url, { path: '/metrics', method: 'GET' });
      expect(metrics.body.split('\n').filter((line) => line.startsWith('evt_dependency_up'))).toEqual([
        'evt_dependency_up{dependency="redis",service="gateway"} 1',
        'evt_dependency_up{dependency="postgres",service="gateway"} 1',
      ]);
    });

    it('warns at start when the internal API is open without INTERNAL_API_TOKEN', () => {
      expect(internalApiWarning(loadConfig({}))).toMatch(/^INTERNAL_API_TOKEN is not set: anyone who knows a source id can write pre-enriched events/);
      expect(internalApiWarning(loadConfig({ INTERNAL_API_TOKEN: 's3cret' }))).toBeUndefined();
      expect(internalApiWarning(loadConfig({ INTERNAL_API_ENABLED: 'false' }))).toBeUndefined();
    });

    it('reports its version', async () => {
      const answer = await send(stack.url, { path: '/version', method: 'GET' });
      expect(JSON.parse(answer.body)).toEqual({ name: 'evt-gateway', version: '0.0.0-test' });
    });

    it('serves the OpenAPI document and a page that renders it', async () => {
      const spec = JSON.parse((await send(stack.url, { path: '/openapi.json', method: 'GET' })).body);
      expect(spec.openapi).toBe('3.0.3');
      expect(spec.paths['/v1/track'].post.operationId).toBe('Track');
      expect(spec.paths['/metrics'].get.operationId).toBe('Metrics');
      expect([spec.paths['/health/live'].get.operationId, spec.paths['/health/ready'].get.operationId, spec.paths['/health'].get.operationId]).toEqual([
        'HealthLive',
        'HealthReady',
        'Health',
      ]);
      const docs = await send(stack.url, { path: '/docs', method: 'GET' });
      expect(docs.status).toBe(200);
      expect(docs.body).toContain("url: '/openapi.json'");
      const bundle = await send(stack.url, { path: '/docs/assets/swagger-ui-bundle.js', method: 'GET' });
      expect(bundle.status).toBe(200);
      expect(bundle.body.length).toBeGreaterThan(100_000);
    });

    it('answers 404 Not found for an unknown route', async () => {
      expect(await send(stack.url, { path: '/v2/track', method: 'POST', body: '{}' })).toMatchObject({ status: 404, body: 'Not found' });
    });
  });

  describe('graceful stop', () => {
    it('answers a request in flight when the stop comes, stores its event, then refuses new connections', async () => {
      const other = await startStack('operations-stop');
      const extra = await createSource(other.env);
      await other.gateway.sources.refresh();
      const body = JSON.stringify({ userId: 'u', event: 'E', messageId: 'in-flight-1' });
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(
          `${other.url}/v1/track`,
          { method: 'POST', headers: { Authorization: basicAuth(extra.writeKey), 'Content-Length': Buffer.byteLength(body) } },
          (response) => {
            let text = '';
            response.on('data', (chunk) => (text += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
          },
        );
        request.on('error', reject);
        request.write(body.slice(0, 10));
        // The rest of the body comes after the stop has begun.
        setTimeout(() => request.end(body.slice(10)), 300);
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const stopped = other.gateway.stop();
      expect(await answer).toEqual({ status: 200, body: 'OK' });
      await stopped;
      expect(await other.rows('SELECT message_id FROM events WHERE message_id = $1', ['in-flight-1'], 1)).toEqual([{ message_id: 'in-flight-1' }]);
      await expect(fetch(`${other.url}/health`)).rejects.toThrow();
      await other.worker.stop();
      await other.env.close();
    });

    it('answers not ready while stopping (the body says so), alive all the same', async () => {
      const other = await startStack('operations-stop-ready');
      try {
        // Connections accepted before the stop: new ones are refused once it has begun.
        const sockets = await Promise.all(
          ['/health/ready', '/health/live'].map(async (path) => {
            const socket = connect(other.gateway.port, '127.0.0.1');
            await new Promise((resolve) => socket.once('connect', resolve));
            let received = '';
            socket.on('data', (chunk) => (received += chunk.toString()));
            const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
            return { path, socket, closed };
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        const stopped = other.gateway.stop();
        await new Promise((resolve) => setTimeout(resolve, 100));
        for (const { path, socket } of sockets) socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const [ready, live] = await Promise.all(sockets.map(({ closed }) => closed));
        expect(ready.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
        expect(JSON.parse(ready.slice(ready.indexOf('\r\n\r\n') + 4))).toEqual({
          status: 'unavailable',
          redis: 'up',
          postgres: 'up',
          sourcesLoaded: true,
          stopping: true,
        });
        expect(live.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
        expect(live.slice(live.indexOf('\r\n\r\n') + 4)).toBe('{"status":"ok"}');
        await stopped;
      } finally {
        await other.worker.stop();
        await other.env.close();
      }
    });

    // A client that connected just before the stop and writes its request after it reads an
    // answer it can retry on, not a reset.
    it('answers a request sent on a connection accepted just before the stop, then closes it', async () => {
      const other = await startStack('operations-stop-fresh');
      try {
        const socket = connect(other.gateway.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString()));
        const closed = new Promise<string>((resolve) => {
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
          socket.on('close', () => resolve('closed'));
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        const stopped = other.gateway.stop();
        await new Promise((resolve) => setTimeout(resolve, 100));
        // A batch of 256 KB: most of it is still unread when the 503 goes out.
        const body = JSON.stringify({ batch: [{ type: 'track', userId: 'u', event: 'E', properties: { pad: 'x'.repeat(256 * 1024) } }] });
        socket.write(`POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        expect(await closed).toBe('closed');
        expect(received.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
        expect(received).toMatch(/\r\nretry-after: \d+\r\n/i);
        expect(received).toMatch(/\r\nconnection: close\r\n/i);
        await stopped;
      } finally {
        await other.worker.stop();
        await other.env.close();
      }
    });
  });
});
