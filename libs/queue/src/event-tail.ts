import { allNodes, createRedis, whenReady, type Redis } from './connection';

/** The Redis channel the workers publish stored events on, for `evt events tail`. */
export const tailChannel = (prefix: string): string => `${prefix}:tail`;

/** An event as the tail shows it: the columns admins filter on, and the payload unless it is large. */
export interface TailEvent {
  sourceId: string;
  workspaceId: string;
  type: string;
  messageId: string;
  event: string | null;
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  receivedAt: string;
  /** The whole event as stored; left out when over TAIL_PAYLOAD_MAX_BYTES (see payloadBytes). */
  payload?: unknown;
  /** Set when the payload was left out: its size in bytes of JSON. */
  payloadOmittedBytes?: number;
}

/** Payloads over this many bytes of JSON are published without the payload: a tail is a window, not a copy. */
export const TAIL_PAYLOAD_MAX_BYTES = 64 * 1024;

// Events per message: a big group commit goes out in a few messages of bounded size.
const EVENTS_PER_MESSAGE = 200;

/** The event with its payload, or without it and its size when the payload is over `maxBytes`. */
export function cappedTailEvent(event: TailEvent, maxBytes = TAIL_PAYLOAD_MAX_BYTES): TailEvent {
  const bytes = Buffer.byteLength(JSON.stringify(event.payload ?? null));
  if (bytes <= maxBytes) return event;
  const { payload: _omitted, ...rest } = event;
  return { ...rest, payloadOmittedBytes: bytes };
}

export interface EventTailPublisherOptions {
  redisUrl: string;
  prefix: string;
  /** How long an answer of PUBSUB NUMSUB is trusted: at most one such command per this many ms while events flow. */
  checkEveryMs?: number;
}

/**
 * Publishes stored events for `evt events tail`, only while someone listens: whether anyone does
 * is asked (PUBSUB NUMSUB, on every node of a Cluster) at most once per `checkEveryMs`, and the
 * events are built and sent only then. With no listener the cost is one small command a second.
 * Best effort: a publish that fails is dropped, never retried, and never fails the caller.
 */
export class EventTailPublisher {
  private readonly redis: Redis;
  private readonly channel: string;
  private readonly checkEveryMs: number;
  private listeners = 0;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | undefined;

  constructor(options: EventTailPublisherOptions) {
    // A producer's connection: fails fast while Redis is away rather than queueing tail messages.
    this.redis = createRedis(options.redisUrl, 'producer');
    this.channel = tailChannel(options.prefix);
    this.checkEveryMs = options.checkEveryMs ?? 1000;
  }

  /** Publishes the events `build` returns if anyone listens; `build` is not called otherwise. Never rejects. */
  async publish(build: () => TailEvent[]): Promise<void> {
    try {
      if (performance.now() - this.checkedAt >= this.checkEveryMs) await (this.checking ??= this.check());
      if (this.listeners === 0) return;
      const events = build().map((event) => cappedTailEvent(event));
      for (let start = 0; start < events.length; start += EVENTS_PER_MESSAGE) {
        await this.redis.publish(this.channel, JSON.stringify(events.slice(start, start + EVENTS_PER_MESSAGE)));
      }
    } catch {
      // The tail is a window for people: losing a message is better than slowing the worker.
    }
  }

  private async check(): Promise<void> {
    try {
      const counts = await Promise.all(allNodes(this.redis).map((node) => node.pubsub('NUMSUB', this.channel) as Promise<[string, number]>));
      this.listeners = counts.reduce((sum, [, count]) => sum + Number(count), 0);
    } catch {
      this.listeners = 0;
    } finally {
      this.checkedAt = performance.now();
      this.checking = undefined;
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export interface TailSubscription {
  close(): Promise<void>;
}

/**
 * Subscribes to the tail channel and hands each event to `onEvent`. Rejects if Redis cannot be
 * reached within `timeoutMs` (with why: whenReady), so a command does not hang on a Redis that is away.
 */
export async function subscribeTail(options: {
  redisUrl: string;
  prefix: string;
  onEvent: (event: TailEvent) => void;
  timeoutMs?: number;
}): Promise<TailSubscription> {
  const redis = createRedis(options.redisUrl, 'admin');
  const close = async () => {
    await redis.quit().catch(() => redis.disconnect());
  };
  try {
    await whenReady(redis, options.timeoutMs ?? 3000);
    const channel = tailChannel(options.prefix);
    redis.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      let events: unknown;
      try {
        events = JSON.parse(message);
      } catch {
        return;
      }
      if (Array.isArray(events)) for (const event of events as TailEvent[]) options.onEvent(event);
    });
    await redis.subscribe(channel);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return { close };
}
