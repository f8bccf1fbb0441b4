import { SOURCE_KINDS, SourcesRepository, WorkspacesRepository, type Source, type SourceKind } from '@evt/db';
import { table, UsageError } from '../output';
import { requireSource, type CommandContext } from './context';

function publicView(source: Source) {
  return { id: source.id, writeKey: source.writeKey, workspaceId: source.workspaceId, kind: source.kind };
}

function positiveInt(value: unknown, flag: string): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} takes a whole number above 0`);
  return Number(value);
}

async function findSource(ctx: CommandContext, action: string): Promise<Source> {
  const idOrName = ctx.args[0] ?? (ctx.flags.source as string | undefined);
  if (!idOrName) throw new UsageError(`sources ${action} needs a source id: sources ${action} SOURCE_ID`);
  return requireSource(ctx, idOrName);
}

export async function sourcesCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const repository = new SourcesRepository(ctx.db().db);
  switch (action) {
    case 'create': {
      const workspaceRef = ctx.flags.workspace as string | undefined;
      const name = ctx.flags.name as string | undefined;
      if (!workspaceRef || !name) throw new UsageError('sources create needs --workspace W --name N');
      const kind = (ctx.flags.kind as string | undefined) ?? 'event_stream';
      if (!(SOURCE_KINDS as readonly string[]).includes(kind)) throw new UsageError(`--kind must be one of ${SOURCE_KINDS.join(', ')}`);
      const originalSourceId = ctx.flags['original-source'] as string | undefined;
      if (kind === 'replay' && !originalSourceId) throw new UsageError('a replay source needs --original-source SOURCE_ID');
      const workspace = await new WorkspacesRepository(ctx.db().db).find(workspaceRef);
      if (!workspace) throw new UsageError(`no workspace with id or name "${workspaceRef}"`);
      if (originalSourceId) {
        const original = await repository.find(originalSourceId);
        if (!original) throw new UsageError(`no source with id "${originalSourceId}"`);
        // Events never cross workspaces: the gateway refuses a replay of another workspace's source.
        if (original.workspaceId !== workspace.id)
          throw new UsageError(`source "${originalSourceId}" is in workspace ${original.workspaceId}: a replay source replays a source of its own workspace`);
      }
      const source = await repository.create({
        workspaceId: workspace.id,
        name,
        kind: kind as SourceKind,
        originalSourceId: originalSourceId ?? null,
        rateLimitEvents: ctx.flags['rate-limit'] !== undefined ? positiveInt(ctx.flags['rate-limit'], '--rate-limit') : null,
        rateLimitWindowSeconds: ctx.flags['rate-limit-window'] !== undefined ? positiveInt(ctx.flags['rate-limit-window'], '--rate-limit-window') : 60,
      });
      if (ctx.flags.json) ctx.output.out(JSON.stringify(publicView(source)));
      else ctx.output.out(`created ${source.kind} source ${source.name} (id ${source.id})\nwrite key: ${source.writeKey}`);
      return;
    }
    case 'list': {
      let workspaceId: string | undefined;
      if (ctx.flags.workspace) {
        const workspace = await new WorkspacesRepository(ctx.db().db).find(ctx.flags.workspace as string);
        if (!workspace) throw new UsageError(`no workspace with id or name "${ctx.flags.workspace}"`);
        workspaceId = workspace.id;
      }
      const rows = await repository.list(workspaceId);
      ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows, ['id', 'name', 'kind', 'enabled', 'workspaceId', 'writeKey', 'rateLimitEvents']));
      return;
    }
    case 'disable':
    case 'enable': {
      const source = await findSource(ctx, action);
      const updated = await repository.setEnabled(source.id, action === 'enable');
      ctx.output.out(ctx.flags.json ? JSON.stringify({ id: updated?.id, enabled: updated?.enabled }) : `source ${source.id} ${action}d`);
      return;
    }
    case 'rotate-key': {
      const source = await findSource(ctx, action);
      const updated = await repository.rotateWriteKey(source.id);
      if (!updated) throw new UsageError(`source ${source.id} disappeared`);
      ctx.output.out(ctx.flags.json ? JSON.stringify(publicView(updated)) : `new write key for ${updated.id}: ${updated.writeKey}`);
      return;
    }
    case 'rate-limit': {
      const source = await findSource(ctx, action);
      const off = ctx.flags.off === true;
      const events = off ? null : positiveInt(ctx.flags.events, '--events');
      const window = ctx.flags.window !== undefined ? positiveInt(ctx.flags.window, '--window') : 60;
      await repository.setRateLimit(source.id, events, window);
      ctx.output.out(off ? `rate limit of ${source.id} removed` : `rate limit of ${source.id}: ${events} events per ${window} s`);
      return;
    }
    default:
      throw new UsageError(`unknown action "${action ?? ''}" for sources: use create, list, disable, enable, rotate-key or rate-limit`);
  }
}
