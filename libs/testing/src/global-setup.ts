import { startBacking } from './containers';

// Runs once per Jest run, before the test workers start: they inherit the URLs through the
// environment, so every test file of the run shares the same servers.
export default async function globalSetup(): Promise<void> {
  const backing = await startBacking();
  process.env.REDIS_URL = backing.redisUrl;
  process.env.DATABASE_URL = backing.databaseUrl;
  (globalThis as { __evtBacking?: { stop(): Promise<void> } }).__evtBacking = backing;
}
