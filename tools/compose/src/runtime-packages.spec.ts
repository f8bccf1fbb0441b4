import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { missingFromDependencies, runtimeImports } from './runtime-packages';

// The image runs the bundles on `npm ci --omit=dev`: what they load must be a dependency, not a
// devDependency. The bundles are the built ones (dist/apps/*/main.js): this project's `test` target
// depends on their builds (project.json), so the check reads what the image copies, however
// tools/build/bundle.mjs makes it.

const root = path.resolve(__dirname, '../../..');
// The apps the Dockerfile builds (its `nx run-many -t build -p …`).
const dockerfileApps = (): string[] => {
  const match = /nx run-many -t build -p ((?:[a-z][a-z-]* ?)+)/.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  if (!match) throw new Error('the Dockerfile builds no apps with `nx run-many -t build -p …`');
  return match[1].trim().split(' ');
};
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('what the bundles load at run time', () => {
  it.each(dockerfileApps())('dist/apps/%s/main.js loads only packages of `dependencies` (the image installs with --omit=dev)', async (app) => {
    const bundle = path.join(root, 'dist/apps', app, 'main.js');
    if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npx nx run compose:test (it builds the apps first)`);
    const { imports, dynamic } = await runtimeImports(bundle);
    // The bundle loads something (an empty list would mean the parse found nothing, not that all is well).
    expect(imports.length).toBeGreaterThan(0);
    expect(dynamic).toEqual([]);
    expect(missingFromDependencies(imports, packageJson)).toEqual([]);
  });

  it('would name pino in the built gateway if it were moved to devDependencies', async () => {
    const { imports } = await runtimeImports(path.join(root, 'dist/apps/gateway/main.js'));
    const { pino, ...dependencies } = packageJson.dependencies;
    const moved = { dependencies, devDependencies: { ...packageJson.devDependencies, pino } };
    expect(missingFromDependencies(imports, moved).map(({ specifier, reason }) => ({ specifier, reason }))).toEqual([
      { specifier: 'pino', reason: 'devDependency' },
    ]);
  });
});

describe('the check itself, on a small bundle', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'runtime-packages-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fixture = (source: string) => {
    const file = path.join(dir, `main-${Math.random().toString(36).slice(2)}.js`);
    writeFileSync(file, source);
    return file;
  };
  const manifest = { dependencies: { express: '5.3.0', '@bull-board/api': '9.10.1' }, devDependencies: { jest: '30.5.2', '@types/node': '20.19.43' } };

  it('names a devDependency, a package missing from package.json and a scoped devDependency, each with how it is loaded', async () => {
    const bundle = fixture(
      [
        '"use strict";',
        'const fs = require("fs");',
        'const path = require("node:path");',
        'const express = require("express");',
        'const adapter = require("@bull-board/api/bullMQAdapter");',
        'const jest = require("jest");',
        'const leftPad = require("left-pad/index.js");',
        'const types = require.resolve("@types/node/package.json");',
        'async function later() { return import("chalk"); }',
        'module.exports = { fs, path, express, adapter, jest, leftPad, types, later };',
      ].join('\n'),
    );
    const { imports, dynamic } = await runtimeImports(bundle);
    expect(dynamic).toEqual([]);
    const missing = missingFromDependencies(imports, manifest).map(({ kind, specifier, packageName, reason }) => ({ kind, specifier, packageName, reason }));
    expect(missing).toEqual([
      { kind: 'require-call', specifier: 'jest', packageName: 'jest', reason: 'devDependency' },
      { kind: 'require-call', specifier: 'left-pad/index.js', packageName: 'left-pad', reason: 'not in package.json' },
      { kind: 'require-resolve', specifier: '@types/node/package.json', packageName: '@types/node', reason: 'devDependency' },
      { kind: 'dynamic-import', specifier: 'chalk', packageName: 'chalk', reason: 'not in package.json' },
    ]);
  });

  it('passes a bundle that loads only built-ins and dependencies', async () => {
    const { imports } = await runtimeImports(fixture('require("fs/promises"); require("node:http"); require("express"); require("@bull-board/api");'));
    expect(imports.map((entry) => entry.specifier)).toEqual(['express', '@bull-board/api']);
    expect(missingFromDependencies(imports, manifest)).toEqual([]);
  });

  it('reports a require of a computed name, which no static check can follow', async () => {
    const { dynamic } = await runtimeImports(fixture('const name = process.env.PLUGIN;\nmodule.exports = require(name);\nimport(name);'));
    expect(dynamic).toEqual([
      '2: This call to "require" will not be bundled because the argument is not a string literal',
      '3: This "import" expression will not be bundled because the argument is not a string literal',
    ]);
  });
});
