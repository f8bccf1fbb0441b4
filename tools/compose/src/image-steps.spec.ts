import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// image-steps.mjs (`npx nx run compose:image-steps`) takes minutes on the real Dockerfile; here,
// Dockerfiles that fail in their first steps show it reports the failing step, exits 1 and leaves
// no folder behind, with no npm ci, no build and no server.
const script = path.join(__dirname, 'image-steps.mjs');

describe('image-steps.mjs on a Dockerfile that fails', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'image-steps-spec-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function follow(dockerfile: string) {
    const file = path.join(dir, `Dockerfile-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, dockerfile);
    const result = spawnSync(process.execPath, [script, `--dockerfile=${file}`], { encoding: 'utf8', timeout: 30_000 });
    const folder = /^ {2}- (\/\S+image-steps-\S+) removed$/m.exec(result.stdout)?.[1];
    return { ...result, folder };
  }

  it('runs a RUN in the stage folder after its COPY, and stops at the first that exits non-zero: exit 1, the step marked ✗ with its output', () => {
    const { status, stdout, folder } = follow(
      [
        'FROM node:24-trixie-slim AS build',
        'WORKDIR /app',
        'COPY package.json ./',
        'RUN test -f package.json && echo "package.json is here" && exit 3',
        'RUN echo never',
      ].join('\n'),
    );
    expect(status).toBe(1);
    expect(stdout).toContain('✓ 3. stage 1 (build), Dockerfile line 3: COPY package.json ./ — 1 file of the build context');
    expect(stdout).toContain('✗ 4. stage 1 (build), Dockerfile line 4: RUN test -f package.json && echo "package.json is here" && exit 3');
    expect(stdout).toContain('    │ the command exited 3\n    │ package.json is here\n');
    expect(stdout).not.toContain('never');
    expect(stdout).toMatch(/\nFAILED: 3 of 4 steps passed\n$/);
    expect(folder).toBeDefined();
    expect(existsSync(folder as string)).toBe(false);
  });

  it('refuses a COPY of a file .dockerignore keeps out of the build context, as docker build does', () => {
    const { status, stdout } = follow(['FROM node:24-trixie-slim', 'WORKDIR /app', 'COPY .env.example Dockerfile ./'].join('\n'));
    expect(status).toBe(1);
    expect(stdout).toContain('    │ COPY Dockerfile: not in the build context (.dockerignore keeps it out)\n');
  });

  it('fails on an instruction it does not know how to follow, instead of skipping it', () => {
    const { status, stdout } = follow(['FROM node:24-trixie-slim', 'ARG VERSION', 'RUN echo never'].join('\n'));
    expect(status).toBe(1);
    expect(stdout).toContain('    │ Dockerfile line 2: ARG is not one image-steps.mjs knows how to follow\n');
    expect(stdout).toMatch(/\nFAILED: 0 of 1 steps passed\n$/);
  });
});
