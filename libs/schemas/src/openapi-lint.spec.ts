import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildOpenApiDocument } from './openapi';

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ severity: string; ruleId: string; message: string; location: Array<{ pointer: string }> }>;
}

const ROOT = join(__dirname, '..', '..', '..');

/** Runs `redocly lint` (the committed redocly.yaml: the recommended rules) on the document, offline. */
function lint(document: object): LintReport {
  const folder = mkdtempSync(join(tmpdir(), 'evt-openapi-'));
  try {
    const file = join(folder, 'openapi.json');
    writeFileSync(file, JSON.stringify(document, null, 2));
    const cli = join(dirname(require.resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
    const run = spawnSync(process.execPath, [cli, 'lint', '--config', join(ROOT, 'redocly.yaml'), '--format=json', file], {
      cwd: folder,
      encoding: 'utf8',
      // No telemetry and no update check: the lint runs the same without a network.
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 60_000,
    });
    const start = run.stdout.indexOf('{');
    if (start === -1) throw new Error(`redocly lint printed no report (exit ${run.status}): ${run.stderr}`);
    return JSON.parse(run.stdout.slice(start)) as LintReport;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('the OpenAPI document under redocly lint (recommended rules)', () => {
  it('has no error and no warning', () => {
    const report = lint(buildOpenApiDocument('1.2.3'));
    const problems = report.problems.map((problem) => `${problem.severity} ${problem.ruleId} ${problem.location[0]?.pointer ?? ''}: ${problem.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('fails a document with a problem (the check can fail)', () => {
    const document = buildOpenApiDocument('1.2.3') as { info: Record<string, unknown> };
    const { license: _license, ...info } = document.info;
    const report = lint({ ...document, info });
    expect(report.problems.map((problem) => problem.ruleId)).toEqual(['info-license']);
  });
});
