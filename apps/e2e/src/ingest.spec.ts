import { randomUUID } from 'node:crypto';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { AppProcess, basicAuth, createSource, createTestEnv, freePort, waitFor, waitForHealthy, withProcessOutput, type TestEnv } from '@evt/testing';
import { countStored, countWithLibrary, expectedRows, storedEvents, throughputLine, waitForStored, type SentEvent } from './support/stored-events';

// The built gateway and events worker as separate processes, driven by the SDKs our users run
// and by raw HTTP, checked against what lands in Postgres.
jest.setTimeout(120_000);

const EVENTS_PER_SDK = 1000;
const STORE_TIMEOUT_MS = 60_000;

type Source = Awaited<ReturnType<typeof createSource>>;

let env: TestEnv;
let baseUrl: string;
let gateway: AppProcess | undefined;
let worker: AppProcess | undefined;
let rudderSource: Source;
let segmentSource: Source;
let httpSource: Source;

const running = () => [gateway, worker].filter((p): p is AppProcess => p !== undefined);

beforeAll(async () => {
  env = await createTestEnv('e2e-ingest');
  // Sources exist before the gateway starts, so its first source-config load already knows them.
  rudderSource = await createSource(env);
  segmentSource = await createSource(env);
  httpSource = await createSource(env);

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const vars = env.processEnv({ PORT: String(port), LOG_LEVEL: 'info' });
  worker = AppProcess.start('events-worker', 'dist/apps/events-worker/main.js', vars);
  gateway = AppProcess.start('gateway', 'dist/apps/gateway/main.js', vars);

  await waitForHealthy(`${baseUrl}/health`, gateway, 30_000);
  // Throughput is measured from the first send: the worker must be consuming before that.
  await worker.waitForOutput(/events worker started/, 30_000);
});

afterAll(async () => {
  const stopped = await Promise.all(running().map(async (app) => ({ app, status: await app.stop() })));
  for (const { app, status } of stopped) {
    if (status.code !== 0) console.warn(`e2e: ${app.name} did not exit cleanly on SIGTERM\n${app.report()}`);
  }
  await env?.close();
});

describe('@rudderstack/rudder-sdk-node → gateway → events worker → Postgres', () => {
  it(
    `stores each of ${EVENTS_PER_SDK} gzipped track/identify events exactly once`,
    withProcessOutput(running, async () => {
      const handlerErrors: unknown[] = [];
      const callbackErrors: unknown[] = [];
      let callbacks = 0;
      const client = new RudderAnalytics(rudderSource.writeKey, {
        dataPlaneUrl: baseUrl,
        flushAt: 100,
        flushInterval: 1000,
        logLevel: 'error',
        errorHandler: (error) => handlerErrors.push(error),
      });
      // Each event's callback runs once its batch is answered, with the error if it was lost.
      const onDone = (error?: unknown) => {
        callbacks += 1;
        if (error) callbackErrors.push(error);
      };

      const sent: SentEvent[] = [];
      const startedAt = Date.now();
      for (let i = 0; i < EVENTS_PER_SDK; i++) {
        const messageId = randomUUID();
        const userId = `rudder-user-${i % 50}`;
        // messageId is honoured by the SDK but missing from its typings.
        if (i % 4 === 0) {
          client.identify({ userId, traits: { plan: 'pro', n: i }, messageId } as RudderAnalytics.IdentifyParams, onDone);
          sent.push({ messageId, type: 'identify', userId, event: null });
        } else {
          client.track({ userId, event: 'Order Completed', properties: { total: i }, messageId } as RudderAnalytics.TrackParams, onDone);
          sent.push({ messageId, type: 'track', userId, event: 'Order Completed' });
        }
      }
      // flush() sends at most flushAt events per call (CLIENTS.md): loop until the queue is empty.
      const queue = (client as unknown as { queue: unknown[] }).queue;
      while (queue.length > 0) await client.flush();
      await client.flush();

      const storedAt = await waitForStored(env, rudderSource.id, EVENTS_PER_SDK, STORE_TIMEOUT_MS);
      console.log(throughputLine('rudder-sdk-node', EVENTS_PER_SDK, startedAt, storedAt));

      await waitFor(async () => (callbacks >= EVENTS_PER_SDK ? true : undefined), 10_000, 'every SDK event callback');
      expect(handlerErrors).toEqual([]);
      expect(callbackErrors).toEqual([]);
      expect(new Set(sent.map((e) => e.messageId)).size).toBe(EVENTS_PER_SDK);
      expect(await storedEvents(env, rudderSource.id)).toEqual(expectedRows(sent));
      expect(await countStored(env, rudderSource.id)).toBe(EVENTS_PER_SDK);
      expect(await countWithLibrary(env, rudderSource.id, 'analytics-node')).toBe(EVENTS_PER_SDK);
    }),
  );
});

