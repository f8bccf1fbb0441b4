import { createRedis } from '@evt/queue';
import { createTestEnv } from './test-env';
import { startOwnRedis } from './redis-server';

describe('test environments', () => {
  it('gives each test file its own migrated database and queue prefix, and removes them on close', async () => {
    const [a, b] = await Promise.all([createTestEnv('isolation'), createTestEnv('isolation')]);
    expect(a.databaseUrl).not.toBe(b.databaseUrl);
    expect(a.queuePrefix).not.toBe(b.queuePrefix);
    await a.db.query("INSERT INTO workspaces (id, name) VALUES ('w', 'only-in-a')");
    expect(await b.db.query('SELECT name FROM workspaces')).toEqual([]);
    expect(a.config().databaseUrl).toBe(a.databaseUrl);
    const databaseName = new URL(a.databaseUrl).pathname.slice(1);
    await a.close();
    expect(await b.db.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName])).toEqual([]);
    await b.close();
  });

  it('starts a redis-server of its own with AOF on, which it can stop and start again', async () => {
    const redis = await startOwnRedis();
    const client = createRedis(redis.url, 'admin');
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      await client.set('kept', '1');
      await redis.stop();
      await redis.start();
      for (let i = 0; i < 100 && client.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await client.get('kept')).toBe('1');
    } finally {
      client.disconnect();
      await redis.dispose();
    }
  });
});
