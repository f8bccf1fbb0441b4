import { clusterOptions, isClusterAddress, sentinelOptions } from './redis-address';
import { QUEUES } from '@evt/schemas';
import { ConfigError, INTERNAL_QUEUES, loadConfig, settings } from './config';

/** The error loadConfig throws for `env`; fails the test when it throws none. */
function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has a default for every setting', () => {
    expect(loadConfig({})).toStrictEqual({
      port: 8080,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/evt',
      queuePrefix: 'evt',
      eventsQueueShards: 1,
      eventsWorkerShards: [0],
      logLevel: 'info',
      maxRequestSize: 4096000,
      maxEventSize: 1048576,
      maxAudienceListSize: 104857600,
      enqueueDisabled: false,
      maxInflightBodyBytes: 67108864,
      maxQueueBacklogEvents: 500000,
      trustProxy: false,
      publicUrl: undefined,
      enqueueTimeoutMs: 800,
      redisAckReplicas: 0,
      enqueueMaxEvents: 2000,
      enqueueMaxBytes: 4194304,
      enqueueMaxPendingBytes: 67108864,
      sourceConfigRefreshMs: 2000,
      gatewayProcesses: 1,
      shutdownTimeoutMs: 10000,
      headersTimeoutMs: 10000,
      requestTimeoutMs: 60000,
      workerConcurrency: 8,
      workerQueues: ['replay', 'retl', 'audiencelist', 'extract', 'internal-batch'],
      workerLockMs: 30000,
      workerMaxAttempts: 8,
      migrateOnStart: true,
      internalApiEnabled: true,
      internalApiToken: undefined,
      metricsToken: undefined,
      adminToken: undefined,
      metricsPort: 0,
      eventsPartitionInterval: 'month',
      eventsPartitionsAhead: 3,
      eventsDedupWindowDays: 30,
    });
  });

  it('reads the partitioning of events (EVENTS_PARTITION_INTERVAL, EVENTS_PARTITIONS_AHEAD) and a dedup window of at least 7 days', () => {
    const config = loadConfig({ EVENTS_PARTITION_INTERVAL: 'day', EVENTS_PARTITIONS_AHEAD: '14', EVENTS_DEDUP_WINDOW_DAYS: '7' });
    expect([config.eventsPartitionInterval, config.eventsPartitionsAhead, config.eventsDedupWindowDays]).toEqual(['day', 14, 7]);
    expect(failure({ EVENTS_PARTITION_INTERVAL: 'week' }).message).toBe('EVENTS_PARTITION_INTERVAL: must be month or day, got "week"');
    expect(failure({ EVENTS_DEDUP_WINDOW_DAYS: '6' }).message).toBe('EVENTS_DEDUP_WINDOW_DAYS: must be between 7 and 3650, got 6');
    expect(failure({ EVENTS_PARTITIONS_AHEAD: '0' }).message).toBe('EVENTS_PARTITIONS_AHEAD: must be between 1 and 366, got 0');
  });

  it("reads WORKER_MAX_ATTEMPTS, the bound on a job's failures that are not transient, and refuses 0", () => {
    expect(loadConfig({ WORKER_MAX_ATTEMPTS: '3' }).workerMaxAttempts).toBe(3);
    expect(failure({ WORKER_MAX_ATTEMPTS: '0' }).message).toBe('WORKER_MAX_ATTEMPTS: must be between 1 and 1000000, got 0');
  });

  it('reads MAX_QUEUE_BACKLOG_EVENTS, the bound on events waiting in Redis, with 0 for no limit, and refuses what is not a count', () => {
    expect(loadConfig({ MAX_QUEUE_BACKLOG_EVENTS: '2000000' }).maxQueueBacklogEvents).toBe(2000000);
    expect(loadConfig({ MAX_QUEUE_BACKLOG_EVENTS: ' 0 ' }).maxQueueBacklogEvents).toBe(0);
    expect(loadConfig({ MAX_QUEUE_BACKLOG_EVENTS: '' }).maxQueueBacklogEvents).toBe(500000);
    expect(failure({ MAX_QUEUE_BACKLOG_EVENTS: '-1' }).message).toBe('MAX_QUEUE_BACKLOG_EVENTS: expected a whole number, got "-1"');
    expect(failure({ MAX_QUEUE_BACKLOG_EVENTS: '1e6' }).message).toBe('MAX_QUEUE_BACKLOG_EVENTS: expected a whole number, got "1e6"');
    expect(failure({ MAX_QUEUE_BACKLOG_EVENTS: '1000000001' }).message).toBe('MAX_QUEUE_BACKLOG_EVENTS: must be between 0 and 1000000000, got 1000000001');
  });

  it('reads REDIS_ACK_REPLICAS, the replicas that must hold a job before its 200, and refuses what is not a count', () => {
    expect(loadConfig({ REDIS_ACK_REPLICAS: '2' }).redisAckReplicas).toBe(2);
    expect(() => loadConfig({ REDIS_ACK_REPLICAS: 'all' })).toThrow('REDIS_ACK_REPLICAS');
    expect(() => loadConfig({ REDIS_ACK_REPLICAS: '-1' })).toThrow('REDIS_ACK_REPLICAS');
  });

  it('reads process.env when given no environment', () => {
    const env = jest.replaceProperty(process, 'env', { PORT: '9090', QUEUE_PREFIX: '{evt-test}' });
    try {
      expect([loadConfig().port, loadConfig().queuePrefix]).toEqual([9090, '{evt-test}']);
    } finally {
      env.restore();
    }
  });

  it('reads the values it is given, trimmed', () => {
    const config = loadConfig({
      PORT: ' 3000 ',
      HOST: '127.0.0.1',
      REDIS_URL: 'rediss://:pw@cache.internal:6380/2',
      DATABASE_URL: 'postgresql://app:pw@db.internal:5432/events',
      QUEUE_PREFIX: '{evt}',
      LOG_LEVEL: 'debug',
      WORKER_CONCURRENCY: '16',
      INTERNAL_API_TOKEN: 's3cret',
    });
    expect([
      config.port,
      config.host,
      config.redisUrl,
      config.databaseUrl,
      config.queuePrefix,
      config.logLevel,
      config.workerConcurrency,
      config.internalApiToken,
    ]).toEqual([3000, '127.0.0.1', 'rediss://:pw@cache.internal:6380/2', 'postgresql://app:pw@db.internal:5432/events', '{evt}', 'debug', 16, 's3cret']);
  });

  it('reads ADMIN_TOKEN, which turns the queue dashboard on, and refuses one shorter than 16 characters', () => {
    expect(loadConfig({ ADMIN_TOKEN: ' 0123456789abcdef ' }).adminToken).toBe('0123456789abcdef');
    expect(loadConfig({ ADMIN_TOKEN: '' }).adminToken).toBeUndefined();
    expect(failure({ ADMIN_TOKEN: 'short' }).message).toBe('ADMIN_TOKEN: must be at least 16 characters (openssl rand -hex 24 makes one)');
  });

  it('treats a blank variable as unset', () => {
    const config = loadConfig({ PORT: '   ', LOG_LEVEL: '', INTERNAL_API_TOKEN: ' ', MIGRATE_ON_START: '' });
    expect([config.port, config.logLevel, config.internalApiToken, config.migrateOnStart]).toEqual([8080, 'info', undefined, true]);
  });

  describe('sizes', () => {
    it('reads KB, MB and GB as powers of 1024, in any case', () => {
      expect(loadConfig({ MAX_REQUEST_SIZE: '4000KB' }).maxRequestSize).toBe(4096000);
      expect(loadConfig({ MAX_REQUEST_SIZE: '1MB' }).maxRequestSize).toBe(1048576);
      expect(loadConfig({ MAX_REQUEST_SIZE: '512kb' }).maxRequestSize).toBe(524288);
      expect(loadConfig({ MAX_REQUEST_SIZE: '2 MB' }).maxRequestSize).toBe(2097152);
      expect(loadConfig({ ENQUEUE_MAX_PENDING_BYTES: '1GB' }).enqueueMaxPendingBytes).toBe(1073741824);
    });

    it('reads plain numbers and B as bytes', () => {
      expect(loadConfig({ MAX_EVENT_SIZE: '1048576' }).maxEventSize).toBe(1048576);
      expect(loadConfig({ MAX_EVENT_SIZE: '100b' }).maxEventSize).toBe(100);
    });

    it('refuses a size it cannot read, naming the variable', () => {
      expect(failure({ MAX_REQUEST_SIZE: 'lots' }).message).toBe('MAX_REQUEST_SIZE: expected a size such as 4000KB or 1048576, got "lots"');
      expect(failure({ MAX_EVENT_SIZE: '1.5MB' }).message).toBe('MAX_EVENT_SIZE: expected a size such as 4000KB or 1048576, got "1.5MB"');
      expect(failure({ MAX_EVENT_SIZE: '-1' }).message).toBe('MAX_EVENT_SIZE: expected a size such as 4000KB or 1048576, got "-1"');
      expect(failure({ ENQUEUE_MAX_BYTES: '10TB' }).message).toBe('ENQUEUE_MAX_BYTES: expected a size such as 4000KB or 1048576, got "10TB"');
    });

    it('refuses a size of zero', () => {
      expect(failure({ MAX_REQUEST_SIZE: '0KB' }).message).toBe('MAX_REQUEST_SIZE: must be at least 1 byte');
    });
  });

  describe('bad values stop start-up with a message that names the variable', () => {
    it('PORT that is not a whole number, or out of range', () => {
      const error = failure({ PORT: 'abc' });
      expect([error.name, error.variable, error.message]).toEqual(['ConfigError', 'PORT', 'PORT: expected a whole number, got "abc"']);
      expect(failure({ PORT: '-1' }).message).toBe('PORT: expected a whole number, got "-1"');
      expect(failure({ PORT: '65536' }).message).toBe('PORT: must be between 0 and 65535, got 65536');
    });

    it('other numbers out of their range', () => {
      expect(failure({ WORKER_CONCURRENCY: '0' }).message).toBe('WORKER_CONCURRENCY: must be between 1 and 1000, got 0');
      expect(failure({ SOURCE_CONFIG_REFRESH_MS: '10000' }).message).toBe('SOURCE_CONFIG_REFRESH_MS: must be between 100 and 5000, got 10000');
    });

    it('REDIS_URL and DATABASE_URL of the wrong protocol or not URLs', () => {
      expect(failure({ REDIS_URL: 'http://x' }).message).toBe('REDIS_URL: must start with redis:// or rediss://');
      expect(failure({ REDIS_URL: 'not a url' }).message).toBe('REDIS_URL: is not a valid URL');
      expect(failure({ DATABASE_URL: 'mysql://app:pw@db/events' }).message).toBe('DATABASE_URL: must start with postgres:// or postgresql://');
    });

    it('never repeats a URL, which may hold a password', () => {
      expect(failure({ DATABASE_URL: 'mysql://app:hunter2@db/events' }).message).not.toContain('hunter2');
      expect(failure({ REDIS_URL: 'redis//:hunter2@cache' }).message).not.toContain('hunter2');
    });

    it('LOG_LEVEL that pino does not know', () => {
      expect(failure({ LOG_LEVEL: 'loud' }).message).toBe('LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent');
    });

    it('MIGRATE_ON_START that is not a yes or a no', () => {
      expect(failure({ MIGRATE_ON_START: 'maybe' }).message).toBe('MIGRATE_ON_START: expected true or false, got "maybe"');
    });
  });

  it('reads booleans as true/false, 1/0, yes/no, on/off in any case', () => {
    for (const value of ['true', 'TRUE', '1', 'yes', 'On']) expect(loadConfig({ INTERNAL_API_ENABLED: value }).internalApiEnabled).toBe(true);
    for (const value of ['false', 'False', '0', 'no', 'OFF']) expect(loadConfig({ INTERNAL_API_ENABLED: value }).internalApiEnabled).toBe(false);
  });

  it('reads TRUST_PROXY as Express does: a boolean, a hop count, or addresses', () => {
    expect(['false', '0', 'off', 'no'].map((value) => loadConfig({ TRUST_PROXY: value }).trustProxy)).toEqual([false, false, false, false]);
    expect(['true', 'YES', 'on'].map((value) => loadConfig({ TRUST_PROXY: value }).trustProxy)).toEqual([true, true, true]);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, 127.0.0.1 ' }).trustProxy).toBe('10.0.0.0/8, 127.0.0.1');
  });

  it('reads PUBLIC_URL as an http(s) address without a trailing slash, and refuses what browsers could not be sent to', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://events.example.com/' }).publicUrl).toBe('https://events.example.com');
    expect(loadConfig({ PUBLIC_URL: 'http://10.0.0.5:8080/rudder//' }).publicUrl).toBe('http://10.0.0.5:8080/rudder');
    expect(loadConfig({ PUBLIC_URL: 'HTTPS://Events.Example.com:443' }).publicUrl).toBe('https://events.example.com');
    expect(failure({ PUBLIC_URL: 'events.example.com' }).message).toBe('PUBLIC_URL: is not a valid URL');
    expect(failure({ PUBLIC_URL: 'ftp://events.example.com' }).message).toBe('PUBLIC_URL: must start with http:// or https://');
    expect(failure({ PUBLIC_URL: 'https://events.example.com/?a=1' }).message).toBe(
      'PUBLIC_URL: must be an address such as https://events.example.com, without query, fragment or credentials',
    );
    expect(failure({ PUBLIC_URL: 'https://user:pw@events.example.com' }).variable).toBe('PUBLIC_URL');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(8080);
  });
  it('reads WORKER_QUEUES as a list of internal queues and names an unknown one', () => {
    expect(loadConfig({ WORKER_QUEUES: 'retl, audiencelist,retl' }).workerQueues).toEqual(['retl', 'audiencelist']);
    expect(() => loadConfig({ WORKER_QUEUES: 'retl,events' })).toThrow(
      'WORKER_QUEUES: must list some of replay, retl, audiencelist, extract, internal-batch; unknown: events',
    );
    expect(() => loadConfig({ WORKER_QUEUES: ' , ' })).toThrow('WORKER_QUEUES: must list some of replay, retl, audiencelist, extract, internal-batch');
  });

  it('offers as WORKER_QUEUES the queues the job registry gives the internal worker, in registry order', () => {
    expect(INTERNAL_QUEUES).toEqual(
      Object.values(QUEUES)
        .filter((queue) => queue.worker === 'internal-worker')
        .map((queue) => queue.name),
    );
    expect(INTERNAL_QUEUES).toEqual(['replay', 'retl', 'audiencelist', 'extract', 'internal-batch']);
  });

  describe('Redis Sentinel', () => {
    it('finds the primary through REDIS_SENTINELS under REDIS_SENTINEL_NAME, with the credentials of REDIS_URL', () => {
      const config = loadConfig({
        REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b:26380,[::1]:26381',
        REDIS_SENTINEL_NAME: 'evt-primary',
        REDIS_URL: 'redis://app:s3cr%40t@ignored:6379',
      });
      expect(config.redisUrl).toBe('redis-sentinel://app:s3cr%40t@10.0.0.1:26379,sentinel-b:26380,::1:26381/evt-primary');
      expect(sentinelOptions(config.redisUrl)).toEqual({
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: 'sentinel-b', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'evt-primary',
        username: 'app',
        password: 's3cr@t',
      });
    });

    it('keeps REDIS_URL as it is without sentinels, and reads it as no Sentinel address', () => {
      expect(loadConfig({}).redisUrl).toBe('redis://127.0.0.1:6379');
      expect(sentinelOptions('redis://127.0.0.1:6379')).toBeUndefined();
    });

    it("refuses sentinels without the primary's name, a name without sentinels, and what is not host:port", () => {
      expect(() => loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379' })).toThrow('REDIS_SENTINEL_NAME: must name the primary the sentinels watch');
      expect(() => loadConfig({ REDIS_SENTINEL_NAME: 'evt' })).toThrow('REDIS_SENTINEL_NAME: is set without REDIS_SENTINELS');
      for (const bad of ['127.0.0.1', '127.0.0.1:0', 'a:1,,b:2', 'host:99999', 'redis://a:1'])
        expect(() => loadConfig({ REDIS_SENTINELS: bad, REDIS_SENTINEL_NAME: 'evt' })).toThrow('REDIS_SENTINELS: must list host:port pairs');
    });
  });

  describe('Redis Cluster', () => {
    it('reaches a Cluster through REDIS_CLUSTER_NODES, with the credentials of REDIS_URL on every node', () => {
      const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, node-b:7001,[::1]:7002', REDIS_URL: 'redis://app:s3cr%40t@ignored:6379' });
      expect(config.redisUrl).toBe('redis-cluster://app:s3cr%40t@10.0.0.1:7000,node-b:7001,::1:7002');
      expect(isClusterAddress(config.redisUrl)).toBe(true);
      expect(clusterOptions(config.redisUrl)).toEqual({
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: 'node-b', port: 7001 },
          { host: '::1', port: 7002 },
        ],
        username: 'app',
        password: 's3cr@t',
      });
      expect(clusterOptions(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).redisUrl)).toEqual({ nodes: [{ host: '127.0.0.1', port: 7000 }] });
      expect([clusterOptions('redis://127.0.0.1:6379'), isClusterAddress('redis://127.0.0.1:6379')]).toEqual([undefined, false]);
      expect(sentinelOptions(config.redisUrl)).toBeUndefined();
    });

    it('refuses a Cluster beside sentinels, and what is not host:port', () => {
      expect(failure({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'evt' }).message).toBe(
        'REDIS_CLUSTER_NODES: and REDIS_SENTINELS are two deployments: set one of them',
      );
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINEL_NAME: 'evt' })).toThrow('REDIS_CLUSTER_NODES: and REDIS_SENTINELS');
      for (const bad of ['127.0.0.1', '127.0.0.1:0', 'a:1,,b:2', 'host:99999', 'redis://a:1'])
        expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad })).toThrow('REDIS_CLUSTER_NODES: must list host:port pairs');
    });
  });

  describe('events queue shards', () => {
    it('shards the events queue into EVENTS_QUEUE_SHARDS queues, every one consumed unless EVENTS_WORKER_SHARDS names some', () => {
      expect(loadConfig({ EVENTS_QUEUE_SHARDS: '4' })).toMatchObject({ eventsQueueShards: 4, eventsWorkerShards: [0, 1, 2, 3] });
      expect(loadConfig({ EVENTS_QUEUE_SHARDS: '4', EVENTS_WORKER_SHARDS: ' 2,0,2 ' })).toMatchObject({ eventsQueueShards: 4, eventsWorkerShards: [0, 2] });
      expect(loadConfig({ EVENTS_WORKER_SHARDS: '0' })).toMatchObject({ eventsQueueShards: 1, eventsWorkerShards: [0] });
    });

    it('refuses no shard, too many, and a worker shard the queue does not have', () => {
      expect(failure({ EVENTS_QUEUE_SHARDS: '0' }).message).toBe('EVENTS_QUEUE_SHARDS: must be between 1 and 256, got 0');
      expect(failure({ EVENTS_QUEUE_SHARDS: '257' }).message).toBe('EVENTS_QUEUE_SHARDS: must be between 1 and 256, got 257');
      expect(failure({ EVENTS_QUEUE_SHARDS: '2', EVENTS_WORKER_SHARDS: '0,2' }).message).toBe(
        'EVENTS_WORKER_SHARDS: must list shard numbers from 0 to 1 (EVENTS_QUEUE_SHARDS is 2), got "0,2"',
      );
      for (const bad of ['a', '1,', '-1', '1.5'])
        expect(() => loadConfig({ EVENTS_QUEUE_SHARDS: '4', EVENTS_WORKER_SHARDS: bad })).toThrow('EVENTS_WORKER_SHARDS: must list shard numbers from 0 to 3');
    });
  });

  describe('settings (read on first access)', () => {
    it('reads each setting only when asked: a bad unrelated one does not stop a tool that needs only DATABASE_URL', () => {
      const lazy = settings({ MAX_REQUEST_SIZE: '4XB', DATABASE_URL: 'postgres://app@db.internal:5432/events' });
      expect(lazy.databaseUrl).toBe('postgres://app@db.internal:5432/events');
      expect(() => lazy.maxRequestSize).toThrow('MAX_REQUEST_SIZE: expected a size such as 4000KB or 1048576, got "4XB"');
    });

    it('gives the values loadConfig gives, and is frozen', () => {
      const env = { EVENTS_QUEUE_SHARDS: '4', REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'evt', PORT: '3000' };
      expect({ ...settings(env) }).toStrictEqual({ ...loadConfig(env) });
      expect(Object.isFrozen(settings(env))).toBe(true);
    });
  });
});
