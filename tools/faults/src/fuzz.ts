import fc from 'fast-check';
import http from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import { readQueueDepths } from '@evt/queue';
import { abandonUploads, basicAuth, hostileBody, hostileEvent, processMemory, startIsolatedStack, timedProbe, waitFor, type IsolatedStack } from '@evt/testing';
import { accountFuzz, markEvents, type FuzzAccount, type MarkedBody } from './fuzz-accounting';

export interface FuzzOptions {
  requests: number;
  concurrency: number;
  /** fast-check's seed: the same seed sends the same requests. */
  seed: number;
  log: (line: string) => void;
}

export interface FuzzResult {
  requests: number;
  seed: number;
  seconds: number;
  /** Answers by status; 0 counts requests that got no answer. */
  statuses: Record<number, number>;
  /** Requests answered with a status a client cannot act on (5xx), or not answered. */
  failures: Array<{ status: number; method: string; path: string; error?: string }>;
  gatewayAlive: boolean;
  workersAlive: boolean;
  /** Every job the gateway queued was consumed, none left failed. */
  queuesDrained: boolean;
  /** A plain event sent after the run got 200 and was stored as sent. */
  stillServing: boolean;
  /** Every event of every request answered 200: stored, deduplicated, or rejected with a reason. */
  events: FuzzAccount;
  /** A normal request after uploads without credentials stalled and were abandoned around the body budget. */
  afterAbandonedUploads: { status: number; ms: number };
  memory: { afterStartBytes: number; afterWarmUpBytes: number; endBytes: number; peakBytes: number };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The events marked in the body (see fuzz-accounting). */
  events: MarkedBody['events'];
}

/** A generated request before its events are marked and its body encoded. */
interface PlannedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  encoding: string;
}

/** Marks the events of the body, then encodes it as planned. */
function prepare(planned: PlannedRequest, nextMarker: () => string): FuzzRequest {
  const { body, events } = planned.body ? markEvents(planned.path, planned.body, nextMarker) : { body: undefined, events: [] };
  const headers = { ...planned.headers };
  let sent = body;
  if (body && planned.encoding === 'gzip') sent = gzipSync(body);
  else if (body && planned.encoding === 'deflate') sent = deflateSync(body);
  if (planned.encoding !== 'identity') headers['content-encoding'] = planned.encoding === 'gzip-but-not' ? 'gzip' : planned.encoding;
  return { method: planned.method, path: planned.path, headers, body: sent, events };
}

const PATHS = [
  '/v1/track',
  '/v1/identify',
  '/v1/page',
  '/v1/screen',
  '/v1/group',
  '/v1/alias',
  '/v1/batch',
  '/v1/import',
  '/v1/b',
  '/v1/t',
  '/v1/i',
  '/beacon/v1/batch',
  '/pixel/v1/track',
  '/pixel/v1/page',
  '/v1/webhook',
  '/internal/v1/extract',
  '/internal/v1/audiencelist',
  '/internal/v1/retl',
  '/internal/v1/replay',
  '/internal/v1/batch',
  '/health',
  '/version',
  '/v1/nowhere',
  '/',
];

