import http from 'node:http';
import { AppProcess, basicAuth, createSource, freePort, waitFor, waitForHealthy } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

const TOKEN = 'metrics-token-secret';
const bearer = { Authorization: `Bearer ${TOKEN}` };

/** The sample lines of a Prometheus text answer whose name starts with `prefix`. */
function samples(text: string, prefix: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(prefix));
}

describe('/metrics', () => {
  let stack: Stack;
  let workerMetricsUrl: string;
  let writeKey: string;
  let sourceId: string;

  beforeAll(async () => {
    const workerPort = await freePort();
    workerMetricsUrl = `http://127.0.0.1:${workerPort}/metrics`;
    stack = await startStack('metrics', { METRICS_TOKEN: TOKEN }, { workerEnv: { METRICS_PORT: String(workerPort), METRICS_TOKEN: TOKEN } });
    const source = await createSource(stack.env);
    writeKey = source.writeKey;
    sourceId = source.id;
    await stack.gateway.sources.refresh();
  });
  afterAll(() => stack.stop());

  it('counts requests by route and status, events accepted and rejected by reason, and reads the queues', async () => {
    const auth = { Authorization: basicAuth(writeKey) };
    expect((await send(stack.url, { path: '/v1/track', method: 'POST', headers: auth, body: JSON.stringify({ userId: 'u', event: 'E' }) })).status).toBe(200);
    const batch = {
      batch: [
        { type: 'track', userId: 'u', event: 'E' },
        { type: 'track', userId: 'u' },
      ],
    };
    expect((await send(stack.url, { path: '/v1/batch', method: 'POST', headers: auth, body: JSON.stringify(batch) })).status).toBe(200);
    expect((await send(stack.url, { path: '/v1/track', method: 'POST', headers: { Authorization: basicAuth('nope') }, body: '{}' })).status).toBe(401);
    expect((await send(stack.url, { path: '/no/such/route/42', method: 'GET' })).status).toBe(404);
    await stack.rows('SELECT 1 FROM events WHERE source_id = $1', [sourceId], 2);

    const answer = await send(stack.url, { path: '/metrics', method: 'GET', headers: bearer });
    expect([answer.status, answer.headers.get('content-type')]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    // The harness polled /health until Redis was connected: those requests are not this test's.
    expect(samples(answer.body, 'evt_http_requests_total').filter((line) => !line.includes('route="/health"'))).toEqual([
      'evt_http_requests_total{route="/v1/track",status="200",service="gateway"} 1',
      'evt_http_requests_total{route="/v1/batch",status="200",service="gateway"} 1',
      'evt_http_requests_total{route="/v1/track",status="401",service="gateway"} 1',
      // Unknown paths share one label: a scanner cannot grow the series.
      'evt_http_requests_total{route="unmatched",status="404",service="gateway"} 1',
    ]);
    expect(samples(answer.body, 'evt_events_total')).toEqual([
      'evt_events_total{outcome="accepted",reason="",service="gateway"} 2',
      'evt_events_total{outcome="rejected",reason="event is required",service="gateway"} 1',
    ]);
    expect(samples(answer.body, 'evt_enqueue_duration_seconds_count')).toEqual(['evt_enqueue_duration_seconds_count{service="gateway"} 2']);
    expect(samples(answer.body, 'evt_queue_jobs{queue="events",state="failed"')).toEqual(['evt_queue_jobs{queue="events",state="failed",service="gateway"} 0']);
    expect(samples(answer.body, 'process_resident_memory_bytes')).toHaveLength(1);
  });

  it('wants METRICS_TOKEN as a Bearer token when it is set', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: basicAuth(TOKEN) }] as Array<Record<string, string>>) {
      const answer = await send(stack.url, { path: '/metrics', method: 'GET', headers });
      expect([answer.status, answer.body]).toEqual([401, 'Invalid metrics token']);
    }
  });

  it('serves each worker’s throughput on METRICS_PORT', async () => {
    expect((await fetch(workerMetricsUrl)).status).toBe(401);
    const text = await waitFor(
      async () => {
        const body = await (await fetch(workerMetricsUrl, { headers: bearer })).text();
        return body.includes('outcome="stored"') && body.includes('outcome="rejected"') ? body : undefined;
      },
      10_000,
      'the worker to report its jobs',
    );
    expect(samples(text, 'evt_worker_items_total')).toEqual([
      'evt_worker_items_total{queue="events",outcome="stored",service="events-worker"} 2',
      'evt_worker_items_total{queue="events",outcome="rejected",service="events-worker"} 1',
    ]);
    const [done] = samples(text, 'evt_worker_jobs_total{queue="events",outcome="done"');
    expect(Number(done.split(' ')[1])).toBeGreaterThanOrEqual(1);
  });
});

// With GATEWAY_PROCESSES > 1 a scrape reaches one process; it answers with the sum over all.
describe('/metrics of a gateway of two processes', () => {
  it('answers with the requests of every process, whichever process is asked', async () => {
    const stack = await startStack('metrics-cluster');
    const port = await freePort();
    const gateway = AppProcess.start(
      'gateway',
      'dist/apps/gateway/main.js',
      stack.env.processEnv({ PORT: String(port), GATEWAY_PROCESSES: '2', MIGRATE_ON_START: 'false' }),
    );
    try {
      const source = await createSource(stack.env);
      const url = `http://127.0.0.1:${port}`;
      await waitForHealthy(`${url}/health`, gateway, 20_000);
      // A new source is seen within SOURCE_CONFIG_REFRESH_MS by both processes.
      const track = () =>
        new Promise<number>((resolve, reject) => {
          const body = JSON.stringify({ userId: 'u', event: 'E' });
          // A connection per request: the primary hands connections to the processes in turn.
          const request = http.request(
            `${url}/v1/track`,
            { method: 'POST', agent: false, headers: { authorization: basicAuth(source.writeKey), 'content-length': Buffer.byteLength(body) } },
            (response) => {
              response.resume();
              response.on('end', () => resolve(response.statusCode ?? 0));
            },
          );
          request.on('error', reject);
          request.end(body);
        });
      await waitFor(async () => ((await track()) === 200 && (await track()) === 200 ? true : undefined), 10_000, 'both processes to know the source');
      // A request is counted once its answer has left the process: let the last ones settle.
      const seen: number[] = [];
      const settled = (expected?: number) =>
        waitFor(
          async () => {
            const first = await trackCount(url);
            await new Promise((resolve) => setTimeout(resolve, 200));
            const second = await trackCount(url);
            seen.push(first, second);
            return first === second && (expected === undefined || second === expected) ? second : undefined;
          },
          15_000,
          'the counts of both processes to settle',
        ).catch((error: Error) => {
          throw new Error(`${error.message}; counts seen: ${seen.slice(-8).join(', ')}`);
        });
      const before = await settled();
      for (let i = 0; i < 20; i++) expect(await track()).toBe(200);
      await settled(before + 20);
      for (let i = 0; i < 4; i++) expect(await trackCount(url)).toBe(before + 20);
    } finally {
      await gateway.stop();
      await stack.stop();
    }
  });
});

/** evt_http_requests_total for 200s of /v1/track, asked on a connection of its own. */
async function trackCount(url: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get(`${url}/metrics`, { agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const [line] = samples(text, 'evt_http_requests_total{route="/v1/track",status="200"');
  return line ? Number(line.split(' ')[1]) : 0;
}
