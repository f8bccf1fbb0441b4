import { randomUUID } from 'node:crypto';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';

/** What the real SDK sent and was told. */
export interface SdkResult {
  /** track() calls made. */
  sent: number;
  /** messageIds whose callback came without an error: their batch got a 2xx. */
  acknowledged: string[];
  /** Events whose callback came with an error: the SDK gave up on them. */
  failed: number;
  /** Requests the SDK sent again (its axios-retry numbers them). */
  retries: number;
  /** Events with no callback yet when the bench stopped waiting. */
  pending: number;
}

/**
 * `@rudderstack/rudder-sdk-node` as users run it, at `eventsPerSecond` for `seconds`: gzipped
 * batches, retried on 5xx and 429 with its own backoff (retryCount raised so that a long
 * overload is ridden out). Waits for its callbacks until `giveUpAt` (epoch ms).
 */
export async function driveRudderSdk(options: {
  url: string;
  writeKey: string;
  seconds: number;
  eventsPerSecond: number;
  giveUpAt: number;
}): Promise<SdkResult> {
  const client = new RudderAnalytics(options.writeKey, {
    dataPlaneUrl: options.url,
    flushAt: 100,
    flushInterval: 200,
    retryCount: 12,
    axiosConfig: { timeout: 30_000 },
    logLevel: 'none',
    // Without it a 4xx kills the process (CLIENTS.md); the callbacks report each event instead.
    errorHandler: () => undefined,
  });
  const result: SdkResult = { sent: 0, acknowledged: [], failed: 0, retries: 0, pending: 0 };
  const axios = (client as unknown as { axiosInstance: { interceptors: { request: { use(f: (config: Record<string, unknown>) => unknown): void } } } })
    .axiosInstance;
  axios.interceptors.request.use((config) => {
    if (((config['axios-retry'] as { retryCount?: number } | undefined)?.retryCount ?? 0) > 0) result.retries++;
    return config;
  });
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((options.eventsPerSecond * tickMs) / 1000));
  const deadline = Date.now() + options.seconds * 1000;
  while (Date.now() < deadline) {
    for (let i = 0; i < perTick; i++) {
      const messageId = randomUUID();
      result.sent++;
      // messageId is honoured by the SDK but missing from its typings.
      client.track({ userId: 'u-rudder-sdk', event: 'Bench Rudder SDK', properties: { n: i }, messageId } as RudderAnalytics.TrackParams, (error?: unknown) => {
        if (error) result.failed++;
        else result.acknowledged.push(messageId);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  // flush() sends at most flushAt events per call: until the queue is empty, then once more for the last batch.
  const queue = (client as unknown as { queue: unknown[] }).queue;
  const flushAll = async () => {
    while (queue.length > 0) await client.flush();
    await client.flush();
  };
  // A batch already in flight is not waited for by flush(): wait for every callback too.
  const answered = async () => {
    await flushAll();
    while (result.acknowledged.length + result.failed < result.sent && Date.now() < options.giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, options.giveUpAt - Date.now())).unref());
  await Promise.race([answered(), timeout]);
  result.pending = result.sent - result.acknowledged.length - result.failed;
  return result;
}
