import { redactUrl } from './errors';
import { maskSecret, table, truncate } from './render';
import { runCaptured } from './run-captured';

// Nothing here reaches a database or Redis: commander answers before any command runs.
const cli = (...argv: string[]) => runCaptured(argv, { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });

describe('evt: help, version and usage errors', () => {
  it('prints the version of the release and exits 0', async () => {
    expect(await cli('--version')).toEqual({ code: 0, stdout: '0.2.0\n', stderr: '' });
    expect(await cli('-V')).toEqual({ code: 0, stdout: '0.2.0\n', stderr: '' });
  });

  it('prints the help of the program, with the exit codes', async () => {
    const { code, stdout, stderr } = await cli('--help');
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout.split('\n').slice(0, 2)).toEqual(['Usage: evt [options] [command]', '']);
    expect(stdout).toContain('\n  sources ');
    expect(stdout).toContain('Exit codes:\n  0  done\n  1  failed');
    expect(stdout).toContain('  3  not confirmed');
  });

  it('prints only the help of the command asked about', async () => {
    const sources = await cli('sources', '--help');
    expect(sources.code).toBe(0);
    expect(sources.stdout.split('\n').slice(0, 3)).toEqual([
      'Usage: evt sources [options] [command]',
      '',
      'create sources, list them, disable or enable them, rotate their write keys,',
    ]);
    expect(sources.stdout).not.toContain('workspaces');
    expect(sources.stdout).toMatch(/\n {2}rotate-key \[options\] <source> /);

    const create = await cli('sources', 'create', '--help');
    expect(create.stdout.split('\n').slice(0, 5)).toEqual([
      'Usage: evt sources create [options]',
      '',
      'create a source and print its write key',
      '',
      'Options:',
    ]);
    expect(create.stdout).toContain('--original-source <source>');
    expect(create.stdout).not.toContain('--older-than');
    // The global options are listed too, and the settings the command reads.
    expect(create.stdout).toContain('Global Options:\n');
    expect(create.stdout).toContain('  --json ');
    expect(create.stdout).toContain('Reads DATABASE_URL from the environment.');
    expect((await cli('help', 'queues')).stdout.split('\n')[0]).toBe('Usage: evt queues [options] [command]');
    expect((await cli('queues', 'help', 'depth')).stdout.split('\n')[0]).toBe('Usage: evt queues depth [options]');
  });

  it('refuses an option of another command, exit 2, stdout empty', async () => {
    expect(await cli('workspaces', 'list', '--events', '3')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--events'\n(--events is an option of evt sources rate-limit)\n",
    });
    expect(await cli('sources', 'list', '--older-than', '90d')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--older-than'\n(--older-than is an option of evt events prune)\n",
    });
    expect((await cli('workspaces', 'list', '--source', 'web')).stderr).toBe(
      "error: unknown option '--source'\n(--source is an option of evt destinations add, evt destinations list, evt audiences list, …)\n",
    );
    expect(await cli('workspaces', 'list', '--nothing')).toEqual({ code: 2, stdout: '', stderr: "error: unknown option '--nothing'\n" });
  });

  it('suggests the command or option meant on a typo', async () => {
    expect(await cli('sorces', 'list')).toEqual({ code: 2, stdout: '', stderr: "error: unknown command 'sorces'\n(Did you mean sources?)\n" });
    expect(await cli('sources', 'lst')).toEqual({ code: 2, stdout: '', stderr: "error: unknown command 'lst'\n(Did you mean list?)\n" });
    expect(await cli('sources', 'list', '--show-secret')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: unknown option '--show-secret'\n(Did you mean --show-secrets?)\n",
    });
  });

  it('refuses what is not a whole number above 0 where one is wanted, naming the option (exit 2)', async () => {
    for (const limit of ['abc', '0', '-1', '1.5'])
      expect(await cli('rejected', 'list', '--limit', limit)).toEqual({
        code: 2,
        stdout: '',
        stderr: `error: option '--limit <n>' argument '${limit}' is invalid. --limit takes a whole number of 1 or more\n`,
      });
    expect((await cli('sources', 'rate-limit', 'web', '--events', '10', '--window', 'x')).stderr).toBe(
      "error: option '--window <seconds>' argument 'x' is invalid. --window takes a whole number of 1 or more\n",
    );
    expect((await cli('queues', 'depth', '--timeout', 'soon')).code).toBe(2);
    expect(await cli('sources', 'rate-limit', 'web', '--events', '10', '--off')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: option '--events <n>' cannot be used with option '--off'\n",
    });
  });

  it('shows the help on stderr with exit 2 when no command is given', async () => {
    const bare = await cli();
    expect([bare.code, bare.stdout]).toEqual([2, '']);
    expect(bare.stderr.split('\n')[0]).toBe('Usage: evt [options] [command]');
    const noun = await cli('queues');
    expect([noun.code, noun.stdout, noun.stderr.split('\n')[0]]).toEqual([2, '', 'Usage: evt queues [options] [command]']);
  });
});

describe('output helpers', () => {
  it('masks a write key to its first and last 4 characters', () => {
    expect(maskSecret('UoJ3rsN97bktSqX0QlaKpLXSMCorFuY3')).toBe('UoJ3…FuY3');
    expect(maskSecret('short')).toBe('…');
  });

  it('cuts long values at 60 characters in tables, and prints (none) for no rows', () => {
    expect(truncate('x'.repeat(61))).toBe(`${'x'.repeat(59)}…`);
    expect(truncate('x'.repeat(60))).toBe('x'.repeat(60));
    expect(table([{ id: 'a', reason: 'y'.repeat(100) }], ['id', 'reason']).split('\n')).toEqual(['id  reason', `a   ${'y'.repeat(59)}…`]);
    expect(table([], ['id'])).toBe('(none)');
  });

  it('leaves passwords, queries and fragments out of the URLs it names', () => {
    expect(redactUrl('postgres://app:hunter2@db.internal:5432/events?sslmode=require')).toBe('postgres://app@db.internal:5432/events');
    expect(redactUrl('redis://:hunter2@cache:6379/0')).toBe('redis://cache:6379/0');
    expect(redactUrl('redis-sentinel://app:s3cr%40t@10.0.0.1:26379,sentinel-b:26380/evt')).toBe('redis-sentinel://app@10.0.0.1:26379,sentinel-b:26380/evt');
  });
});
