import { createInterface } from 'node:readline/promises';

/** Where a command writes: stdout for results, stderr for everything a script should not parse. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /**
   * Asks a yes/no question and resolves true on yes. Absent when there is nobody to ask (stdin is
   * not a terminal): a destructive command then wants --yes.
   */
  confirm?(question: string): Promise<boolean>;
}

/** Asks on the terminal: the question on stderr (stdout stays for results), the answer from stdin. */
async function askOnTerminal(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await terminal.question(question)).trim());
  } finally {
    terminal.close();
  }
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  ...(process.stdin.isTTY ? { confirm: askOnTerminal } : {}),
};
