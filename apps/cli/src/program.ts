import { Command, Option } from 'commander';
// The root package.json is no project of ours: its version is bundled into the CLI at build time.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { version } from '../../../package.json';
import { registerDestinations } from './commands/destinations';
import { registerEvents } from './commands/events';
import { registerInternalData } from './commands/internal-data';
import { registerDb, registerQueues } from './commands/operations';
import { registerRejected } from './commands/rejected';
import { registerSources } from './commands/sources';
import { registerWorkspaces } from './commands/workspaces';
import type { CommandContext, GlobalOptions } from './commands/context';
import { wholeNumber } from './options';

/** The release, from the root package.json (bundled at build time). */
export const VERSION: string = version;

const AFTER_HELP = `
Examples:
  evt workspaces create --name shop
  evt sources create --workspace shop --name web
  evt sources list --json
  evt queues depth

Exit codes:
  0  done
  1  failed: a service unreachable, a timeout, a server error (trying again later may help)
  2  wrong usage: a bad option or argument, an unknown source or workspace, a name taken, a bad setting
  3  not confirmed: a destructive command without --yes and no terminal to ask on, or answered no

Settings come from the environment (DATABASE_URL, REDIS_URL, …); each command reads only those
its help names. Errors are one line on stderr; --json output is the only thing on stdout.
More: docs/cli.md`;

/** Commands that take `flag`, as `evt sources rate-limit`, at most 3 of them. */
function commandsTaking(program: Command, flag: string): string[] {
  const found: string[] = [];
  const visit = (command: Command, path: string) => {
    for (const sub of command.commands) {
      const name = `${path} ${sub.name()}`;
      if (sub.options.some((option) => option.long === flag)) found.push(name);
      visit(sub, name);
    }
  };
  visit(program, 'evt');
  return found.length > 3 ? [...found.slice(0, 3), '…'] : found;
}

/** An unknown option that another command takes gets a line saying which (when commander has no suggestion of its own). */
function withOwners(program: Command, message: string): string {
  const flag = /^error: unknown option '(--[^'=\s]+)/.exec(message)?.[1];
  if (flag === undefined || message.includes('Did you mean')) return message;
  const owners = commandsTaking(program, flag);
  return owners.length === 0 ? message : `${message.replace(/\n$/, '')}\n(${flag} is an option of ${owners.join(', ')})\n`;
}

/**
 * The `evt` command line: each command with its own options and help, `--version`, and the
 * global options (--json, --timeout, --statement-timeout). Nothing in it exits the process:
 * commander's exits are thrown (exitOverride) and its output goes to `ctx.output`.
 */
export function createProgram(ctx: CommandContext): Command {
  const text = (write: (text: string) => void) => (str: string) => write(str.replace(/\n$/, ''));
  const program = new Command('evt')
    .description('Administer evt: workspaces, sources, destinations, rejected events, partitions of events and queues.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show the help of a command')
    .helpCommand('help [command]', 'show the help of a command')
    .option('--json', 'print machine-readable JSON on stdout, and nothing else there')
    .addOption(new Option('--timeout <seconds>', 'wait this long for Postgres or Redis to accept a connection').argParser(wholeNumber('--timeout')).default(5))
    .addOption(
      new Option('--statement-timeout <seconds>', 'cancel a Postgres statement that runs longer (0: no limit)')
        .argParser(wholeNumber('--statement-timeout', 0))
        .default(60),
    )
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: text((line) => ctx.output.out(line)),
      writeErr: text((line) => ctx.output.err(line)),
      outputError: (message, write) => write(withOwners(program, message)),
    })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', AFTER_HELP);

  registerDb(program, ctx);
  registerWorkspaces(program, ctx);
  registerSources(program, ctx);
  registerDestinations(program, ctx);
  registerInternalData(program, ctx);
  registerRejected(program, ctx);
  registerEvents(program, ctx);
  registerQueues(program, ctx);

  program.hook('preAction', (_program, action) => {
    ctx.options = action.optsWithGlobals<GlobalOptions>();
  });
  return program;
}
