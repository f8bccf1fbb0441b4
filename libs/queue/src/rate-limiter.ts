import type { Redis } from './connection';

// One Redis round trip: count this request's events in the current fixed window, and set the
// window's expiry when it is new. Returns the count after adding and the window's remaining ms.
const SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

export interface RateLimitDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

/** Per-source event limits shared by every gateway process through Redis (fixed windows). */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Counts `events` against the source's window; refuses when the window's limit would be passed. */
  async take(sourceId: string, events: number, limit: { events: number; windowSeconds: number }): Promise<RateLimitDecision> {
    const windowMs = limit.windowSeconds * 1000;
    const window = Math.floor(Date.now() / windowMs);
    const key = `${this.prefix}:ratelimit:${sourceId}:${window}`;
    const [count, ttl] = (await this.redis.eval(SCRIPT, 1, key, events, windowMs)) as [number, number];
    if (count <= limit.events) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((ttl > 0 ? ttl : windowMs) / 1000)) };
  }
}