describe('@segment/analytics-node → gateway → events worker → Postgres', () => {
  it(
    `stores each of ${EVENTS_PER_SDK} track/identify events exactly once`,
    withProcessOutput(running, async () => {
      const emitted: unknown[] = [];
      const callbackErrors: unknown[] = [];
      const statuses = new Map<number, number>();
      const analytics = new SegmentAnalytics({ writeKey: segmentSource.writeKey, host: baseUrl, flushInterval: 1000 });
      analytics.on('error', (error) => emitted.push(error));
      analytics.on('http_response', ({ status }) => statuses.set(status, (statuses.get(status) ?? 0) + 1));
      const onDone = (error?: unknown) => {
        if (error) callbackErrors.push(error);
      };

      const sent: SentEvent[] = [];
      const startedAt = Date.now();
      for (let i = 0; i < EVENTS_PER_SDK; i++) {
        const messageId = `node-next-${Date.now()}-${randomUUID()}`;
        const userId = `segment-user-${i % 50}`;
        if (i % 4 === 0) {
          analytics.identify({ userId, traits: { plan: 'pro', n: i }, messageId }, onDone);
          sent.push({ messageId, type: 'identify', userId, event: null });
        } else {
          analytics.track({ userId, event: 'Order Completed', properties: { total: i }, messageId }, onDone);
          sent.push({ messageId, type: 'track', userId, event: 'Order Completed' });
        }
      }
      await analytics.closeAndFlush({ timeout: 30_000 });

      const storedAt = await waitForStored(env, segmentSource.id, EVENTS_PER_SDK, STORE_TIMEOUT_MS);
      console.log(throughputLine('segment analytics-node', EVENTS_PER_SDK, startedAt, storedAt));

      expect(emitted).toEqual([]);
      expect(callbackErrors).toEqual([]);
      // Every batch was accepted at the first attempt: no 4xx, no 5xx the SDK had to retry.
      expect([...statuses.keys()]).toEqual([200]);
      expect(new Set(sent.map((e) => e.messageId)).size).toBe(EVENTS_PER_SDK);
      expect(await storedEvents(env, segmentSource.id)).toEqual(expectedRows(sent));
      expect(await countStored(env, segmentSource.id)).toBe(EVENTS_PER_SDK);
      expect(await countWithLibrary(env, segmentSource.id, '@segment/analytics-node')).toBe(EVENTS_PER_SDK);
    }),
  );
});

describe('raw HTTP', () => {
  it(
    'POST /v1/track with Basic auth answers 200 "OK" and the event is stored',
    withProcessOutput(running, async () => {
      const messageId = randomUUID();
      const response = await fetch(`${baseUrl}/v1/track`, {
        method: 'POST',
        headers: { Authorization: basicAuth(httpSource.writeKey), 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: 'curl-user-1', event: 'Signed Up', properties: { plan: 'free' }, messageId }),
      });

      expect(response.status).toBe(200);
      expect(await response.text()).toBe('OK');
      const row = await waitFor(
        async () => {
          const rows = await env.db.query<{ type: string; user_id: string; event: string; source_id: string; workspace_id: string }>(
            'select type, user_id, event, source_id, workspace_id from events where message_id = $1',
            [messageId],
          );
          return rows.length > 0 ? rows : undefined;
        },
        5_000,
        `event ${messageId} in Postgres`,
      );
      expect(row).toEqual([{ type: 'track', user_id: 'curl-user-1', event: 'Signed Up', source_id: httpSource.id, workspace_id: httpSource.workspaceId }]);
    }),
  );

  it(
    'POST /v1/track with an unknown write key answers 401 "Invalid write key"',
    withProcessOutput(running, async () => {
      const response = await fetch(`${baseUrl}/v1/track`, {
        method: 'POST',
        headers: { Authorization: basicAuth(`unknown-${randomUUID()}`), 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: 'curl-user-2', event: 'Signed Up', messageId: randomUUID() }),
      });

      expect(response.status).toBe(401);
      expect(await response.text()).toBe('Invalid write key');
    }),
  );
});