/** Bodies that are not what they claim: too deep, too big, not UTF-8, polluting, empty. */
function bodies(): fc.Arbitrary<Buffer> {
  const json = (arbitrary: fc.Arbitrary<unknown>) => arbitrary.map((value) => Buffer.from(JSON.stringify(value) ?? 'null'));
  return fc.oneof(
    { arbitrary: json(hostileBody), weight: 40 },
    { arbitrary: json(fc.record({ batch: fc.array(hostileEvent, { minLength: 1, maxLength: 20 }) })), weight: 10 },
    {
      arbitrary: json(
        fc.record({ userId: fc.string({ minLength: 1 }), event: fc.string({ minLength: 1 }), type: fc.constant('track'), properties: fc.object() }),
      ),
      weight: 15,
    },
    { arbitrary: fc.uint8Array({ maxLength: 4000 }).map((bytes) => Buffer.from(bytes)), weight: 10 },
    {
      arbitrary: fc
        .integer({ min: 50, max: 20_000 })
        .map((depth) => Buffer.from(`{"userId":"u","event":"E","properties":${'['.repeat(depth)}${']'.repeat(depth)}}`)),
      weight: 5,
    },
    // Strings of 100 KB to 5 MB: under and over the 4,000 KB limit.
    { arbitrary: fc.integer({ min: 100_000, max: 5_000_000 }).map((size) => Buffer.from(`{"userId":"u","event":"${'x'.repeat(size)}"}`)), weight: 1 },
    {
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((bytes) => Buffer.concat([Buffer.from('{"userId":"u","event":"'), Buffer.from(bytes), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')])),
      weight: 5,
    },
    {
      arbitrary: fc.constant(
        Buffer.from(
          '{"userId":"u","event":"E","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"properties":{"__proto__":{"userId":"x"}}}',
        ),
      ),
      weight: 3,
    },
    { arbitrary: fc.constant(Buffer.alloc(0)), weight: 3 },
  );
}

/** Random requests against every route, with keys right and wrong, bodies and encodings of every kind. */
function requests(stack: IsolatedStack): fc.Arbitrary<PlannedRequest> {
  const authorization = fc.oneof(
    { arbitrary: fc.constant(basicAuth(stack.writeKey)), weight: 60 },
    { arbitrary: fc.constant(basicAuth(stack.sourceId)), weight: 10 },
    { arbitrary: fc.string().map((s) => basicAuth(s)), weight: 10 },
    { arbitrary: fc.string().map((s) => `Basic ${s}`.replace(/[^\x20-\x7e]/g, '')), weight: 5 },
    { arbitrary: fc.constant(undefined), weight: 15 },
  );
  const encoding = fc.oneof(
    { arbitrary: fc.constant('identity'), weight: 80 },
    { arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'gzip-but-not'), weight: 20 },
  );
  return fc
    .record({
      method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 85 }, { arbitrary: fc.constantFrom('GET', 'OPTIONS', 'PUT', 'DELETE'), weight: 15 }),
      path: fc.constantFrom(...PATHS),
      query: fc.oneof(
        { arbitrary: fc.constant(''), weight: 80 },
        {
          arbitrary: fc
            .dictionary(fc.oneof(fc.constantFrom('writeKey', 'event', 'userId', '__proto__'), fc.string({ maxLength: 5 })), fc.string())
            .map((q) => `?${new URLSearchParams(q as Record<string, string>)}`),
          weight: 20,
        },
      ),
      authorization,
      contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined),
      encoding,
      destination: fc.oneof(
        fc.constant(stack.destinationId),
        fc.string({ maxLength: 10 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      ),
      body: bodies(),
    })
    .map(({ method, path, query, authorization, contentType, encoding, destination, body }) => {
      const headers: Record<string, string> = { 'x-rudder-destination-id': destination };
      if (authorization) headers.authorization = authorization;
      if (contentType) headers['content-type'] = contentType;
      return { method, path: `${path}${query}`, headers, encoding, body: method === 'GET' || method === 'OPTIONS' ? undefined : body };
    });
}

function send(agent: http.Agent, url: string, request: FuzzRequest): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: { status: number; error?: string }) => {
      if (!settled) resolve(result);
      settled = true;
    };
    const headers = request.body ? { ...request.headers, 'content-length': String(request.body.length) } : request.headers;
    const sent = http.request(`${url}${request.path}`, { method: request.method, headers, agent, timeout: 30_000 }, (response) => {
      response.resume();
      response.on('end', () => settle({ status: response.statusCode ?? 0 }));
      response.on('error', () => settle({ status: response.statusCode ?? 0 }));
    });
    sent.on('timeout', () => sent.destroy(new Error('no answer within 30 s')));
    // An answer given before the whole body was sent (413) ends the request early: that is not an error.
    sent.on('error', (error) => settle({ status: 0, error: error.message }));
    sent.end(request.body);
  });
}

/**
 * Sends `requests` random hostile requests to the built gateway (with both workers behind it)
 * and watches its memory; then checks every process is alive, the queues drained with no job
 * failed, and a plain event is still stored as sent.
 */
