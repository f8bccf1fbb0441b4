import { CommanderError } from 'commander';
import { CommandContext } from './commands/context';
import { describeFailure, EXIT } from './errors';
import { processOutput, type Output } from './output';
import { createProgram } from './program';

/**
 * Runs one CLI command (`argv` without node and the script) and returns its exit code: 0 done,
 * 1 failed, 2 wrong usage, 3 not confirmed (see EXIT). Never exits the process itself.
 */
export async function run(argv: string[], env: Record<string, string | undefined> = process.env, output: Output = processOutput): Promise<number> {
  const ctx = new CommandContext(env, output);
  try {
    await createProgram(ctx).parseAsync(argv, { from: 'user' });
    return EXIT.done;
  } catch (error) {
    // Commander printed its own message (a usage error, or the help or version asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.done : EXIT.usage;
    const failure = describeFailure(error, ctx);
    output.err(`error: ${failure.message}`);
    return failure.exitCode;
  } finally {
    await ctx.close();
  }
}
