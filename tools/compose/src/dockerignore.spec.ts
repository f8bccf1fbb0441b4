import { spawnSync } from 'node:child_process';
import path from 'node:path';

// dockerignore.mjs, which image-steps.mjs builds its copy of the build context with: Docker's
// reading of .dockerignore, not git's. The module is ESM, so a node child runs it.
const dockerignore = path.join(__dirname, 'dockerignore.mjs');
const root = path.resolve(__dirname, '../../..');

function evaluate<T>(body: string): T {
  const script = `import { parseDockerignore, isIgnored, contextFiles } from ${JSON.stringify(dockerignore)};\n${body}`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout);
}

describe('.dockerignore as Docker reads it', () => {
  it('anchors patterns at the root, spans folders with **, and lets the last matching pattern (! re-includes) decide', () => {
    const patterns = [
      '# a comment',
      '',
      'node_modules',
      '**/node_modules',
      '*.log',
      '/dist/',
      '.env',
      '.env.*',
      '!.env.example',
      'docs/**/*.png',
      '!docs/keep/**',
    ];
    const paths = [
      'node_modules/x/index.js',
      'apps/a/node_modules/y/index.js',
      'app.log',
      'apps/a/debug.log',
      'dist/apps/gateway/main.js',
      'apps/dist/x.ts',
      '.env',
      '.env.local',
      '.env.example',
      'apps/a/.env',
      'docs/c.png',
      'docs/a/b/c.png',
      'docs/keep/x.png',
      'src/main.ts',
    ];
    const ignored = evaluate<string[]>(
      `const patterns = parseDockerignore(${JSON.stringify(patterns.join('\n'))});\nconsole.log(JSON.stringify(${JSON.stringify(paths)}.filter((file) => isIgnored(file, patterns))));`,
    );
    // Not apps/a/debug.log, apps/dist nor apps/a/.env: unlike .gitignore, a pattern without **/ is the root's only.
    expect(ignored).toEqual([
      'node_modules/x/index.js',
      'apps/a/node_modules/y/index.js',
      'app.log',
      'dist/apps/gateway/main.js',
      '.env',
      '.env.local',
      'docs/c.png',
      'docs/a/b/c.png',
    ]);
  });

  it("gives the repository's build context the sources and the lock file, and keeps the Docker files, secrets and build output out", () => {
    const { files, ignored } = evaluate<{ files: string[]; ignored: string[] }>(
      'const { files, ignored } = contextFiles(process.cwd());\nconsole.log(JSON.stringify({ files, ignored }));',
    );
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'nx.json', '.env.example', 'tools/build/bundle.mjs', 'apps/gateway/src/main.ts']),
    );
    expect(files.filter((file) => /^(dist|node_modules|\.nx|\.git|\.evt|tmp)\/|(^|\/)node_modules\/|^\.env$|^Dockerfile$|^docker-compose/.test(file))).toEqual(
      [],
    );
    expect(ignored).toEqual(expect.arrayContaining(['Dockerfile', '.dockerignore', 'docker-compose.yml']));
  });
});
