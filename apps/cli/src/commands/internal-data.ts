import { InternalDataRepository } from '@evt/db';
import { table, UsageError } from '../output';
import { sourceIdFlag, type CommandContext } from './context';

/** `audiences list`: each list with its member counts; `audiences members --source S --audience A`. */
export async function audiencesCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const repository = new InternalDataRepository(ctx.db().db);
  if (action === 'list') {
    const rows = await repository.audiences(await sourceIdFlag(ctx));
    ctx.output.out(
      ctx.flags.json
        ? JSON.stringify(rows)
        : table(rows as unknown as Record<string, unknown>[], ['sourceId', 'audienceId', 'members', 'removed', 'updatedAt']),
    );
    return;
  }
  if (action === 'members') {
    const sourceId = await sourceIdFlag(ctx);
    const audienceId = ctx.flags.audience as string | undefined;
    if (!sourceId || !audienceId) throw new UsageError('audiences members needs --source S --audience A');
    const rows = await repository.members(sourceId, audienceId, ctx.flags.limit !== undefined ? Number(ctx.flags.limit) : 100);
    ctx.output.out(
      ctx.flags.json
        ? JSON.stringify(rows)
        : table(
            rows.map((row) => ({ ...row, member: JSON.stringify(row.member) })),
            ['member', 'messageId', 'updatedAt'],
          ),
    );
    return;
  }
  throw new UsageError(`unknown action "${action ?? ''}" for audiences: use list or members`);
}

/** `retl list`: the newest rETL records, deleted ones flagged. */
export async function retlCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action !== 'list') throw new UsageError(`unknown action "${action ?? ''}" for retl: use list`);
  const rows = await new InternalDataRepository(ctx.db().db).retlRecords({
    sourceId: await sourceIdFlag(ctx),
    destinationId: ctx.flags.destination as string | undefined,
    limit: ctx.flags.limit !== undefined ? Number(ctx.flags.limit) : 50,
  });
  ctx.output.out(
    ctx.flags.json
      ? JSON.stringify(rows)
      : table(
          rows.map((row) => ({ ...row, fields: JSON.stringify(row.fields) })),
          ['sourceId', 'destinationId', 'recordId', 'lastAction', 'deleted', 'fields', 'updatedAt'],
        ),
  );
}
