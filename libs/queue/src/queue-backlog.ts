import { once } from 'node:events';
import { QUEUES, type QueueKey, type QueueKeyFor, type QueuedEvent } from '@evt/schemas';
import { createRedis, isRedisReady, type Redis } from './connection';

/**
 * The queues whose items are events bound for the `events` table: the backlog counts their items.
 * `satisfies` makes the compiler refuse a missing or an extra queue when the job registry changes.
 */
const EVENT_QUEUES = { events: true, replay: true, extract: true, internalBatch: true } as const satisfies Record<QueueKeyFor<QueuedEvent>, true>;

/** The registry keys of the queues of events, in registry order. */
export const EVENT_QUEUE_KEYS = Object.freeze(Object.keys(EVENT_QUEUES)) as ReadonlyArray<QueueKeyFor<QueuedEvent>>;

/** True for a queue whose jobs count in the backlog. */
export function isEventQueue(key: QueueKey): key is QueueKeyFor<QueuedEvent> {
  return key in EVENT_QUEUES;
}

/**
 * The counter of events waiting in Redis, shared by every gateway and worker. The hash tag keeps it
 * in the events queue's slot under Redis Cluster; with a braced QUEUE_PREFIX (`{evt}`) the prefix's
 * tag wins and every key, queues included, shares one slot, as the healing script needs there.
 */
export function backlogKey(prefix: string): string {
  return `${prefix}:{events}:backlog`;
}

