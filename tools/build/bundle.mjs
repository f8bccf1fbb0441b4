// Bundles one app (its src/main.ts and every lib it imports) into dist/<projectRoot>/main.js.
// npm packages stay external: they are installed by `npm ci` beside the bundle.
import { build } from 'esbuild';
import path from 'node:path';

const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node tools/build/bundle.mjs <projectRoot>');
  process.exit(2);
}

await build({
  entryPoints: [path.join(projectRoot, 'src/main.ts')],
  outfile: path.join('dist', projectRoot, 'main.js'),
  tsconfig: path.join(projectRoot, 'tsconfig.json'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
