import { InternalDataRepository, SourcesRepository } from '@evt/db';
import { table, UsageError } from '../output';
import type { CommandContext } from './context';

async function sourceIdOf(ctx: CommandContext): Promise<string | undefined> {
  if (!ctx.flags.source) return undefined;
  const source = await new SourcesRepository(ctx.db().db).find(ctx.flags.source as string);
  if (!source) throw new UsageError(`no source with id or name "${ctx.flags.source}"`);
  return source.id;
}

/** `audiences list`: each list with its member counts; `audiences members --source S --audience A`. */
export async function audiencesCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const repository = new InternalDataRepository(ctx.db().db);
  if (action === 'list') {
    const rows = await repository.audiences(await sourceIdOf(ctx));
    ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows as unknown as Record<string, unknown>[], ['sourceId', 'audienceId', 'members', 'removed', 'updatedAt']));
    return;
  }
  if (action === 'members') {
    const sourceId = await sourceIdOf(ctx);
    const audienceId = ctx.flags.audience as string | undefined;
    if (!sourceId || !audienceId) throw new UsageError('audiences members needs --source S --audience A');
    const rows = await repository.members(sourceId, audienceId, ctx.flags.limit !== undefined ? Number(ctx.flags.limit) : 100);
    ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows.map((row) => ({ ...row, member: JSON.stringify(row.member) })), ['member', 'messageId', 'updatedAt']));
    return;
  }
  throw new UsageError(`unknown action "${action ?? ''}" for audiences: use list or members`);
}

/** `retl list`: the newest rETL records, deleted ones flagged. */
export async function retlCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  if (action !== 'list') throw new UsageError(`unknown action "${action ?? ''}" for retl: use list`);
  const rows = await new InternalDataRepository(ctx.db().db).retlRecords({
    sourceId: await sourceIdOf(ctx),
    destinationId: ctx.flags.destination as string | undefined,
    limit: ctx.flags.limit !== undefined ? Number(ctx.flags.limit) : 50,
  });
  ctx.output.out(
    ctx.flags.json ? JSON.stringify(rows) : table(rows.map((row) => ({ ...row, fields: JSON.stringify(row.fields) })), ['sourceId', 'destinationId', 'recordId', 'lastAction', 'deleted', 'fields', 'updatedAt']),
  );
}
