import { randomUUID } from 'node:crypto';
import { createRedis } from './connection';
import { cappedTailEvent, EventTailPublisher, subscribeTail, tailChannel, type TailEvent } from './event-tail';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function tailEvent(messageId: string, payload: unknown = { messageId }): TailEvent {
  const base = { sourceId: 's', workspaceId: 'w', type: 'track', messageId, event: 'Clicked', name: null, userId: 'u', anonymousId: null };
  return { ...base, receivedAt: '2026-01-01T00:00:00.000Z', payload };
}

const until = async (check: () => boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
};

const untilAsync = async (check: () => Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('EventTailPublisher (real Redis)', () => {
  const prefix = `evt-test-tail-${randomUUID().slice(0, 8)}`;
  const admin = createRedis(redisUrl, 'admin');
  let publisher: EventTailPublisher;

  beforeEach(() => {
    publisher = new EventTailPublisher({ redisUrl, prefix, checkEveryMs: 200 });
  });
  afterEach(() => publisher.close());
  afterAll(() => admin.quit());

  it('sends no PUBLISH and builds nothing while nobody listens', async () => {
    // A pattern subscriber sees every PUBLISH to the channel but is not counted by PUBSUB NUMSUB,
    // so it watches the publisher without being a listener to it.
    const watcher = createRedis(redisUrl, 'admin');
    const published: string[] = [];
    watcher.on('pmessage', (_pattern, _channel, message: string) => published.push(message));
    await watcher.psubscribe(tailChannel(prefix));
    try {
      const build = jest.fn(() => [tailEvent('m-1')]);
      for (let i = 0; i < 50; i++) await publisher.publish(build);
      expect(build).not.toHaveBeenCalled();
      expect(await admin.pubsub('NUMSUB', tailChannel(prefix))).toEqual([tailChannel(prefix), 0]);
      await admin.ping(); // a round trip after the last publish: any PUBLISH would have reached the watcher
      expect(published).toEqual([]);
    } finally {
      watcher.disconnect();
    }
  });

  it('publishes to a subscriber from its first event on, and stops after it leaves', async () => {
    const seen: TailEvent[] = [];
    const subscription = await subscribeTail({ redisUrl, prefix, onEvent: (event) => seen.push(event) });
    await publisher.publish(() => [tailEvent('m-1'), tailEvent('m-2')]);
    await until(() => seen.length === 2);
    expect(seen.map((event) => event.messageId)).toEqual(['m-1', 'm-2']);
    expect(seen[0]).toEqual(tailEvent('m-1'));

    await subscription.close();
    // Once Redis no longer counts the subscriber, the publisher learns it at its next check.
    await untilAsync(async () => ((await admin.pubsub('NUMSUB', tailChannel(prefix))) as [string, number])[1] === 0);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const build = jest.fn(() => [tailEvent('m-3')]);
    await publisher.publish(build);
    expect(build).not.toHaveBeenCalled();
  });

  it('leaves out a payload over the cap and says how large it was', async () => {
    const large = tailEvent('big', { text: 'x'.repeat(70 * 1024) });
    const capped = cappedTailEvent(large);
    expect(capped.payload).toBeUndefined();
    expect(capped.payloadOmittedBytes).toBeGreaterThan(70 * 1024);
    expect(cappedTailEvent(tailEvent('small'))).toEqual(tailEvent('small'));
  });

  it('fails within its timeout when Redis cannot be reached', async () => {
    const started = Date.now();
    await expect(subscribeTail({ redisUrl: 'redis://127.0.0.1:1', prefix, onEvent: () => undefined, timeoutMs: 500 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
