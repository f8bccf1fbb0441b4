import type { Command } from 'commander';
import { WorkspacesRepository } from '@evt/db';
import { postgresErrorOf, UsageError } from '../errors';
import { reads } from '../options';
import { table } from '../render';
import type { CommandContext } from './context';

/** `workspaces create|list`. */
export function registerWorkspaces(program: Command, ctx: CommandContext): void {
  const workspaces = program.command('workspaces').description('create and list workspaces');

  reads(
    workspaces
      .command('create')
      .description('create a workspace')
      .argument('[name]', 'its name (or --name)')
      .option('--name <name>', 'its name')
      .action(async (nameArgument: string | undefined, options: { name?: string }) => {
        const name = options.name ?? nameArgument;
        if (!name) throw new UsageError('workspaces create needs a name: evt workspaces create --name NAME');
        const repository = new WorkspacesRepository(ctx.db().db);
        const existing = await repository.find(name);
        if (existing) throw new UsageError(`a workspace named "${name}" exists already (id ${existing.id})`);
        const workspace = await repository.create(name).catch((error: unknown) => {
          if (postgresErrorOf(error)?.code === '23505') throw new UsageError(`a workspace named "${name}" exists already`);
          throw error;
        });
        ctx.print({ id: workspace.id, name: workspace.name }, () => `created workspace ${workspace.name} (id ${workspace.id})`);
      }),
    'DATABASE_URL',
  );

  reads(
    workspaces
      .command('list')
      .description('list workspaces')
      .action(async () => {
        const rows = await new WorkspacesRepository(ctx.db().db).list();
        ctx.print(rows, () => table(rows, ['id', 'name', 'createdAt']));
      }),
    'DATABASE_URL',
  );
}
