import { migrate } from '@evt/db';
import { readQueueDepths } from '@evt/queue';
import { table, UsageError } from '../output';
import type { CommandContext } from './context';

export async function dbCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action !== 'migrate') throw new UsageError(`unknown action "${action ?? ''}" for db: use migrate`);
  const applied = await migrate(ctx.config.databaseUrl);
  ctx.output.out(applied.length > 0 ? `applied ${applied.join(', ')}` : 'database is up to date');
}

export async function queuesCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action !== 'depth') throw new UsageError(`unknown action "${action ?? ''}" for queues: use depth`);
  const depths = await readQueueDepths(ctx.config.redisUrl, ctx.config.queuePrefix);
  ctx.output.out(ctx.flags.json ? JSON.stringify(depths) : table(depths as unknown as Record<string, unknown>[], ['queue', 'waiting', 'active', 'delayed', 'failed']));
}
