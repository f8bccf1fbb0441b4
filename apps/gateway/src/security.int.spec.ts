import http from 'node:http';
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

// The gateway as deployed (a process, info logs) against a Redis without AOF or maxmemory: it warns at start,
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
    gateway = AppProcess.start(
      'gateway',
      'dist/apps/gateway/main.js',
      env.processEnv({ PORT: String(port), REDIS_URL: redis.url, LOG_LEVEL: 'debug', INTERNAL_API_TOKEN: 'internal-token-secret' }),
    );
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
    expect(output).toContain(
      'Redis has no maxmemory: a full Redis is killed by the kernel instead of refusing new events. Set maxmemory below its memory limit.',
    );
    for (const secret of [
      source.writeKey,
      'guessed-key-secret',
      'wrong-token-secret',
      'internal-token-secret',
      Buffer.from(`${source.writeKey}:`).toString('base64'),
    ]) {
      expect([secret, output.includes(secret)]).toEqual([secret, false]);
    }
  });
});

// The size limit holds before the body is read: a declared length over it is refused from the
// headers alone, and a chunked body is cut off once it passes the limit, never buffered whole.
describe('request size limit', () => {
  let stack: Stack;
  let writeKey: string;
  beforeAll(async () => {
    stack = await startStack('size-limit', { MAX_REQUEST_SIZE: '64KB' });
    writeKey = (await createSource(stack.env)).writeKey;
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  /** Sends `head`, then `chunk` over and over (at most `maxBytes`) until the server answers and closes (or 10 s pass). */
  function upload(head: string, chunk: Buffer, maxBytes: number): Promise<{ answer: string; bodyBytesSent: number }> {
    return new Promise((resolve) => {
      const socket = connect(stack.gateway.port, '127.0.0.1');
      let answer = '';
      let sent = 0;
      socket.on('data', (data) => (answer += data.toString()));
      socket.on('error', () => undefined);
      const timer = setTimeout(() => socket.destroy(), 10_000);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ answer, bodyBytesSent: sent });
      });
      socket.write(head);
      const pump = () => {
        while (!socket.destroyed && answer === '' && sent < maxBytes) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  }

  it('answers 413 to a declared Content-Length over the limit from the headers alone, and closes the connection', async () => {
    const head = `POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicAuth(writeKey)}\r\nContent-Type: application/json\r\nContent-Length: ${1024 ** 3}\r\n\r\n`;
    // Only 16 bytes of the announced gigabyte are sent: the answer cannot wait for the body.
    const { answer } = await upload(head, Buffer.from('{"batch":[{"a":1'), 16);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.endsWith('Request size too large')).toBe(true);
  });

  it('cuts off a chunked body once it passes the limit, long before the client is done sending', async () => {
    const head = `POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicAuth(writeKey)}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const data = Buffer.alloc(16 * 1024, 0x20);
    const chunk = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const maxBytes = 256 * 1024 * 1024;
    const { answer, bodyBytesSent } = await upload(head, chunk, maxBytes);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer.endsWith('Request size too large')).toBe(true);
    // Socket buffers take a few megabytes at most; the other 250 MB were never read.
    expect(bodyBytesSent).toBeLessThan(32 * 1024 * 1024);
  });

  // Closing at once would reset a connection the client is still writing to, and its kernel may
  // drop the 413 unread: the SDK would see a network error and retry the batch forever. Without
  // the lingering close, some of these 200 uploads to the gateway process ended in EPIPE.
  it('lets a client still uploading an oversized body read its 413 instead of a reset connection', async () => {
    const port = await freePort();
    const gateway = AppProcess.start('gateway', 'dist/apps/gateway/main.js', stack.env.processEnv({ PORT: String(port), MAX_REQUEST_SIZE: '64KB' }));
    try {
      await waitForHealthy(`http://127.0.0.1:${port}/health`, gateway, 20_000);
      const body = Buffer.alloc(5 * 1024 * 1024, 0x20);
      const upload = () =>
        new Promise<string>((resolve) => {
          const request = http.request(
            `http://127.0.0.1:${port}/v1/batch`,
            { method: 'POST', agent: false, headers: { authorization: basicAuth(writeKey), 'content-length': body.length } },
            (response) => {
              response.resume();
              response.on('end', () => resolve(String(response.statusCode)));
            },
          );
          request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
          request.end(body);
        });
      const outcomes: string[] = [];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 50; i++) outcomes.push(await upload());
        }),
      );
      expect(outcomes.filter((outcome) => outcome !== '413')).toEqual([]);
    } finally {
      await gateway.stop();
    }
  });
});
