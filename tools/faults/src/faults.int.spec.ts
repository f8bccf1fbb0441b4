import { SCENARIOS } from './scenarios';

// Quick variants of every fault scenario (seconds each): whatever fails, every event that got a
// 200 is in Postgres exactly once. The full runs are in docs/reliability.md.
describe('fault scenarios, quick variants', () => {
  it.each(Object.keys(SCENARIOS))(
    '%s: 0 lost, 0 duplicated',
    async (name) => {
      const result = await SCENARIOS[name]({ seconds: 3, postgresOutageSeconds: 3, connections: 2, batchSize: 10, log: () => undefined });
      expect(result.acknowledged).toBeGreaterThan(0);
      expect({ lost: result.lost, duplicated: result.duplicated, stored: result.stored }).toEqual({ lost: 0, duplicated: 0, stored: result.acknowledged });
    },
    180_000,
  );
});
