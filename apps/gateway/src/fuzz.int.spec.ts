import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { basicAuth, createSource, hostileBody, prototypesIntact } from '@evt/testing';
import type { Source } from '@evt/db';
import { send, startStack, type Stack } from './test-support/harness';

// Whatever a client sends, the answer is one a client can act on (200, 400, 401, 404, 413),
// never a 5xx for input, and no input changes a prototype.
const ALLOWED = [200, 400, 401, 404, 413];
const ROUTES = [
  '/v1/track',
  '/v1/identify',
  '/v1/page',
  '/v1/group',
  '/v1/alias',
  '/v1/batch',
  '/v1/import',
  '/v1/b',
  '/internal/v1/extract',
  '/internal/v1/audiencelist',
];

describe('gateway under hostile input', () => {
  let stack: Stack;
  let source: Source;
  beforeAll(async () => {
    stack = await startStack('fuzz', { MAX_REQUEST_SIZE: '256KB' });
    source = await createSource(stack.env);
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  const post = (path: string, payload: string | Buffer, headers: Record<string, string>) => send(stack.url, { path, method: 'POST', headers, body: payload });

  it('answers random JSON on every event route with 200/400/413, never 5xx, and keeps prototypes intact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), hostileBody, async (path, payload) => {
        const answer = await post(path, JSON.stringify(payload) ?? 'null', { Authorization: basicAuth(source.writeKey), 'Content-Type': 'application/json' });
        expect(ALLOWED).toContain(answer.status);
        expect(answer.status).not.toBe(401);
        expect(prototypesIntact()).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('answers random and broken bytes (invalid UTF-8, bad gzip) with 400 or 413', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.uint8Array({ maxLength: 2000 }), fc.boolean(), async (path, bytes, gzipped) => {
        const headers: Record<string, string> = { Authorization: basicAuth(source.writeKey) };
        if (gzipped) headers['Content-Encoding'] = 'gzip';
        const answer = await post(path, gzipped && bytes.length % 2 === 0 ? gzipSync(Buffer.from(bytes)) : Buffer.from(bytes), headers);
        expect(ALLOWED).toContain(answer.status);
        expect(answer.status).not.toBe(200);
      }),
      { numRuns: 100 },
    );
  });

  it('answers any Authorization header it cannot use with 401, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `Basic ${s}`),
          fc.string().map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
        ),
        async (header) => {
          const printable = header.replace(/[^\x20-\x7e]/g, '');
          const answer = await post('/v1/track', JSON.stringify({ userId: 'u', event: 'E' }), printable === '' ? {} : { Authorization: printable });
          expect(answer.status).toBe(401);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('accepts JSON nested 100 deep and refuses deeper than 128 with 400, never a 5xx', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const auth = { Authorization: basicAuth(source.writeKey) };
    expect((await post('/v1/track', `{"userId":"u","event":"E","properties":${nested(100)}}`, auth)).status).toBe(200);
    for (const depth of [200, 10_000, 30_000]) {
      const single = await post('/v1/track', `{"userId":"u","event":"E","properties":${nested(depth)}}`, auth);
      const batch = await post('/v1/batch', `{"context":${nested(depth)},"batch":[{"type":"track","userId":"u","event":"E"}]}`, auth);
      expect([depth, single.status, single.body, batch.status]).toEqual([depth, 400, 'Invalid request: JSON nested deeper than 128 levels', 400]);
    }
    // Brackets inside strings do not count.
    expect((await post('/v1/track', JSON.stringify({ userId: 'u', event: 'E', properties: { text: '['.repeat(5000) } }), auth)).status).toBe(200);
  });
});
