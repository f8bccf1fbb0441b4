import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };

/** A registry with the process's own metrics (CPU, memory, event loop lag, GC) and `service` on every series. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

// Rejection reasons are a finite set (schema paths and messages), but a new kind of reason should
// not be able to grow the series without bound: past this many, they are counted as `other`.
const MAX_REASONS = 200;

/** A service the gateway depends on, as the `dependency` label of evt_dependency_up. */
export type Dependency = 'redis' | 'postgres';

/** The shared backlog of events waiting in Redis, as one gateway process last read it (QueueBacklog in libs/queue). */
export interface BacklogReading {
  /** Events waiting, or undefined when the last read failed. */
  readonly events: number | undefined;
  /** Its limit; 0: none. */
  readonly limit: number;
}

/** What the gateway reports at /metrics. */
export class GatewayMetrics {
  private readonly requests: Counter<'route' | 'status'>;
  private readonly backlogRefusals: Counter;
  private readonly events: Counter<'outcome' | 'reason'>;
  private readonly enqueue: Histogram;
  private readonly dependencies: Gauge<'dependency'>;
  private readonly reasons = new Set<string>();
  /** Children of `requests` by route and status, bound once: the hot path only increments. */
  private readonly requestChildren = new Map<string, { inc(): void }>();

  constructor(
    readonly registry: Registry,
    queueDepths?: () => Promise<Array<{ queue: string; waiting: number; active: number; delayed: number; failed: number }>>,
    /** Checked at each scrape, so that a dashboard sees a dependency go down without a readiness probe. */
    dependencyStates?: () => Promise<Record<Dependency, boolean>>,
  ) {
    this.dependencies = new Gauge({
      name: 'evt_dependency_up',
      help: 'Whether a dependency answered the last check (1) or not (0): set at each readiness check and scrape.',
      labelNames: ['dependency'],
      registers: [registry],
      // Across gateway processes: down if any of them could not reach it.
      aggregator: 'min',
      collect: dependencyStates
        ? async () => {
            for (const [dependency, up] of Object.entries(await dependencyStates())) this.dependencies.set({ dependency }, up ? 1 : 0);
          }
        : undefined,
    });
    this.requests = new Counter({
      name: 'evt_http_requests_total',
      help: 'Requests answered, by route and status.',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    this.events = new Counter({
      name: 'evt_events_total',
      help: 'Events accepted (queued) and rejected (recorded in rejected_events), by reason.',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.backlogRefusals = new Counter({
      name: 'evt_queue_backlog_refusals_total',
      help: 'Requests answered 503 because the events waiting in Redis had reached MAX_QUEUE_BACKLOG_EVENTS.',
      registers: [registry],
    });
    this.enqueue = new Histogram({
      name: 'evt_enqueue_duration_seconds',
      help: 'Time from a request’s events being ready to Redis holding their job.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    if (queueDepths) {
      const gauge: Gauge<'queue' | 'state'> = new Gauge({
        name: 'evt_queue_jobs',
        help: 'Jobs in each queue, by state (read from Redis when scraped).',
        labelNames: ['queue', 'state'],
        registers: [registry],
        // Every gateway process reads the same Redis: across processes the value is the same, not a sum.
        aggregator: 'max',
        async collect() {
          try {
            for (const depth of await queueDepths()) {
              for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) gauge.set({ queue: depth.queue, state }, depth[state]);
            }
          } catch {
            // Redis away: the last values stay; evt_http_requests_total shows the 503s.
          }
        },
      });
    }
  }

  request(route: string, status: number): void {
    const key = `${route} ${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels(route, String(status));
      this.requestChildren.set(key, child);
    }
    child.inc();
  }

  accepted(count: number): void {
    this.events.inc({ outcome: 'accepted', reason: '' }, count);
  }

  rejected(reasons: string[]): void {
    for (const reason of reasons) {
      if (!this.reasons.has(reason) && this.reasons.size < MAX_REASONS) this.reasons.add(reason);
      this.events.inc({ outcome: 'rejected', reason: this.reasons.has(reason) ? reason : 'other' });
    }
  }

  enqueued(seconds: number): void {
    this.enqueue.observe(seconds);
  }

  /** A request refused because the backlog was full. */
  backlogFull(): void {
    this.backlogRefusals.inc();
  }

  /** Reports the shared backlog at each scrape: the value last read (kept when a read failed) and the limit. */
  watchBacklog(backlog: BacklogReading): void {
    const events = new Gauge({
      name: 'evt_queue_backlog_events',
      help: 'Events waiting in Redis on the queues of events, shared by every gateway, as last read (every 100 ms).',
      registers: [this.registry],
      // One shared counter: across processes the value is the same (the freshest is the largest while it grows).
      aggregator: 'max',
      collect() {
        if (backlog.events !== undefined) events.set(backlog.events);
      },
    });
    const limit = new Gauge({
      name: 'evt_queue_backlog_limit_events',
      help: 'MAX_QUEUE_BACKLOG_EVENTS: events waiting in Redis at which requests are answered 503 (0: no limit).',
      registers: [this.registry],
      aggregator: 'max',
    });
    limit.set(backlog.limit);
  }

  /** What the last check of a dependency found. */
  dependencyUp(dependency: Dependency, up: boolean): void {
    this.dependencies.set({ dependency }, up ? 1 : 0);
  }
}

/**
 * What a job (or a group commit of jobs) wrote: the processors' declared result, read by
 * `WorkerMetrics.wrote`. Each field is an `outcome` of evt_worker_items_total.
 */
export interface ItemsWritten {
  /** Events stored now. */
  readonly stored?: number;
  /** Events already there (a job run again): outcome `duplicate`. */
  readonly duplicates?: number;
  /** Items set aside in rejected_events. */
  readonly rejected?: number;
  /** rETL records written. */
  readonly records?: number;
  /** Audience members written. */
  readonly members?: number;
}

// The label of each field; the order is the series' order at /metrics.
const ITEM_OUTCOMES: { readonly [K in keyof Required<ItemsWritten>]: string } = {
  stored: 'stored',
  duplicates: 'duplicate',
  rejected: 'rejected',
  records: 'records',
  members: 'members',
};
const ITEM_FIELDS = Object.keys(ITEM_OUTCOMES) as Array<keyof ItemsWritten>;

/** What a worker reports at /metrics: its throughput. */
export class WorkerMetrics {
  private readonly jobs: Counter<'queue' | 'outcome'>;
  private readonly duration: Histogram<'queue'>;
  private readonly items: Counter<'queue' | 'outcome'>;

  constructor(readonly registry: Registry) {
    this.jobs = new Counter({
      name: 'evt_worker_jobs_total',
      help: 'Jobs processed, by queue and outcome (done, or failed and to be retried).',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'evt_worker_job_duration_seconds',
      help: 'Time to process one job, by queue.',
      labelNames: ['queue'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.items = new Counter({
      name: 'evt_worker_items_total',
      help: 'Events (or records) written by jobs, by queue and outcome: stored, duplicate (already there), rejected.',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    });
  }

  /** A job done, and how long it took (waiting for its group commit included). */
  done(queue: string, seconds: number): void {
    this.jobs.inc({ queue, outcome: 'done' });
    this.duration.observe({ queue }, seconds);
  }

  /** What a write did, counted once per write. */
  wrote(queue: string, written: ItemsWritten): void {
    for (const field of ITEM_FIELDS) {
      const count = written[field];
      if (count !== undefined && count > 0) this.items.inc({ queue, outcome: ITEM_OUTCOMES[field] }, count);
    }
  }

  failed(queue: string): void {
    this.jobs.inc({ queue, outcome: 'failed' });
  }
}