export async function fuzzGateway(options: FuzzOptions): Promise<FuzzResult> {
  const stack = await startIsolatedStack({ prefix: 'evt-fuzz' });
  const gateway = await stack.startGateway();
  const worker = stack.startWorker();
  const internalWorker = stack.startInternalWorker();
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const statuses: Record<number, number> = {};
  const failures: FuzzResult['failures'] = [];
  const afterStartBytes = processMemory(gateway.app.pid).rssBytes;
  let afterWarmUpBytes = 0;
  const started = Date.now();
  try {
    const generator = requests(stack);
    let sent = 0;
    const warmUp = Math.floor(options.requests / 10);
    // Generated 500 at a time, so a run of any length holds only a slice of its bodies.
    const slice = (from: number) => fc.sample(generator, { numRuns: Math.min(500, options.requests - from), seed: options.seed + from });
    let queue: PlannedRequest[] = [];
    const run = Date.now().toString(36);
    let markers = 0;
    const next = (): FuzzRequest | undefined => {
      if (sent >= options.requests) return undefined;
      if (queue.length === 0) queue = slice(sent);
      sent++;
      if (sent === warmUp) afterWarmUpBytes = processMemory(gateway.app.pid).rssBytes;
      return prepare(queue.shift() as PlannedRequest, () => `fzm_${run}_${markers++}`);
    };
    const acknowledged: Array<{ path: string; events: MarkedBody['events'] }> = [];
    const loop = async () => {
      for (let request = next(); request; request = next()) {
        const answer = await send(agent, gateway.url, request);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status === 0 || answer.status >= 500)
          failures.push({ status: answer.status, method: request.method, path: request.path, error: answer.error });
        if (answer.status === 200 && request.events.length > 0) acknowledged.push({ path: request.path, events: request.events });
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, loop));
    const seconds = (Date.now() - started) / 1000;
    const end = processMemory(gateway.app.pid);
    const memory = { afterStartBytes, afterWarmUpBytes, endBytes: end.rssBytes, peakBytes: end.peakRssBytes };
    if (gateway.app.status) options.log(`fuzz: the gateway died\n${gateway.app.report()}`);
    options.log(
      `fuzz: ${options.requests} requests in ${seconds.toFixed(1)} s; answers ${JSON.stringify(statuses)}; gateway RSS ${mb(memory.afterStartBytes)} at start, ${mb(memory.afterWarmUpBytes)} after warm-up, ${mb(memory.endBytes)} at the end, ${mb(memory.peakBytes)} at peak`,
    );

    const queuesDrained = await waitFor(
      async () => {
        const depths = await readQueueDepths(stack.redis.url, 'evt-fuzz');
        const left = depths.reduce((sum, depth) => sum + depth.waiting + depth.active + depth.delayed, 0);
        if (left > 0) return undefined;
        return depths.every((depth) => depth.failed === 0);
      },
      60_000,
      'the queues to drain',
    ).catch(() => false);
    const stillServing = await plainEventStored(gateway.url, stack);
    const events = await accountFuzz(stack, run, acknowledged);
    options.log(`fuzz: events of requests answered 200: ${JSON.stringify(events)}`);
    // Uploads without credentials stall and are abandoned around the body budget; a normal request must then be answered at once.
    const uploads = await abandonUploads(gateway.url).catch(() => undefined); // refused: the gateway is gone, and the probe says so
    const probe = await timedProbe(gateway.url, basicAuth(stack.writeKey));
    uploads?.close();
    return {
      requests: options.requests,
      seed: options.seed,
      seconds,
      statuses,
      failures,
      gatewayAlive: gateway.app.status === undefined,
      workersAlive: worker.status === undefined && internalWorker.status === undefined,
      queuesDrained,
      stillServing,
      events,
      afterAbandonedUploads: { status: probe.status, ms: probe.ms },
      memory,
    };
  } finally {
    agent.destroy();
    await gateway.app.stop();
    await worker.stop();
    await internalWorker.stop();
    await stack.stop();
  }
}

async function plainEventStored(url: string, stack: IsolatedStack): Promise<boolean> {
  const messageId = `after-fuzz-${Date.now()}`;
  const answer = await fetch(`${url}/v1/track`, {
    method: 'POST',
    headers: { authorization: basicAuth(stack.writeKey) },
    body: JSON.stringify({ userId: 'u-after', event: 'After Fuzz', messageId, properties: { ok: true } }),
  }).catch(() => undefined);
  if (answer?.status !== 200) return false;
  const row = await waitFor(
    async () => (await stack.db.query<{ payload: Record<string, unknown> }>('SELECT payload FROM events WHERE message_id = $1', [messageId]))[0],
    15_000,
    'the event sent after the fuzz run',
  ).catch(() => undefined);
  return row !== undefined && row.payload.event === 'After Fuzz' && JSON.stringify(row.payload.properties) === '{"ok":true}' && !('polluted' in row.payload);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
