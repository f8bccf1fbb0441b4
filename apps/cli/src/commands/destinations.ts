import { DestinationsRepository } from '@evt/db';
import { table, UsageError } from '../output';
import { requireSource, sourceIdFlag, type CommandContext } from './context';

/** Destinations of rETL sources: what `X-Rudder-Destination-Id` is checked against. */
export async function destinationsCommand(action: string | undefined, ctx: CommandContext): Promise<void> {
  const repository = new DestinationsRepository(ctx.db().db);
  switch (action) {
    case 'add': {
      const sourceRef = ctx.flags.source as string | undefined;
      const name = ctx.flags.name as string | undefined;
      if (!sourceRef || !name) throw new UsageError('destinations add needs --source S --name N');
      const source = await requireSource(ctx, sourceRef);
      const destination = await repository.add(source.id, name);
      ctx.output.out(
        ctx.flags.json
          ? JSON.stringify({ id: destination.id, sourceId: destination.sourceId, name: destination.name })
          : `created destination ${destination.name} (id ${destination.id})`,
      );
      return;
    }
    case 'list': {
      const rows = await repository.list(await sourceIdFlag(ctx));
      ctx.output.out(ctx.flags.json ? JSON.stringify(rows) : table(rows, ['id', 'name', 'sourceId', 'enabled']));
      return;
    }
    case 'disable':
    case 'enable': {
      const id = ctx.args[0];
      if (!id) throw new UsageError(`destinations ${action} needs a destination id`);
      const updated = await repository.setEnabled(id, action === 'enable');
      if (!updated) throw new UsageError(`no destination with id "${id}"`);
      ctx.output.out(`destination ${id} ${action}d`);
      return;
    }
    default:
      throw new UsageError(`unknown action "${action ?? ''}" for destinations: use add, list, disable or enable`);
  }
}
