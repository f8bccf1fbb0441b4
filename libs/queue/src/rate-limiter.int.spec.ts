import { randomUUID } from 'node:crypto';
import { createRedis } from './connection';
import { deleteQueuePrefix } from './queue-admin';
import { RateLimiter } from './rate-limiter';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('RateLimiter (real Redis)', () => {
  const prefix = `evt-test-ratelimit-${randomUUID().slice(0, 8)}`;
  const redis = createRedis(redisUrl, 'admin');
  afterAll(async () => {
    redis.disconnect();
    await deleteQueuePrefix(redisUrl, prefix);
  });

  it('counts events per source and window, shared by every limiter on the same Redis', async () => {
    const first = new RateLimiter(redis, prefix);
    const second = new RateLimiter(redis, prefix);
    const limit = { events: 10, windowSeconds: 60 };
    expect(await first.take('source-a', 6, limit)).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(await second.take('source-a', 4, limit)).toEqual({ allowed: true, retryAfterSeconds: 0 });
    const refused = await first.take('source-a', 1, limit);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await first.take('source-b', 10, limit)).toEqual({ allowed: true, retryAfterSeconds: 0 });
  });
});
