import { WorkspacesRepository } from '@evt/db';
import { table, UsageError } from '../output';
import type { CommandContext } from './context';

export async function workspacesCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const repository = new WorkspacesRepository(ctx.db().db);
  switch (action) {
    case 'create': {
      const name = (ctx.flags.name as string | undefined) ?? ctx.args[0];
      if (!name) throw new UsageError('workspaces create needs a name: workspaces create --name NAME');
      const existing = await repository.find(name);
      if (existing) throw new UsageError(`a workspace named "${name}" exists already (id ${existing.id})`);
      const workspace = await repository.create(name);
      ctx.output.out(ctx.flags.json ? JSON.stringify({ id: workspace.id, name: workspace.name }) : `created workspace ${workspace.name} (id ${workspace.id})`);
      return;
    }
    case 'list': {
      const rows = await repository.list();
      ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows, ['id', 'name', 'createdAt']));
      return;
    }
    default:
      throw new UsageError(`unknown action "${action ?? ''}" for workspaces: use create or list`);
  }
}
