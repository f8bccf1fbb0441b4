import { QUEUES, queueKeysOf, type NameOf, type QueueKeyOf } from '@evt/schemas';
import { clusterAddress, sentinelAddress } from './redis-address';

/** Raised at start-up when an environment variable has a value we cannot use. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type TrustProxy = boolean | number | string;

export interface Config {
  readonly port: number;
  readonly host: string;
  /** A `redis://` URL, or the address of a Sentinel deployment (REDIS_SENTINELS; see sentinelAddress) or of a Cluster (REDIS_CLUSTER_NODES; clusterAddress). */
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** BullMQ key prefix. Under Redis Cluster each queue's name carries its own hash tag; a braced prefix (`{evt}`) would put every queue in one slot. */
  readonly queuePrefix: string;
  /** The events queue is this many BullMQ queues (shards), each with its own hash tag; 1 keeps the one queue of old. */
  readonly eventsQueueShards: number;
  /** The shards of the events queue an events worker consumes (EVENTS_WORKER_SHARDS), all by default. */
  readonly eventsWorkerShards: readonly number[];
  readonly logLevel: string;
  readonly maxRequestSize: number;
  readonly maxEventSize: number;
  /** Audience lists are exempt from MAX_REQUEST_SIZE, as in RudderStack, but not unbounded. */
  readonly maxAudienceListSize: number;
  readonly trustProxy: TrustProxy;
  /**
   * The address browsers reach the gateway at (`https://events.example.com`), told to Segment's
   * analytics.js in its settings. Unset: taken from each request's Host (X-Forwarded-* under TRUST_PROXY).
   */
  readonly publicUrl: string | undefined;
  readonly enqueueTimeoutMs: number;
  /**
   * Replicas that must hold a job before its request is answered 200 (Redis WAIT, within the
   * enqueue's own timeout); fewer in time is a 503. 0: the primary's acknowledgement is enough.
   */
  readonly redisAckReplicas: number;
  readonly enqueueMaxEvents: number;
  readonly enqueueMaxBytes: number;
  readonly enqueueMaxPendingBytes: number;
  /** Benchmarks only: accept and answer without enqueueing, to measure the parse + validate ceiling. */
  readonly enqueueDisabled: boolean;
  /** Request bodies held in memory at once by one gateway process; more wait unread. */
  readonly maxInflightBodyBytes: number;
  /**
   * Events waiting in Redis (every gateway's, on the queues of events) at which new requests are
   * answered 503 until workers have stored some; 0: no limit.
   */
  readonly maxQueueBacklogEvents: number;
  readonly sourceConfigRefreshMs: number;
  readonly gatewayProcesses: number;
  readonly shutdownTimeoutMs: number;
  /** A client must send its headers within this, and its whole request within requestTimeoutMs. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly workerConcurrency: number;
  /** Queues the internal worker consumes; one deployment per queue scales each on its own. */
  readonly workerQueues: readonly InternalQueueName[];
  /** How long a job stays locked to a worker that stopped answering (killed) before another takes it. */
  readonly workerLockMs: number;
  /** Failures that are not transient a job may have before it ends in BullMQ's `failed` state. */
  readonly workerMaxAttempts: number;
  readonly migrateOnStart: boolean;
  readonly internalApiEnabled: boolean;
  readonly internalApiToken: string | undefined;
  /** When set, /metrics wants `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
  /** When set, the queue dashboard is served at /admin/queues to holders of this token (Bearer, or Basic's password); unset, it is off. */
  readonly adminToken: string | undefined;
  /** A worker's /metrics port (0: no metrics server). The gateway serves /metrics on its own port. */
  readonly metricsPort: number;
  /** How much of received_at one partition of `events` covers (UTC months or days). */
  readonly eventsPartitionInterval: 'month' | 'day';
  /** The events workers keep partitions created for the current interval and this many after it. */
  readonly eventsPartitionsAhead: number;
  /**
   * Days a stored event's key is kept (from its first delivery's receivedAt): a retry within them
   * is dropped, one after them is stored again. At least 7.
   */
  readonly eventsDedupWindowDays: number;
}

type Env = Record<string, string | undefined>;

// The dashboard can retry and delete jobs: a token short enough to guess would open it to anyone.
const MIN_ADMIN_TOKEN_LENGTH = 16;

