import type { Redis } from './connection';
import { readRedisDurability } from './queue-admin';

// A Redis that answers CONFIG GET from a table, as one server does (not a Cluster).
function redisWith(config: Record<string, string>): Redis {
  return { config: async (_get: string, name: string) => [name, config[name]] } as unknown as Redis;
}

const durable = { appendonly: 'yes', appendfsync: 'everysec', 'maxmemory-policy': 'noeviction', maxmemory: '1073741824' };

describe('readRedisDurability', () => {
  it('has nothing to say about the setup docker-compose ships (AOF, noeviction, a maxmemory)', async () => {
    expect(await readRedisDurability(redisWith(durable))).toEqual({
      appendonly: 'yes',
      appendfsync: 'everysec',
      maxmemoryPolicy: 'noeviction',
      maxmemory: '1073741824',
      warnings: [],
    });
  });

  it('warns when Redis has no maxmemory: noeviction then never refuses, and the kernel kills Redis instead', async () => {
    expect((await readRedisDurability(redisWith({ ...durable, maxmemory: '0' }))).warnings).toEqual([
      'Redis has no maxmemory: a full Redis is killed by the kernel instead of refusing new events. Set maxmemory below its memory limit.',
    ]);
  });

  it('names every unsafe setting at once', async () => {
    expect(
      (await readRedisDurability(redisWith({ appendonly: 'no', appendfsync: 'everysec', 'maxmemory-policy': 'allkeys-lru', maxmemory: '0' }))).warnings,
    ).toEqual([
      'Redis has appendonly off: queued events are lost if Redis restarts. Set appendonly yes.',
      'Redis maxmemory-policy is allkeys-lru: under memory pressure Redis may evict queued events. Set noeviction.',
      'Redis has no maxmemory: a full Redis is killed by the kernel instead of refusing new events. Set maxmemory below its memory limit.',
    ]);
  });
});
