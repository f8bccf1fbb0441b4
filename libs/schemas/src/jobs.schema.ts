import { Type, type Static, type TObject } from '@sinclair/typebox';
import { EnrichedEvent } from './enriched-event.schema';
import { AudienceListItem, RetlItem } from './internal.schema';

export const QueuedEvent = Type.Object({
  sourceId: Type.String({ minLength: 1 }),
  workspaceId: Type.String({ minLength: 1 }),
  event: EnrichedEvent,
});
export type QueuedEvent = Static<typeof QueuedEvent>;

/** Something a client sent that we did not accept, kept so that nothing disappears without a trace. */
export const RejectedEvent = Type.Object({
  /** Made by the gateway, so that a retried job stores the rejection once. */
  id: Type.String({ minLength: 1 }),
  sourceId: Type.Union([Type.String(), Type.Null()]),
  workspaceId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  messageId: Type.Optional(Type.String()),
  /** The event as sent; left out when it is larger than `MAX_EVENT_SIZE`, then only `eventSize` is kept. */
  event: Type.Optional(Type.Unknown()),
  eventSize: Type.Optional(Type.Integer({ minimum: 0 })),
  receivedAt: Type.String(),
});
export type RejectedEvent = Static<typeof RejectedEvent>;

/** The payload of one job of the `events` queue: the events of many requests, coalesced. */
export const EventsJob = Type.Object({
  events: Type.Array(QueuedEvent),
  rejected: Type.Array(RejectedEvent),
});
export type EventsJob = Static<typeof EventsJob>;

/** The `retl` queue's payload: records of many requests. */
export const RetlJob = Type.Object({ records: Type.Array(RetlItem), rejected: Type.Array(RejectedEvent) });
export type RetlJob = Static<typeof RetlJob>;

/** The `audiencelist` queue's payload. */
export const AudienceListJob = Type.Object({ lists: Type.Array(AudienceListItem), rejected: Type.Array(RejectedEvent) });
export type AudienceListJob = Static<typeof AudienceListJob>;

/** The app that consumes a queue. */
export type WorkerApp = 'events-worker' | 'internal-worker';

/**
 * What the job registry says about one queue. Its processor is bound to the same key by the
 * worker that consumes it (the workers' registries), where a missing one fails to compile.
 */
export interface QueueSpec<P extends TObject = TObject, K extends string = string> {
  /** The BullMQ queue name: also the `queue` label of the metrics and of rejected-event ids. */
  name: string;
  /** A job's payload: `{ [itemsKey]: Item[], rejected: RejectedEvent[] }`, checked item by item by the processor. */
  payload: P;
  /** The payload's field holding the items. */
  itemsKey: K;
  /** True: jobs are applied one at a time in queue order (a later job must not overtake an earlier one). */
  ordered: boolean;
  /** True: the queue may be split into EVENTS_QUEUE_SHARDS BullMQ queues (jobs go round-robin): only for a queue whose order does not matter. */
  sharded: boolean;
  worker: WorkerApp;
}

// The items key must name an array field of the payload: a typo fails to compile.
// An ordered queue cannot be sharded: that fails to compile too.
function queue<const N extends string, P extends TObject, const K extends keyof Static<P> & string, const W extends WorkerApp, const O extends boolean>(spec: {
  name: N;
  payload: P;
  itemsKey: Static<P>[K] extends unknown[] ? K : never;
  ordered: O;
  sharded: O extends true ? false : boolean;
  worker: W;
}) {
  return spec;
}

/**
 * The job registry: every queue, one kind of work each (README, "Scaling"). Producers, the
 * gateway's queue set, WORKER_QUEUES, the workers and their metrics all derive from it; adding
 * a queue is one entry here plus its processor in the worker named by `worker`.
 * rETL updates merge into records and audience writes flip membership: those queues are ordered,
 * and stay one queue each. Only `events` is sharded (EVENTS_QUEUE_SHARDS; see queueShards in libs/queue).
 */
export const QUEUES = {
  events: queue({ name: 'events', payload: EventsJob, itemsKey: 'events', ordered: false, sharded: true, worker: 'events-worker' }),
  replay: queue({ name: 'replay', payload: EventsJob, itemsKey: 'events', ordered: false, sharded: false, worker: 'internal-worker' }),
  retl: queue({ name: 'retl', payload: RetlJob, itemsKey: 'records', ordered: true, sharded: false, worker: 'internal-worker' }),
  audiencelist: queue({ name: 'audiencelist', payload: AudienceListJob, itemsKey: 'lists', ordered: true, sharded: false, worker: 'internal-worker' }),
  extract: queue({ name: 'extract', payload: EventsJob, itemsKey: 'events', ordered: false, sharded: false, worker: 'internal-worker' }),
  internalBatch: queue({ name: 'internal-batch', payload: EventsJob, itemsKey: 'events', ordered: false, sharded: false, worker: 'internal-worker' }),
} as const satisfies Record<string, QueueSpec>;

type Queues = typeof QUEUES;
/** A queue's key in the registry (and the gateway's producer of it): `internalBatch`. */
export type QueueKey = keyof Queues;
/** A queue's name in Redis: `internal-batch`. */
export type QueueName = Queues[QueueKey]['name'];
export type NameOf<K extends QueueKey> = Queues[K]['name'];
export type PayloadOf<K extends QueueKey> = Static<Queues[K]['payload']>;
/** One item of a queue's jobs: an event, an rETL record, an audience list. */
export type ItemOf<K extends QueueKey> = PayloadOf<K>[Queues[K]['itemsKey'] & keyof PayloadOf<K>] extends Array<infer I> ? I : never;
/** The queues whose items are T: `QueueKeyFor<QueuedEvent>` are the queues of events. */
export type QueueKeyFor<T> = { [K in QueueKey]: ItemOf<K> extends T ? K : never }[QueueKey];
/** The queues a worker app consumes. */
export type QueueKeyOf<W extends WorkerApp> = { [K in QueueKey]: Queues[K]['worker'] extends W ? K : never }[QueueKey];

/** Every queue key, in registry order. */
export const QUEUE_KEYS = Object.keys(QUEUES) as QueueKey[];

/** Queue names by key. */
export const QUEUE_NAMES = Object.freeze(Object.fromEntries(QUEUE_KEYS.map((key) => [key, QUEUES[key].name]))) as { readonly [K in QueueKey]: NameOf<K> };

/** The keys of the queues a worker app consumes, in registry order. */
export function queueKeysOf<W extends WorkerApp>(worker: W): Array<QueueKeyOf<W>> {
  return QUEUE_KEYS.filter((key): key is QueueKeyOf<W> => QUEUES[key].worker === worker);
}

/** The registry key of a queue name, or undefined for a name no queue has. */
export function queueKeyOf(name: string): QueueKey | undefined {
  return QUEUE_KEYS.find((key) => QUEUES[key].name === name);
}
