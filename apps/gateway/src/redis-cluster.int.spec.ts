import { backlogKey, createRedis, readQueueDepths, readRedisDurability, whenReady, type Redis } from '@evt/queue';
import { AppProcess, basicAuth, createDestination, createSource, startOwnCluster, waitFor, withProcessOutput, type OwnCluster } from '@evt/testing';
import { send, startStack, type Stack } from './test-support/harness';

/** A batch of `size` track events with ids of their own. */
function batchOf(label: string, size: number): Array<{ type: string; userId: string; event: string; messageId: string }> {
  return Array.from({ length: size }, (_, k) => ({ type: 'track', userId: 'u-cluster', event: 'Clustered', messageId: `${label}-${k}` }));
}

/** The ids, sorted, each stored once: what `SELECT message_id, count(*)` must find. */
const once = (ids: string[]) => [...ids].sort().map((id) => ({ message_id: id, copies: 1 }));

// The gateway, the events worker and the internal worker given REDIS_CLUSTER_NODES: a real Redis
// Cluster of 3 primaries and 3 replicas (redis-server processes), reached through ioredis's Cluster.
describe('Redis Cluster (REDIS_CLUSTER_NODES; 3 primaries, 3 replicas)', () => {
  let cluster: OwnCluster;

  beforeAll(async () => {
    cluster = await startOwnCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  /** The port of the primary that serves `key`'s slot now (CLUSTER KEYSLOT, CLUSTER NODES). */
  const primaryOf = async (key: string) => cluster.primaryPortForSlot(await cluster.keySlot(key));
  /** True when `key` is held by the primary that serves its slot (asked directly, without following redirections). */
  const heldByItsPrimary = async (key: string) => (await cluster.cli(await primaryOf(key), 'EXISTS', key)) === '1';

  describe('with one events queue and REDIS_ACK_REPLICAS=1', () => {
    let stack: Stack;

    beforeAll(async () => {
      const clusterEnv = { REDIS_CLUSTER_NODES: cluster.clusterNodes, REDIS_ACK_REPLICAS: '1' };
      stack = await startStack('cluster', clusterEnv, { internalWorker: true, workerEnv: clusterEnv });
    }, 30_000);
    afterAll(() => stack?.stop());

    it(
      "stores a batch, rETL records and an audience list, each queue in the slot of its own hash tag, through a failover, and limits a source's rate",
      withProcessOutput(
        () => [stack.worker, ...(stack.internalWorker ? [stack.internalWorker] : [])],
        async () => {
          const source = await createSource(stack.env);
          const retl = await createSource(stack.env, { kind: 'retl' });
          const destination = await createDestination(stack.env, retl.id);
          await stack.gateway.sources.refresh();
          const post = (path: string, body: unknown, headers: Record<string, string>) =>
            send(stack.url, { path, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

          const batch = batchOf('cluster', 3);
          expect(await post('/v1/batch', { batch }, { Authorization: basicAuth(source.writeKey) })).toMatchObject({ status: 200, body: 'OK' });
          const records = { batch: [{ type: 'record', recordId: 'r1', action: 'insert', fields: { name: 'Ada' } }] };
          expect(await post('/internal/v1/retl', records, { Authorization: basicAuth(retl.id), 'X-Rudder-Destination-Id': destination.id })).toMatchObject({
            status: 200,
            body: 'OK',
          });
          const list = {
            messageId: 'cluster-list',
            properties: { audienceId: 'cluster-audience', listData: { add: [{ EMAIL: 'a@x.io' }, { EMAIL: 'b@x.io' }] } },
          };
          expect(await post('/internal/v1/audiencelist', list, { Authorization: basicAuth(source.writeKey) })).toMatchObject({ status: 200, body: 'OK' });

          expect(
            await stack.rows(
              'SELECT message_id, count(*)::int AS copies FROM events WHERE source_id = $1 GROUP BY message_id ORDER BY message_id',
              [source.id],
              3,
            ),
          ).toEqual(once(batch.map((event) => event.messageId)));
          expect(await stack.rows('SELECT record_id, fields FROM retl_records WHERE source_id = $1', [retl.id], 1)).toEqual([
            { record_id: 'r1', fields: { name: 'Ada' } },
          ]);
          expect(
            await stack.rows(
              "SELECT member->>'EMAIL' AS email, present FROM audience_members WHERE source_id = $1 AND audience_id = 'cluster-audience' ORDER BY 1",
              [source.id],
              2,
            ),
          ).toEqual([
            { email: 'a@x.io', present: true },
            { email: 'b@x.io', present: true },
          ]);

          // BullMQ's job counters, each on the primary of its queue's hash tag.
          const prefix = stack.env.queuePrefix;
          for (const name of ['events', 'retl', 'audiencelist']) expect([name, await heldByItsPrimary(`${prefix}:{${name}}:id`)]).toEqual([name, true]);
          expect(new Set(await Promise.all(['events', 'retl', 'audiencelist'].map((name) => cluster.keySlot(`${prefix}:{${name}}:id`)))).size).toBe(3);
          // WAIT goes to the primary that took the job: with its replica down, the events queue's
          // jobs are answered 503 although the other primaries' replicas are in sync …
          const eventsPrimary = await primaryOf(`${prefix}:{events}:id`);
          const [replicaPort] = await cluster.replicaPortsOf(eventsPrimary);
          const replica = cluster.nodes.find((node) => node.port === replicaPort);
          if (!replica) throw new Error(`no node on ${replicaPort}`);
          await replica.kill();
          await cluster.waitForReplicas(eventsPrimary, 0);
          const refused = await post('/v1/batch', { batch: batchOf('unreplicated', 1) }, { Authorization: basicAuth(source.writeKey) });
          expect([refused.status, refused.body, refused.headers.get('retry-after')]).toEqual([503, 'Service unavailable', '1']);
          // … and once it is back in sync, the retry is taken, and stored once.
          await replica.start();
          await cluster.waitForReplicas(eventsPrimary, 1);
          const retried = await post('/v1/batch', { batch: batchOf('unreplicated', 1) }, { Authorization: basicAuth(source.writeKey) });
          expect([retried.status, retried.body]).toEqual([200, 'OK']);
          expect(
            await stack.rows(
              'SELECT message_id, count(*)::int AS copies FROM events WHERE source_id = $1 GROUP BY message_id ORDER BY message_id',
              [source.id],
              4,
            ),
          ).toEqual(once([...batch.map((event) => event.messageId), 'unreplicated-0']));

          // The events queue's primary is killed (kill -9): its replica takes over, and the gateway and
          // the worker follow the slot there; a request refused meanwhile is taken on a retry, once.
          const killed = await cluster.killPrimary(await primaryOf(`${prefix}:{events}:id`));
          // With REDIS_ACK_REPLICAS=1 the promoted primary needs a replica again: the killed node rejoins as one.
          await cluster.nodes.find((node) => node.port === killed)?.start();
          await cluster.waitForReplicas(await primaryOf(`${prefix}:{events}:id`), 1);
          const afterFailover = batchOf('after-failover', 2);
          await waitFor(
            async () => ((await post('/v1/batch', { batch: afterFailover }, { Authorization: basicAuth(source.writeKey) })).status === 200 ? true : undefined),
            20_000,
            'the gateway to write to the promoted replica',
          );
          expect(
            await stack.rows(
              'SELECT message_id, count(*)::int AS copies FROM events WHERE source_id = $1 GROUP BY message_id ORDER BY message_id',
              [source.id],
              6,
            ),
          ).toEqual(once([...batch.map((event) => event.messageId), 'unreplicated-0', ...afterFailover.map((event) => event.messageId)]));

          // The per-source rate limit (its counter, one key, in its own slot) holds over the cluster.
          const limited = await createSource(stack.env, { rateLimitEvents: 3, rateLimitWindowSeconds: 60 });
          await stack.gateway.sources.refresh();
          const track = () => post('/v1/track', { userId: 'u', event: 'E' }, { Authorization: basicAuth(limited.writeKey) });
          expect([(await track()).status, (await track()).status, (await track()).status]).toEqual([200, 200, 200]);
          expect(await track()).toMatchObject({ status: 429, body: 'Too many requests' });

          // The durability settings are read from every node: one node with AOF off is reported.
          const admin = createRedis(stack.env.config({ REDIS_CLUSTER_NODES: cluster.clusterNodes }).redisUrl, 'admin');
          try {
            await whenReady(admin);
            for (const node of cluster.nodes) await cluster.cli(node.port, 'CONFIG', 'SET', 'maxmemory', '64mb');
            expect(await readRedisDurability(admin)).toEqual({
              appendonly: 'yes',
              appendfsync: 'everysec',
              maxmemoryPolicy: 'noeviction',
              maxmemory: String(64 * 1024 * 1024),
              warnings: [],
            });
            const careless = cluster.nodes[5].port;
            await cluster.cli(careless, 'CONFIG', 'SET', 'appendonly', 'no');
            await cluster.cli(careless, 'CONFIG', 'SET', 'maxmemory', '0');
            expect((await readRedisDurability(admin)).warnings).toEqual([
              'Redis has appendonly off: queued events are lost if Redis restarts. Set appendonly yes.',
              'Redis has no maxmemory: a full Redis is killed by the kernel instead of refusing new events. Set maxmemory below its memory limit.',
            ]);
            await cluster.cli(careless, 'CONFIG', 'SET', 'appendonly', 'yes');
            for (const node of cluster.nodes) await cluster.cli(node.port, 'CONFIG', 'SET', 'maxmemory', '0');
          } finally {
            admin.disconnect();
          }

          // Ready (every primary answers), and the depths read over the cluster: nothing left.
          expect((await fetch(`${stack.url}/health/ready`)).status).toBe(200);
          await waitFor(
            async () =>
              (await readQueueDepths(stack.env.config({ REDIS_CLUSTER_NODES: cluster.clusterNodes }).redisUrl, prefix)).every(
                (depth) => depth.waiting + depth.active === 0,
              )
                ? true
                : undefined,
            5000,
            'the queues to be empty',
          );
        },
      ),
      60_000,
    );
  });

  describe('with EVENTS_QUEUE_SHARDS=4 and a backlog limit of 200 events', () => {
    const SHARDS = 4;
    const LIMIT = 200;
    const BATCH = 50;
    let stack: Stack;
    let redis: Redis;
    const workers: AppProcess[] = [];
    const clusterEnv = () => ({ REDIS_CLUSTER_NODES: cluster.clusterNodes, EVENTS_QUEUE_SHARDS: String(SHARDS), REDIS_ACK_REPLICAS: '1' });
    const startWorker = (shards: string) => {
      const worker = AppProcess.start(
        `events-worker ${shards}`,
        'dist/apps/events-worker/main.js',
        stack.env.processEnv({ MIGRATE_ON_START: 'false', LOG_LEVEL: 'info', ...clusterEnv(), EVENTS_WORKER_SHARDS: shards }),
      );
      workers.push(worker);
      return worker;
    };
    const depths = async () =>
      (await readQueueDepths(redisUrl(), stack.env.queuePrefix, SHARDS))
        .filter((depth) => depth.queue.startsWith('events'))
        .map((depth) => [depth.queue, depth.waiting]);
    const redisUrl = () => stack.env.config(clusterEnv()).redisUrl;

    beforeAll(async () => {
      stack = await startStack('cluster-shards', { ...clusterEnv(), MAX_QUEUE_BACKLOG_EVENTS: String(LIMIT) }, { workerEnv: clusterEnv() });
      // No consumer while the jobs are counted: they stay in their shards.
      await stack.worker.stop();
      redis = createRedis(redisUrl(), 'admin');
    });
    afterAll(async () => {
      for (const worker of workers) await worker.stop();
      redis?.disconnect();
      await stack?.stop();
    });

    it(
      'spreads jobs over shards on several primaries, bounds their sum, and a worker of some shards consumes those only, until another takes the rest: every event stored once',
      withProcessOutput(
        () => [stack.worker, ...workers],
        async () => {
          const source = await createSource(stack.env);
          await stack.gateway.sources.refresh();
          const post = (batch: unknown[]) =>
            send(stack.url, { path: '/v1/batch', method: 'POST', headers: { Authorization: basicAuth(source.writeKey) }, body: JSON.stringify({ batch }) });
          const prefix = stack.env.queuePrefix;

          // One request at a time: each is a job of its own, and jobs go round-robin over the shards.
          const batches = Array.from({ length: SHARDS }, (_, shard) => batchOf(`shard-${shard}`, BATCH));
          for (const batch of batches) expect(await post(batch)).toMatchObject({ status: 200, body: 'OK' });
          expect(await depths()).toEqual([
            ['events', 1],
            ['events-1', 1],
            ['events-2', 1],
            ['events-3', 1],
          ]);
          // Each shard's jobs are on the primary of its own hash tag, and the shards are on every primary.
          const shardPrimaries = await Promise.all(
            ['events', 'events-1', 'events-2', 'events-3'].map(async (name) => {
              const key = `${prefix}:{${name}}:wait`;
              expect([key, await heldByItsPrimary(key)]).toEqual([key, true]);
              return primaryOf(key);
            }),
          );
          expect(new Set(shardPrimaries).size).toBe(3);
          // The gateway's depth gauge has a series per shard.
          const metrics = (await (await fetch(`${stack.url}/metrics`)).text())
            .split('\n')
            .filter((line) => /^evt_queue_jobs\{queue="events[^"]*",state="waiting"/.test(line));
          expect(metrics).toEqual(
            ['events', 'events-1', 'events-2', 'events-3'].map((name) => `evt_queue_jobs{queue="${name}",state="waiting",service="gateway"} 1`),
          );
          expect((await cluster.primaryPorts()).sort()).toEqual([...new Set(shardPrimaries)].sort());

          // 4 × 50 events, one counter per shard, reach the limit of 200 over the shards: the fifth request is refused.
          expect(await Promise.all(['events', 'events-1', 'events-2', 'events-3'].map((name) => redis.get(backlogKey(prefix, name))))).toEqual([
            '50',
            '50',
            '50',
            '50',
          ]);
          const refused = await post(batchOf('refused', BATCH));
          expect([refused.status, refused.body, refused.headers.get('retry-after')]).toEqual([503, 'Service unavailable', '2']);

          // A worker of shards 0 and 2 stores those shards' events only.
          const rows = (count: number) =>
            stack.rows<{ message_id: string; copies: number }>(
              'SELECT message_id, count(*)::int AS copies FROM events WHERE source_id = $1 GROUP BY message_id ORDER BY message_id',
              [source.id],
              count,
            );
          const first = startWorker('0,2');
          await first.waitForOutput(/events worker started/, 15_000);
          expect(await rows(2 * BATCH)).toEqual(once([...batches[0], ...batches[2]].map((event) => event.messageId)));
          await new Promise((resolve) => setTimeout(resolve, 1000));
          expect(await depths()).toEqual([
            ['events', 0],
            ['events-1', 1],
            ['events-2', 0],
            ['events-3', 1],
          ]);
          expect((await rows(2 * BATCH)).length).toBe(2 * BATCH);

          // Another, of shards 1 and 3, stores the rest; the counters drain and the refused batch is taken.
          startWorker('1,3');
          expect(await rows(SHARDS * BATCH)).toEqual(once(batches.flat().map((event) => event.messageId)));
          await waitFor(
            async () => {
              const counters = await Promise.all(['events', 'events-1', 'events-2', 'events-3'].map((name) => redis.get(backlogKey(prefix, name))));
              return counters.every((value) => value === '0') ? true : undefined;
            },
            5000,
            'every shard counter to drain to 0',
          );
          await waitFor(async () => ((await post(batchOf('refused', BATCH))).status === 200 ? true : undefined), 5000, 'the gateway to accept again');
          const all = [...batches.flat(), ...batchOf('refused', BATCH)].map((event) => event.messageId);
          expect(await rows(all.length)).toEqual(once(all));
        },
      ),
      60_000,
    );
  });
});
