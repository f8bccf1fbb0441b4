import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import config from '../drizzle.config';

// The CI check that schema.ts and the committed migrations agree: drizzle-kit, run on a copy of
// the migrations folder, must find nothing to generate. When this fails, run `npm run db:generate`
// and commit the new migration.
const root = path.resolve(__dirname, '../../..');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('schema.ts and the generated migrations', () => {
  let out: string;
  beforeAll(() => {
    // Inside the workspace: drizzle-kit takes its --out relative to the working directory.
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
    out = mkdtempSync(path.join(root, 'tmp/drift-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('are in step: drizzle-kit generate has nothing new to write', async () => {
    if (!('out' in config) || !config.out || !('schema' in config) || typeof config.schema !== 'string')
      throw new Error('drizzle.config.ts names no out folder or schema');
    const folder = path.join(root, config.out);
    cpSync(folder, out, { recursive: true });
    const args = ['generate', '--dialect', config.dialect, '--schema', config.schema, '--out', path.relative(root, out)];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/drizzle-kit/bin.cjs'), ...args], {
      cwd: root,
      timeout: 60_000,
    });
    expect(listFiles(out)).toEqual(listFiles(folder));
    expect(readFileSync(path.join(out, 'meta/_journal.json'), 'utf8')).toBe(readFileSync(path.join(folder, 'meta/_journal.json'), 'utf8'));
    expect(stdout + stderr).toContain('No schema changes');
  }, 60_000);
});
