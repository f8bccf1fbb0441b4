// Bundles one app (its src/main.ts and every lib it imports) into dist/<projectRoot>/main.js.
// npm packages stay external: they are installed by `npm ci` beside the bundle.
// An app that bundles libs/db's migrate.ts also gets the SQL migrations it reads at run time,
// in dist/<projectRoot>/migrations (migrate.ts looks beside itself, i.e. beside main.js).
import { build } from 'esbuild';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';

const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/build/bundle.mjs <projectRoot>');
  process.exit(2);
}

const outdir = path.join('dist', projectRoot);
const result = await build({
  entryPoints: [path.join(projectRoot, 'src/main.ts')],
  outfile: path.join(outdir, 'main.js'),
  tsconfig: path.join(projectRoot, 'tsconfig.json'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  metafile: true,
});

const migrations = path.join(outdir, 'migrations');
rmSync(migrations, { recursive: true, force: true });
const bundled = Object.values(result.metafile.outputs).flatMap((output) => Object.entries(output.inputs));
if (bundled.some(([input, { bytesInOutput }]) => input.endsWith('libs/db/src/migrate.ts') && bytesInOutput > 0)) {
  // The SQL and the journal; drizzle-kit's snapshots are for generating only.
  cpSync('libs/db/src/migrations', migrations, { recursive: true, filter: (source) => !source.endsWith('_snapshot.json') });
}
