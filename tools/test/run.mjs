// `npm test`: lint, type-check and test every project through Nx — the unit specs (`test`, each
// project's jest.config.js) and the integration specs (`test-int`, jest.int.config.js, real Redis
// and Postgres) — then print one closing line for the whole run, totals of both kinds. Exits with
// Nx's status, so any failure fails the run.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// This run's counts only: the summary reporter of every Jest process under this run writes here
// (EVT_TEST_RESULTS, inherited through Nx), not beside those of other runs in the same tree.
const results = path.join(root, 'tmp/test-results', `run-${process.pid}`);
rmSync(results, { recursive: true, force: true });
process.env.EVT_TEST_RESULTS = results;

let status = 0;

// The formatting check (`npm run format:check`: prettier --check against .prettierrc); `npm run
// format` rewrites what it finds. FORMAT_CHECK=0 skips it.
const checkFormat = process.env.FORMAT_CHECK !== '0';
if (checkFormat) {
  const format = spawnSync('npx', ['prettier', '--check', '--log-level=warn', '.'], { cwd: root, stdio: 'inherit' });
  if (format.status !== 0) {
    console.error('format: the files above differ from prettier (`npm run format` rewrites them)');
    status = format.status ?? 1;
  }
}

const args = ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', 'test-int', '--output-style=static', '--parallel=2', ...process.argv.slice(2)];
const run = spawnSync('npx', args, { cwd: root, stdio: 'inherit' });
if (status === 0) status = run.status ?? 1;

const total = { passed: 0, failed: 0, skipped: 0 };
let files = [];
try {
  files = readdirSync(results).filter((file) => file.endsWith('.json'));
} catch {
  // no project reached its tests
}
for (const file of files) {
  const counts = JSON.parse(readFileSync(path.join(results, file), 'utf8'));
  for (const key of Object.keys(total)) total[key] += counts[key];
}
if (status !== 0 && total.failed === 0) total.failed = 1; // lint, type or format errors: the run failed all the same
rmSync(results, { recursive: true, force: true });
console.log(`\ntests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(status);
