import { connect } from 'node:net';
import { AppProcess, basicAuth, createSource, createTestEnv, freePort, startOwnRedis, waitForHealthy, type OwnRedis, type TestEnv } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

/** Sends `parts` on a raw socket, `gapMs` apart; resolves with what came back and whether the server closed it. */
function slowClient(port: number, parts: string[], gapMs: number): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
    socket.on('error', () => undefined);
    let i = 0;
    const next = () => {
      if (i < parts.length && !socket.destroyed) socket.write(parts[i++]);
      timer = setTimeout(next, gapMs);
    };
    next();
  });
}

describe('slow clients', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('slow-clients', { HEADERS_TIMEOUT_MS: '500', REQUEST_TIMEOUT_MS: '1000' });
  });
  afterAll(() => stack.stop());

  it('cuts off a client that sends its headers too slowly', async () => {
    const trickle = 'POST /v1/track HTTP/1.1\r\nHost: x\r\nX-Slow: '.split('').concat('a'.repeat(200).split(''));
    const { answer, closedAfterMs } = await slowClient(stack.gateway.port, trickle, 50);
    expect(answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(closedAfterMs).toBeLessThan(5000);
  });

  it('cuts off a client that sends its body too slowly', async () => {
    const head = 'POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';
    const { answer, closedAfterMs } = await slowClient(stack.gateway.port, [head, ...'{"userId":"u"'.split('')], 200);
    expect(answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(closedAfterMs).toBeLessThan(5000);
  });
});

// The gateway as deployed (a process, info logs) against a Redis without AOF: it warns at start,
// and whatever happens, no write key or token reaches its logs.
describe('gateway logs', () => {
  let env: TestEnv;
  let redis: OwnRedis;
  let gateway: AppProcess;

  beforeAll(async () => {
    env = await createTestEnv('logs');
    redis = await startOwnRedis({ appendonly: false });
  });
  afterAll(async () => {
    await gateway?.stop();
    await redis.dispose();
    await env.close();
  });

  it('warns about a Redis that can lose acknowledged events, and never logs a write key or token', async () => {
    const source = await createSource(env);
    const port = await freePort();
    gateway = AppProcess.start('gateway', 'dist/apps/gateway/main.js', env.processEnv({ PORT: String(port), REDIS_URL: redis.url, LOG_LEVEL: 'debug', INTERNAL_API_TOKEN: 'internal-token-secret' }));
    await waitForHealthy(`http://127.0.0.1:${port}/health`, gateway, 20_000);
    const url = `http://127.0.0.1:${port}`;
    const auth = { Authorization: basicAuth(source.writeKey) };
    await send(url, { path: '/v1/track', method: 'POST', headers: auth, body: JSON.stringify({ userId: 'u', event: 'E' }) });
    await send(url, { path: '/v1/track', method: 'POST', headers: auth, body: JSON.stringify({ event: 'invalid', writeKey: source.writeKey }) });
    await send(url, { path: '/v1/track', method: 'POST', headers: { Authorization: basicAuth('guessed-key-secret') }, body: '{}' });
    await send(url, { path: `/pixel/v1/track?writeKey=${source.writeKey}&event=x`, method: 'GET' });
    await send(url, { path: '/internal/v1/batch', method: 'POST', headers: { Authorization: basicAuth(source.id, 'wrong-token-secret') }, body: '[]' });
    await send(url, { path: '/internal/v1/batch', method: 'POST', headers: { Authorization: basicAuth(source.id, 'internal-token-secret') }, body: '[]' });
    await redis.stop();
    await send(url, { path: '/v1/track', method: 'POST', headers: auth, body: JSON.stringify({ userId: 'u', event: 'E' }) });
    await gateway.stop();

    const output = gateway.output();
    expect(output).toContain('Redis has appendonly off: queued events are lost if Redis restarts. Set appendonly yes.');
    for (const secret of [source.writeKey, 'guessed-key-secret', 'wrong-token-secret', 'internal-token-secret', Buffer.from(`${source.writeKey}:`).toString('base64')]) {
      expect([secret, output.includes(secret)]).toEqual([secret, false]);
    }
  });
});
