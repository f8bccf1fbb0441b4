import { SCENARIOS } from './scenarios';

// Quick variants of every fault scenario (seconds each): whatever fails, every event that got a
// 200 is in Postgres exactly once. The full runs are in docs/reliability.md.
describe('fault scenarios, quick variants', () => {
  it.each(Object.keys(SCENARIOS))(
    '%s: 0 lost, 0 duplicated',
    async (name) => {
      const result = await SCENARIOS[name]({
        seconds: 3,
        postgresOutageSeconds: 3,
        connections: 2,
        batchSize: 10,
        sdkEventsPerSecond: 200,
        log: () => undefined,
      });
      // Every client got events through: each raw HTTP workload and the real SDK.
      expect(Object.keys(result.byClient)).toEqual(expect.arrayContaining(['sdk @segment/analytics-node', 'sdk @rudderstack/rudder-sdk-node']));
      for (const [client, acknowledged] of Object.entries(result.byClient)) expect([client, acknowledged > 0]).toEqual([client, true]);
      // With Redis away the SDKs got 503s, and their own retries then delivered those events.
      if (name === 'redis-stopped') {
        expect(result.refusals['sdk @segment/analytics-node']?.[503]).toBeGreaterThan(0);
        expect(result.refusals['sdk @rudderstack/rudder-sdk-node']?.retried).toBeGreaterThan(0);
      }
      // Every hostile event is stored exactly as sent, or rejected or refused with a reason.
      if (name === 'poison') {
        expect(result.hostile?.sent).toBeGreaterThan(0);
        expect([`seed ${result.hostile?.seed}`, result.hostile?.unaccounted]).toEqual([`seed ${result.hostile?.seed}`, 0]);
      }
      expect({ lost: result.lost, duplicated: result.duplicated, stored: result.stored, failures: result.failures }).toEqual({
        lost: 0,
        duplicated: 0,
        stored: result.acknowledged,
        failures: [],
      });
    },
    180_000,
  );
});
