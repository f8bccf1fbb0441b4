import { MULTINODE_SCENARIOS } from './multinode';

// Quick variants of the multi-node scenario with REDIS_ACK_REPLICAS=1 (a few seconds of load):
// a gateway, an events worker and the Redis primary killed at once under load, and still every
// event that got a 200 is in Postgres exactly once. The full runs, with and without
// acknowledgement after replication, are in docs/reliability.md ("Multi-node failover").
// The sentinel lag variant stops the successor replica (and the workers) for 4 s before the kill:
// without acknowledgement its full run loses what was taken meanwhile; here, nothing may be lost.
const QUICK = ['multinode-sentinel-ack1', 'multinode-cluster-ack1', 'multinode-sentinel-lag-ack1'];

describe('multi-node failover, quick variants with acknowledgement after replication', () => {
  it.each(QUICK)(
    '%s: 0 lost, 0 duplicated',
    async (name) => {
      const result = await MULTINODE_SCENARIOS[name]({
        seconds: 6,
        postgresOutageSeconds: 0,
        connections: 3,
        batchSize: 10,
        sdkEventsPerSecond: 100,
        log: () => undefined,
      });
      // Every client got events through: each raw HTTP workload (events, internal batch, rETL) and both real SDKs.
      expect(Object.keys(result.byClient).sort()).toEqual(
        ['http batch', 'http internal-batch', 'http retl', 'sdk @rudderstack/rudder-sdk-node', 'sdk @segment/analytics-node'].sort(),
      );
      for (const [client, acknowledged] of Object.entries(result.byClient)) expect([client, acknowledged > 0]).toEqual([client, true]);
      // The failover was met with 503s that the clients retried, not with losses.
      expect(result.multiNode?.answers503).toBeGreaterThan(0);
      expect({ lost: result.lost, duplicated: result.duplicated, stored: result.stored, failures: result.failures }).toEqual({
        lost: 0,
        duplicated: 0,
        stored: result.acknowledged,
        failures: [],
      });
    },
    120_000,
  );
});