// BullMQ's keys of a queue's unfinished jobs (classes/queue-keys.js): lists (wait, paused, active)
// and sorted sets (delayed, prioritized, waiting-children). Redis deletes an empty list or set, so
// "no such key" is "no job there". Completed jobs are removed; failed ones wait for an operator and
// are not the backlog this bounds.
const UNFINISHED_STATES = ['wait', 'paused', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

// KEYS[1] the counter, KEYS[2..] the unfinished-job keys of every queue of events. One atomic step:
// when no job is there, no event is waiting, so the counter must be 0 whatever drift it gathered.
// Returns {1 if it was reset, the value it had}.
const HEAL_SCRIPT = `
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, redis.call('GET', KEYS[1]) or '0'} end
end
local previous = redis.call('GET', KEYS[1]) or '0'
if previous ~= '0' then redis.call('SET', KEYS[1], '0') end
return {1, previous}
`;

function unfinishedJobKeys(prefix: string): string[] {
  return EVENT_QUEUE_KEYS.flatMap((key) => UNFINISHED_STATES.map((state) => `${prefix}:${QUEUES[key].name}:${state}`));
}

/** A counter value as read: null (never written) is 0, and a negative one (decrements ahead of their increments) is clamped to 0. */
function clamp(value: unknown): number {
  const count = Number(value ?? 0);
  return Number.isFinite(count) && count > 0 ? count : 0;
}

/**
 * Sets the counter to 0 when every queue of events is empty, atomically with the check. Heals the
 * drift of a gateway killed before it counted its jobs (too low) or of a worker killed before it
 * took its stored jobs off (too high). Resolves to whether it reset, and the value it found.
 */
export async function healQueueBacklog(redis: Redis, prefix: string): Promise<{ reset: boolean; previous: number }> {
  const keys = [backlogKey(prefix), ...unfinishedJobKeys(prefix)];
  const [reset, previous] = (await redis.eval(HEAL_SCRIPT, keys.length, ...keys)) as [number, string];
  return { reset: reset === 1, previous: Number(previous) };
}

/** Reads the counter (clamped at 0). */
export async function readQueueBacklog(redis: Redis, prefix: string): Promise<number> {
  return clamp(await redis.get(backlogKey(prefix)));
}

// Counts are sent to Redis at most this often: one command per process per tick, none per request.
const FLUSH_INTERVAL_MS = 100;
// A flush that has not answered in this long (Redis hanging) makes the value unknown: unknown admits.
const STALE_AFTER_MS = 2000;

export interface QueueBacklogOptions {
  redisUrl: string;
  prefix: string;
  /** Events waiting in Redis at which new requests are refused; 0: never. */
  limit: number;
  flushIntervalMs?: number;
}

/**
 * The gateway's side of the shared backlog. Events whose job Redis holds are added here and sent
 * with one INCRBY per tick, whose answer is the counter over every gateway; `full` reads the last
 * answer (plus what this process has not sent yet) without touching Redis. When the counter
 * cannot be read it is unknown, and unknown never refuses: the enqueue meets Redis' own error.
 */
export class QueueBacklog {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly timer: NodeJS.Timeout;
  private pending = 0;
  /** Sent, not yet answered: not in `last` yet. */
  private sending = 0;
  private last: number | undefined;
  private flushing: Promise<void> | undefined;
  private flushStarted = 0;

  constructor(private readonly options: QueueBacklogOptions) {
    // A connection of its own, so that the last counts go out after the producers have drained and closed theirs.
    this.redis = createRedis(options.redisUrl, 'producer');
    this.key = backlogKey(options.prefix);
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Resolves once connected. The gateway does not wait: until a first read the backlog is unknown, and unknown admits. */
  async ready(): Promise<void> {
    if (!isRedisReady(this.redis)) await once(this.redis, 'ready');
  }

  /** The limit; 0: none. */
  get limit(): number {
    return this.options.limit;
  }

  /** Events waiting in Redis as last read (every gateway's), or undefined when it could not be read. */
  get events(): number | undefined {
    return this.last;
  }

  /** True when new events must wait: the last value read, plus this process's own not yet in it, has reached the limit. */
  get full(): boolean {
    return this.options.limit > 0 && this.last !== undefined && this.last + this.sending + this.pending >= this.options.limit;
  }

  /** Counts events whose job Redis now holds; they reach the shared counter with the next tick. */
  added(events: number): void {
    this.pending += events;
  }

  /** Sends what was added and reads the counter back (INCRBY answers with the new value; GET when nothing was added). */
  flush(): Promise<void> {
    if (this.flushing) {
      if (Date.now() - this.flushStarted > STALE_AFTER_MS) this.last = undefined;
      return this.flushing;
    }
    const count = this.pending;
    this.pending = 0;
    this.sending = count;
    this.flushStarted = Date.now();
    this.flushing = (count > 0 ? this.redis.incrby(this.key, count) : this.redis.get(this.key))
      .then(
        (value) => {
          this.sending = 0;
          this.last = clamp(value);
        },
        () => {
          // Those events are in Redis: count them with the next tick. Until a read succeeds, admit.
          this.sending = 0;
          this.pending += count;
          this.last = undefined;
        },
      )
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Sends the last counts and disconnects; call it once the producers have drained (no more `added`). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    if (this.pending > 0) await this.flush();
    this.redis.disconnect();
  }
}

// The healing script runs this often on each worker that consumes a queue of events.
const HEAL_INTERVAL_MS = 5000;

export interface QueueBacklogDrainOptions {
  redisUrl: string;
  prefix: string;
  flushIntervalMs?: number;
  healIntervalMs?: number;
}

/**
 * A worker's side of the shared backlog: events of stored jobs are taken off the counter with one
 * DECRBY per tick, and every few seconds the healing script resets it if the queues are empty.
 */
export class QueueBacklogDrain {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly healTimer: NodeJS.Timeout;
  private pending = 0;
  private flushing: Promise<void> | undefined;
  private healing: Promise<{ reset: boolean; previous: number }> | undefined;

  constructor(private readonly options: QueueBacklogDrainOptions) {
    this.redis = createRedis(options.redisUrl, 'admin');
    this.key = backlogKey(options.prefix);
    this.flushTimer = setInterval(() => void this.flush(), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
    this.healTimer = setInterval(() => void this.heal().catch(() => undefined), options.healIntervalMs ?? HEAL_INTERVAL_MS);
    this.healTimer.unref();
  }

  /** Counts the events of a job that has been stored; they leave the counter with the next tick. */
  stored(events: number): void {
    this.pending += events;
  }

  /** Takes the stored events off the counter. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const count = this.pending;
    if (count === 0) return Promise.resolve();
    this.pending = 0;
    this.flushing = this.redis
      .decrby(this.key, count)
      .then(
        () => undefined,
        () => {
          this.pending += count;
        },
      )
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Sends this worker's own decrements first (they would otherwise land after a reset), then runs the healing script. */
  heal(): Promise<{ reset: boolean; previous: number }> {
    // One at a time: while Redis hangs, the timer must not pile scripts up behind it.
    // A flush already on its way is waited for; the second sends what was stored meanwhile.
    this.healing ??= this.flush()
      .then(() => this.flush())
      .then(() => healQueueBacklog(this.redis, this.options.prefix))
      .finally(() => {
        this.healing = undefined;
      });
    return this.healing;
  }

  /** Sends the last decrements and disconnects; call it once the consumers have closed. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.healTimer);
    await this.healing?.catch(() => undefined);
    await this.flushing;
    if (this.pending > 0) await this.flush();
    this.redis.disconnect();
  }
}
