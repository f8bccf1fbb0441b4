import { InvalidArgumentError, Option, type Command } from 'commander';

/** A commander parser for a whole number of at least `min`, named in the error (exit 2). */
export function wholeNumber(flag: string, min = 1): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min) throw new InvalidArgumentError(`${flag} takes a whole number of ${min} or more`);
    return Number(value);
  };
}

/** `--limit <n>`: how many rows at most, a whole number above 0. */
export function limitOption(fallback: number): Option {
  return new Option('--limit <n>', 'show at most this many rows').argParser(wholeNumber('--limit')).default(fallback);
}

/** `--yes`: do a destructive command without asking. */
export const yesOption = (): Option => new Option('-y, --yes', 'do it without asking (needed when stdin is not a terminal)');

/** Adds, after a command's help, the settings (environment variables) it reads. */
export function reads(command: Command, variables: string): Command {
  return command.addHelpText('after', `\nReads ${variables} from the environment.`);
}