function adminToken(env: Env): string | undefined {
  const token = read(env, 'ADMIN_TOKEN');
  if (token !== undefined && token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError('ADMIN_TOKEN', `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (openssl rand -hex 24 makes one)`);
  }
  return token;
}

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Sizes accept plain bytes or a unit: `4000KB`, `1MB`, `512kb` (1 KB = 1024 bytes). */
function size(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(raw);
  if (!match) throw new ConfigError(name, `expected a size such as 4000KB or 1048576, got "${raw}"`);
  const factor = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  const value = Number(match[1]) * factor;
  if (value < 1) throw new ConfigError(name, 'must be at least 1 byte');
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = read(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

/** `host:port,host:port` (IPv6 in brackets) as a list, refused when empty or malformed. */
function hostPorts(name: string, raw: string): Array<{ host: string; port: number }> {
  const parsed = raw.split(',').map((entry) => /^([^\s:/,]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(entry.trim()));
  if (parsed.some((match) => match === null || Number(match[2]) < 1 || Number(match[2]) > 65535)) {
    throw new ConfigError(name, `must list host:port pairs separated by commas, got "${raw}"`);
  }
  return parsed.map((match) => ({ host: (match as RegExpExecArray)[1].replace(/^\[|\]$/g, ''), port: Number((match as RegExpExecArray)[2]) }));
}

/** `EVENTS_WORKER_SHARDS`: the shards of the events queue this worker consumes (`0,2`), every one of the `shards` when unset. */
function eventsWorkerShards(env: Env, shards: number): readonly number[] {
  const raw = read(env, 'EVENTS_WORKER_SHARDS');
  if (raw === undefined) return Object.freeze(Array.from({ length: shards }, (_, shard) => shard));
  const values = raw.split(',').map((value) => value.trim());
  if (values.some((value) => !/^\d+$/.test(value) || Number(value) >= shards)) {
    throw new ConfigError('EVENTS_WORKER_SHARDS', `must list shard numbers from 0 to ${shards - 1} (EVENTS_QUEUE_SHARDS is ${shards}), got "${raw}"`);
  }
  return Object.freeze([...new Set(values.map(Number))].sort((a, b) => a - b));
}

/**
 * Where Redis is: `REDIS_URL`, or, with `REDIS_CLUSTER_NODES` (`host:port,host:port`, some nodes of a
 * Redis Cluster), a Cluster whose nodes share `REDIS_URL`'s credentials, or, with `REDIS_SENTINELS` (`host:port,host:port`) and
 * `REDIS_SENTINEL_NAME`, a Sentinel deployment whose primary is found (and found again after a
 * failover) through its sentinels; `REDIS_URL`'s credentials then apply to the primary (TLS to a
 * Sentinel deployment is not supported yet).
 */
function redisAddress(env: Env): string {
  const redisUrl = url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
  const sentinels = read(env, 'REDIS_SENTINELS');
  const name = read(env, 'REDIS_SENTINEL_NAME');
  const clusterNodes = read(env, 'REDIS_CLUSTER_NODES');
  if (clusterNodes !== undefined) {
    if (sentinels !== undefined || name !== undefined) throw new ConfigError('REDIS_CLUSTER_NODES', 'and REDIS_SENTINELS are two deployments: set one of them');
    const credentials = new URL(redisUrl);
    return clusterAddress({
      nodes: hostPorts('REDIS_CLUSTER_NODES', clusterNodes),
      ...(credentials.username ? { username: decodeURIComponent(credentials.username) } : {}),
      ...(credentials.password ? { password: decodeURIComponent(credentials.password) } : {}),
    });
  }
  if (sentinels === undefined) {
    if (name !== undefined) throw new ConfigError('REDIS_SENTINEL_NAME', 'is set without REDIS_SENTINELS');
    return redisUrl;
  }
  if (name === undefined) throw new ConfigError('REDIS_SENTINEL_NAME', 'must name the primary the sentinels watch (sentinel monitor <name> …)');
  const hosts = sentinels.split(',').map((entry) => entry.trim());
  const parsed = hosts.map((entry) => /^([^\s:/,]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(entry));
  if (hosts.length === 0 || parsed.some((match) => match === null || Number(match[2]) < 1 || Number(match[2]) > 65535)) {
    throw new ConfigError('REDIS_SENTINELS', `must list host:port pairs separated by commas, got "${sentinels}"`);
  }
  const credentials = new URL(redisUrl);
  return sentinelAddress({
    sentinels: parsed.map((match) => ({ host: (match as RegExpExecArray)[1].replace(/^\[|\]$/g, ''), port: Number((match as RegExpExecArray)[2]) })),
    name,
    ...(credentials.username ? { username: decodeURIComponent(credentials.username) } : {}),
    ...(credentials.password ? { password: decodeURIComponent(credentials.password) } : {}),
  });
}

/** `PUBLIC_URL`: an http(s) origin, optionally with a path prefix; no query or fragment. No trailing slash. */
function publicUrl(env: Env): string | undefined {
  if (read(env, 'PUBLIC_URL') === undefined) return undefined;
  const parsed = new URL(url(env, 'PUBLIC_URL', '', ['http:', 'https:']));
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('PUBLIC_URL', 'must be an address such as https://events.example.com, without query, fragment or credentials');
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** `TRUST_PROXY` as Express understands it: true/false, a hop count, or a list of addresses/subnets. */
function trustProxy(env: Env): TrustProxy {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

/** The name of a queue the internal worker consumes. */
export type InternalQueueName = NameOf<QueueKeyOf<'internal-worker'>>;

/** The queues fed by the internal API, each consumed by the internal worker (the job registry says which). */
export const INTERNAL_QUEUES: readonly InternalQueueName[] = Object.freeze(queueKeysOf('internal-worker').map((key) => QUEUES[key].name));

function list<T extends string>(env: Env, name: string, fallback: readonly T[], allowed: readonly T[]): readonly T[] {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const values = raw
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value !== '');
  const unknown = values.filter((value) => !(allowed as readonly string[]).includes(value));
  if (values.length === 0 || unknown.length > 0)
    throw new ConfigError(name, `must list some of ${allowed.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`);
  return Object.freeze([...new Set(values as T[])]);
}

function logLevel(env: Env): string {
  const raw = read(env, 'LOG_LEVEL') ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(raw)) throw new ConfigError('LOG_LEVEL', `must be one of ${levels.join(', ')}`);
  return raw;
}

/**
 * The default bound on events waiting in Redis, sized for docker-compose's Redis (maxmemory 1gb,
 * noeviction). Measured on Redis 7 with a 920-byte enriched track event: a job of one event (below
 * 16 KB, stored as JSON) takes about 1.7 KB of Redis memory per event with BullMQ's keys; jobs of
 * 50 events or more are Brotli-compressed and take 125–160 bytes per event. 500,000 events are
 * then about 0.07 GB as overload coalesces them, and 0.86 GB in the worst case where every one
 * waits in a job of its own: the limit answers before Redis' noeviction does, with room left for
 * BullMQ's own writes (a full Redis refuses those too). Raise it with REDIS_MAXMEMORY.
 */
const DEFAULT_MAX_QUEUE_BACKLOG_EVENTS = 500_000;

/** One reader per setting: each reads and validates its own variables, and only them. */
const READERS: { readonly [K in keyof Config]: (env: Env) => Config[K] } = {
  port: (env) => int(env, 'PORT', 8080, 0, 65535),
  host: (env) => read(env, 'HOST') ?? '0.0.0.0',
  redisUrl: redisAddress,
  databaseUrl: (env) => url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/evt', ['postgres:', 'postgresql:']),
  queuePrefix: (env) => read(env, 'QUEUE_PREFIX') ?? 'evt',
  eventsQueueShards: (env) => int(env, 'EVENTS_QUEUE_SHARDS', 1, 1, 256),
  eventsWorkerShards: (env) => eventsWorkerShards(env, int(env, 'EVENTS_QUEUE_SHARDS', 1, 1, 256)),
  logLevel,
  maxRequestSize: (env) => size(env, 'MAX_REQUEST_SIZE', 4000 * 1024),
  maxEventSize: (env) => size(env, 'MAX_EVENT_SIZE', 1024 * 1024),
  maxAudienceListSize: (env) => size(env, 'MAX_AUDIENCE_LIST_SIZE', 100 * 1024 * 1024),
  trustProxy,
  publicUrl,
  enqueueTimeoutMs: (env) => int(env, 'ENQUEUE_TIMEOUT_MS', 800, 10, 60_000),
  redisAckReplicas: (env) => int(env, 'REDIS_ACK_REPLICAS', 0, 0, 100),
  enqueueMaxEvents: (env) => int(env, 'ENQUEUE_MAX_EVENTS', 2000, 1, 100_000),
  enqueueMaxBytes: (env) => size(env, 'ENQUEUE_MAX_BYTES', 4 * 1024 * 1024),
  enqueueMaxPendingBytes: (env) => size(env, 'ENQUEUE_MAX_PENDING_BYTES', 64 * 1024 * 1024),
  enqueueDisabled: (env) => bool(env, 'ENQUEUE_DISABLED', false),
  maxInflightBodyBytes: (env) => size(env, 'MAX_INFLIGHT_BODY_BYTES', 64 * 1024 * 1024),
  maxQueueBacklogEvents: (env) => int(env, 'MAX_QUEUE_BACKLOG_EVENTS', DEFAULT_MAX_QUEUE_BACKLOG_EVENTS, 0, 1_000_000_000),
  sourceConfigRefreshMs: (env) => int(env, 'SOURCE_CONFIG_REFRESH_MS', 2000, 100, 5000),
  gatewayProcesses: (env) => int(env, 'GATEWAY_PROCESSES', 1, 1, 256),
  shutdownTimeoutMs: (env) => int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
  headersTimeoutMs: (env) => int(env, 'HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
  requestTimeoutMs: (env) => int(env, 'REQUEST_TIMEOUT_MS', 60_000, 100, 3_600_000),
  workerConcurrency: (env) => int(env, 'WORKER_CONCURRENCY', 8, 1, 1000),
  workerQueues: (env) => list(env, 'WORKER_QUEUES', INTERNAL_QUEUES, INTERNAL_QUEUES),
  workerLockMs: (env) => int(env, 'WORKER_LOCK_MS', 30_000, 500, 600_000),
  workerMaxAttempts: (env) => int(env, 'WORKER_MAX_ATTEMPTS', 8, 1, 1_000_000),
  migrateOnStart: (env) => bool(env, 'MIGRATE_ON_START', true),
  internalApiEnabled: (env) => bool(env, 'INTERNAL_API_ENABLED', true),
  internalApiToken: (env) => read(env, 'INTERNAL_API_TOKEN'),
  metricsToken: (env) => read(env, 'METRICS_TOKEN'),
  adminToken,
  metricsPort: (env) => int(env, 'METRICS_PORT', 0, 0, 65535),
  eventsPartitionInterval: partitionInterval,
  eventsPartitionsAhead: (env) => int(env, 'EVENTS_PARTITIONS_AHEAD', 3, 1, 366),
  eventsDedupWindowDays: (env) => int(env, 'EVENTS_DEDUP_WINDOW_DAYS', 30, 7, 3650),
};

const SETTINGS = Object.keys(READERS) as Array<keyof Config>;

/**
 * Reads and validates every setting once. The only reader of `process.env` in the product:
 * a bad value stops the process with a message that names the variable.
 */
export function loadConfig(env: Env = process.env): Config {
  // MAX_REQUEST_SIZE is checked first, as it always was: the first error named stays the same.
  READERS.maxRequestSize(env);
  const config: Partial<Record<keyof Config, unknown>> = {};
  for (const key of SETTINGS) config[key] = READERS[key](env);
  return Object.freeze(config as Config);
}

/**
 * The same settings, each read and validated on first access (then kept): a tool that needs only
 * DATABASE_URL is not stopped by a bad MAX_REQUEST_SIZE. The CLI reads its settings this way.
 */
export function settings(env: Env = process.env): Config {
  const read = new Map<keyof Config, unknown>();
  const lazy = {} as Config;
  for (const key of SETTINGS) {
    Object.defineProperty(lazy, key, {
      enumerable: true,
      get() {
        if (!read.has(key)) read.set(key, READERS[key](env));
        return read.get(key);
      },
    });
  }
  return Object.freeze(lazy);
}

function partitionInterval(env: Env): 'month' | 'day' {
  const raw = read(env, 'EVENTS_PARTITION_INTERVAL') ?? 'month';
  if (raw !== 'month' && raw !== 'day') throw new ConfigError('EVENTS_PARTITION_INTERVAL', `must be month or day, got "${raw}"`);
  return raw;
}
