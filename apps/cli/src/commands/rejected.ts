import { RejectedEventsRepository, SourcesRepository } from '@evt/db';
import { table, UsageError } from '../output';
import type { CommandContext } from './context';

export async function rejectedCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action !== 'list') throw new UsageError(`unknown action "${action ?? ''}" for rejected: use list`);
  let sourceId: string | undefined;
  if (ctx.flags.source) {
    const source = await new SourcesRepository(ctx.db().db).find(ctx.flags.source as string);
    if (!source) throw new UsageError(`no source with id or name "${ctx.flags.source}"`);
    sourceId = source.id;
  }
  const limit = ctx.flags.limit !== undefined ? Number(ctx.flags.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a whole number above 0');
  const rows = await new RejectedEventsRepository(ctx.db().db).list({ sourceId, limit });
  ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows, ['receivedAt', 'sourceId', 'messageId', 'reason', 'eventSize']));
}
