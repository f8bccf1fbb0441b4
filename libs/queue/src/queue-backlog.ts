import { once } from 'node:events';
import { type QueueKey, type QueueKeyFor, type QueuedEvent } from '@evt/schemas';
import { createRedis, isRedisReady, type Redis } from './connection';
import { queueKey, queueLayout, queueShards, type QueueLayout, type QueueShard } from './queue-layout';

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
 * The counter of the events waiting in one queue of events (`label`: `events`, `events-2`,
 * `replay`, …), shared by every gateway and worker. Its hash tag is the queue's label, which is the
 * queue's own tag under Redis Cluster: the counter lives in its queue's slot, as the healing script
 * needs. The events queue's (`evt:{events}:backlog`) is the one counter of earlier versions.
 */
export function backlogKey(prefix: string, label = 'events'): string {
  return `${prefix}:{${label}}:backlog`;
}

// BullMQ's keys of a queue's unfinished jobs (classes/queue-keys.js): lists (wait, paused, active)
// and sorted sets (delayed, prioritized, waiting-children). Redis deletes an empty list or set, so
// "no such key" is "no job there". Completed jobs are removed; failed ones wait for an operator and
// are not the backlog this bounds.
const UNFINISHED_STATES = ['wait', 'paused', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

// KEYS[1] one queue's counter, KEYS[2..] that queue's unfinished-job keys: one slot under Cluster.
// One atomic step: when no job is there, none of its events is waiting, so the counter must be 0
// whatever drift it gathered. Returns {1 if it was reset, the value it had}.
const HEAL_SCRIPT = `
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {0, redis.call('GET', KEYS[1]) or '0'} end
end
local previous = redis.call('GET', KEYS[1]) or '0'
if previous ~= '0' then redis.call('SET', KEYS[1], '0') end
return {1, previous}
`;

/** The BullMQ queues whose jobs the backlog counts: every shard of every queue of events. */
export function eventQueueShards(layout: QueueLayout): QueueShard[] {
  return EVENT_QUEUE_KEYS.flatMap((key) => queueShards(layout, key));
}

/** A counter value as read: null (never written) is 0, and a negative one (decrements ahead of their increments) is clamped to 0. */
function clamp(value: unknown): number {
  const count = Number(value ?? 0);
  return Number.isFinite(count) && count > 0 ? count : 0;
}

/** The outcome of the healing script on one queue's counter. */
export interface BacklogHealing {
  queue: string;
  reset: boolean;
  previous: number;
}

/**
 * Sets one queue's counter to 0 when that queue has no unfinished job, atomically with the check
 * (its keys share a slot). Heals the drift of a gateway killed before it counted its jobs (too
 * low) or of a worker killed before it took its stored jobs off (too high).
 */
export async function healQueueBacklog(redis: Redis, layout: QueueLayout, shard: QueueShard): Promise<BacklogHealing> {
  const keys = [backlogKey(layout.prefix, shard.label), ...UNFINISHED_STATES.map((state) => queueKey(layout, shard, state))];
  const [reset, previous] = (await redis.eval(HEAL_SCRIPT, keys.length, ...keys)) as [number, string];
  return { queue: shard.label, reset: reset === 1, previous: Number(previous) };
}

/** The healing script on the counter of every queue of events, one script per queue (each in its own slot). */
export async function healQueueBacklogs(redis: Redis, layout: QueueLayout): Promise<BacklogHealing[]> {
  return Promise.all(eventQueueShards(layout).map((shard) => healQueueBacklog(redis, layout, shard)));
}

/** Reads the events waiting over every queue of events: the sum of their counters, each clamped at 0. */
export async function readQueueBacklog(redis: Redis, layout: QueueLayout): Promise<number> {
  const values = await Promise.all(eventQueueShards(layout).map((shard) => redis.get(backlogKey(layout.prefix, shard.label))));
  return values.reduce((sum, value) => sum + clamp(value), 0);
}

// Counts are sent to Redis at most this often: one command per process per tick, none per request.
const FLUSH_INTERVAL_MS = 100;
// A flush that has not answered in this long (Redis hanging) makes the value unknown: unknown admits.
const STALE_AFTER_MS = 2000;

export interface QueueBacklogOptions {
  redisUrl: string;
  prefix: string;
  /** EVENTS_QUEUE_SHARDS: the events queue's shards, each with its counter. */
  eventsShards?: number;
  /** Events waiting in Redis at which new requests are refused; 0: never. */
  limit: number;
  flushIntervalMs?: number;
}

/** Adds `count` under `label` in a map of counts per queue. */
function add(counts: Map<string, number>, label: string, count: number): void {
  counts.set(label, (counts.get(label) ?? 0) + count);
}

function total(counts: Map<string, number>): number {
  let sum = 0;
  for (const count of counts.values()) sum += count;
  return sum;
}

/**
 * The gateway's side of the shared backlog. Events whose job Redis holds are added here, under the
 * queue (shard) that holds them, and sent with one INCRBY per queue per tick; the answers (a GET
 * for a queue with nothing to add) are the counters over every gateway, whose sum is the backlog.
 * `full` reads the last sum (plus what this process has not sent yet) without touching Redis.
 * When a counter cannot be read the backlog is unknown, and unknown never refuses: the enqueue
 * meets Redis' own error.
 */
export class QueueBacklog {
  private readonly redis: Redis;
  private readonly layout: QueueLayout;
  private readonly labels: string[];
  private readonly timer: NodeJS.Timeout;
  private pending = new Map<string, number>();
  /** Sent, not yet answered: not in `last` yet. */
  private sending = 0;
  private last: number | undefined;
  private flushing: Promise<void> | undefined;
  private flushStarted = 0;

  constructor(private readonly options: QueueBacklogOptions) {
    // A connection of its own, so that the last counts go out after the producers have drained and closed theirs.
    this.redis = createRedis(options.redisUrl, 'producer');
    this.layout = queueLayout(options.redisUrl, options.prefix, options.eventsShards);
    this.labels = eventQueueShards(this.layout).map((shard) => shard.label);
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
    return this.options.limit > 0 && this.last !== undefined && this.last + this.sending + total(this.pending) >= this.options.limit;
  }

  /** Counts events whose job Redis now holds in the queue `label` (a shard's: `events-2`); they reach its counter with the next tick. */
  added(events: number, label = 'events'): void {
    add(this.pending, label, events);
  }

  /** Sends what was added and reads the counters back (INCRBY answers with the new value; GET when nothing was added). */
  flush(): Promise<void> {
    if (this.flushing) {
      if (Date.now() - this.flushStarted > STALE_AFTER_MS) this.last = undefined;
      return this.flushing;
    }
    const counts = this.pending;
    this.pending = new Map();
    this.sending = total(counts);
    this.flushStarted = Date.now();
    const failed = new Map<string, number>();
    const reads = this.labels.map((label) => {
      const count = counts.get(label) ?? 0;
      const key = backlogKey(this.options.prefix, label);
      return (count > 0 ? this.redis.incrby(key, count) : this.redis.get(key)).then(clamp, (error: unknown) => {
        // Those events are in Redis: count them with the next tick.
        if (count > 0) add(failed, label, count);
        throw error;
      });
    });
    // Labels no queue of this layout has (a fake producer's) are dropped: no counter would ever take them off.
    this.flushing = Promise.allSettled(reads)
      .then((results) => {
        this.sending = 0;
        for (const [label, count] of failed) add(this.pending, label, count);
        // Until every counter is read, admit.
        this.last = results.every((result) => result.status === 'fulfilled')
          ? results.reduce((sum, result) => sum + (result as PromiseFulfilledResult<number>).value, 0)
          : undefined;
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Sends the last counts and disconnects; call it once the producers have drained (no more `added`). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    if (total(this.pending) > 0) await this.flush();
    this.redis.disconnect();
  }
}

// The healing script runs this often on each worker that consumes a queue of events.
const HEAL_INTERVAL_MS = 5000;

export interface QueueBacklogDrainOptions {
  redisUrl: string;
  prefix: string;
  /** EVENTS_QUEUE_SHARDS. */
  eventsShards?: number;
  flushIntervalMs?: number;
  healIntervalMs?: number;
}

/**
 * A worker's side of the shared backlog: events of stored jobs are taken off their queue's counter
 * with one DECRBY per queue per tick, and every few seconds the healing script resets the counter
 * of each queue of events that is empty.
 */
export class QueueBacklogDrain {
  private readonly redis: Redis;
  private readonly layout: QueueLayout;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly healTimer: NodeJS.Timeout;
  private pending = new Map<string, number>();
  private flushing: Promise<void> | undefined;
  private healing: Promise<BacklogHealing[]> | undefined;

  constructor(private readonly options: QueueBacklogDrainOptions) {
    this.redis = createRedis(options.redisUrl, 'admin');
    this.layout = queueLayout(options.redisUrl, options.prefix, options.eventsShards);
    this.flushTimer = setInterval(() => void this.flush(), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
    this.healTimer = setInterval(() => void this.heal().catch(() => undefined), options.healIntervalMs ?? HEAL_INTERVAL_MS);
    this.healTimer.unref();
  }

  /** Counts the events of a job of the queue `label` (a shard's: `events-2`) that has been stored; they leave its counter with the next tick. */
  stored(events: number, label = 'events'): void {
    add(this.pending, label, events);
  }

  /** Takes the stored events off the counters. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const counts = this.pending;
    if (total(counts) === 0) return Promise.resolve();
    this.pending = new Map();
    this.flushing = Promise.all(
      [...counts].map(([label, count]) =>
        this.redis.decrby(backlogKey(this.options.prefix, label), count).then(
          () => undefined,
          () => add(this.pending, label, count),
        ),
      ),
    )
      .then(() => undefined)
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Sends this worker's own decrements first (they would otherwise land after a reset), then runs the healing script on every queue of events. */
  heal(): Promise<BacklogHealing[]> {
    // One at a time: while Redis hangs, the timer must not pile scripts up behind it.
    // A flush already on its way is waited for; the second sends what was stored meanwhile.
    this.healing ??= this.flush()
      .then(() => this.flush())
      .then(() => healQueueBacklogs(this.redis, this.layout))
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
    if (total(this.pending) > 0) await this.flush();
    this.redis.disconnect();
  }
}
