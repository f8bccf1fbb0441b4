import { existsSync } from 'node:fs';

/**
 * Integration tests run against real Redis and Postgres: containers started by Testcontainers
 * when a container runtime is present, else the servers named by REDIS_URL / DATABASE_URL
 * (defaults: the local ones). Set TESTCONTAINERS=off to skip looking for a runtime.
 */
export interface Backing {
  redisUrl: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

function runtimeMayExist(env: NodeJS.ProcessEnv): boolean {
  if (env.TESTCONTAINERS === 'off' || env.TESTCONTAINERS === 'false') return false;
  return Boolean(env.DOCKER_HOST) || existsSync('/var/run/docker.sock') || env.TESTCONTAINERS === 'on';
}

export async function startBacking(env: NodeJS.ProcessEnv = process.env): Promise<Backing> {
  const fallback: Backing = {
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    stop: async () => undefined,
  };
  if (!runtimeMayExist(env)) return fallback;
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return fallback;
  }
  const redis = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'])
    .withExposedPorts(6379)
    .start();
  const postgres = await new GenericContainer('postgres:16-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    databaseUrl: `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/postgres`,
    stop: async () => {
      await redis.stop();
      await postgres.stop();
    },
  };
}
