import { run } from './cli';

/** What one `evt` run printed, and its exit code. */
export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `evt argv` in this process with `env` as its environment and captures what it prints (for
 * the specs). `confirm` answers the questions of destructive commands; without it there is nobody
 * to ask, as when stdin is not a terminal.
 */
export async function runCaptured(
  argv: string[],
  env: Record<string, string | undefined>,
  confirm?: (question: string) => Promise<boolean>,
): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, env, { out: (text) => (stdout += `${text}\n`), err: (text) => (stderr += `${text}\n`), confirm });
  return { code, stdout, stderr };
}
