import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import YAML from 'yaml';
import { loadConfig } from '@evt/config';

// What `docker compose` would run, checked without a Docker engine: the files against the Compose
// Specification's schema (vendored, see ../README.md), then what the schema cannot say.

const root = path.resolve(__dirname, '../../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Env;
  profiles?: string[];
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test?: string[]; disable?: boolean };
}
interface ComposeFile {
  services: Record<string, Service>;
}

// Run once and exit: they must not restart forever, and have nothing to be healthy about.
const ONE_OFF = new Set(['migrate', 'cli']);
// Variables compose must refuse to start without (`${VAR:?}`): the secrets, set in .env.
const REQUIRED = /\$\{([A-Z0-9_]+):\?[^}]*\}/g;

/** The file as YAML, with merge keys (`<<: *env`) resolved as compose resolves them. */
function parse(file: string): ComposeFile {
  return YAML.parse(read(file), { merge: true });
}

/** .env.example as compose reads .env: KEY=value lines, comments skipped. */
function envExample(): Env {
  const env: Env = {};
  for (const line of read('.env.example').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

/** Compose's interpolation of `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against `env`. */
function interpolate<T>(value: T, env: Env): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_all, name: string, kind?: string, rest?: string) => {
      if (env[name] !== undefined && env[name] !== '') return env[name];
      if (kind === '?') throw new Error(`${name} is required: ${rest}`);
      return kind === '-' ? (rest ?? '') : '';
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)])) as T;
  }
  return value;
}

/** Compose's durations (`20s`, `1m30s`, `500ms`) in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * units[unit], 0);
}

const isApp = (service: Service) => service.image === 'evt:local';
const longRunning = (file: ComposeFile) =>
  Object.entries(file.services).filter(([name, service]) => !ONE_OFF.has(name) && (service.image !== undefined || service.build !== undefined));

describe.each(['docker-compose.yml', 'docker-compose.sentinel.yml'])('%s', (file) => {
  const compose = parse(file);

  it('is valid against the Compose Specification once .env.example is interpolated', () => {
    const ajv = new Ajv({ allErrors: true, unknownFormats: 'ignore', validateSchema: false });
    const validate = ajv.compile(JSON.parse(read('tools/compose/compose-spec.json')));
    validate(interpolate(compose, envExample()));
    expect(ajv.errorsText(validate.errors, { separator: '\n' })).toBe('No errors');
  });

  it('restarts every long-running service unless stopped and checks its health; the one-off services are not kept running', () => {
    for (const [name, service] of longRunning(compose)) {
      expect([name, service.restart]).toEqual([name, 'unless-stopped']);
      expect([name, (service.healthcheck?.test?.length ?? 0) > 1]).toEqual([name, true]);
    }
    for (const [name, service] of Object.entries(compose.services).filter(([name]) => ONE_OFF.has(name))) {
      expect([name, ['always', 'unless-stopped'].includes(service.restart ?? 'no')]).toEqual([name, false]);
    }
  });

  it('asks Redis and Postgres over TCP, where the apps connect (not the Unix socket of the init server)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const check = service.healthcheck?.test?.join(' ') ?? '';
      if (check.includes('pg_isready')) expect([name, check]).toEqual([name, expect.stringContaining('-h 127.0.0.1')]);
      if (check.includes('redis-cli')) expect([name, check]).toEqual([name, expect.stringMatching(/redis-cli -h 127\.0\.0\.1 .*ping \| grep -q PONG$/)]);
    }
  });

  it('takes every password and token from .env (`${VAR:?}`), never a literal, and .env.example names each one', () => {
    // Of the parsed file, so that a comment naming `${VAR:?}` is not taken for a use.
    const text = JSON.stringify(compose);
    const example = envExample();
    for (const [, name] of text.matchAll(REQUIRED)) expect([name, example[name] !== undefined]).toEqual([name, true]);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|TOKEN|SECRET/.test(key)) expect([name, key, value]).toEqual([name, key, expect.stringMatching(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/)]);
        if (/_URL$/.test(key) && /\/\/[^/@]*:[^/@]*@/.test(String(value))) {
          expect([name, key, value]).toEqual([name, key, expect.stringMatching(/\/\/[^/@:]*:\$\{[A-Z0-9_]+:\?[^}]+\}@/)]);
        }
      }
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = parse('docker-compose.yml');
  const apps = Object.entries(compose.services).filter(([, service]) => isApp(service));

  it('runs every app from the one image the Dockerfile builds', () => {
    expect(apps.map(([name]) => name).sort()).toEqual(['cli', 'events-worker', 'gateway', 'internal-worker', 'migrate']);
    for (const [name, service] of apps) expect([name, service.build]).toEqual([name, '.']);
  });

  it('passes the apps only settings that loadConfig reads, with values it accepts', () => {
    for (const [name, service] of apps) {
      const env = interpolate(service.environment ?? {}, envExample());
      const readNames = new Set<string>();
      const watched = new Proxy(env, {
        get: (target, key) => (typeof key === 'string' && readNames.add(key), target[key as string]),
      });
      expect(() => loadConfig(watched)).not.toThrow();
      expect([name, Object.keys(env).filter((key) => !readNames.has(key))]).toEqual([name, []]);
    }
  });

  it('gives every long-running app more time to stop than its SHUTDOWN_TIMEOUT_MS', () => {
    for (const [name, service] of apps.filter(([name]) => !ONE_OFF.has(name))) {
      const { shutdownTimeoutMs } = loadConfig(interpolate(service.environment ?? {}, envExample()));
      // Compose's default grace is 10 s.
      const graceMs = durationMs(service.stop_grace_period ?? '10s');
      expect([name, graceMs > shutdownTimeoutMs]).toEqual([name, true]);
    }
  });

  it("checks each app's health on the port it serves (the gateway's PORT, a worker's METRICS_PORT)", () => {
    for (const [name, service] of apps.filter(([name]) => !ONE_OFF.has(name))) {
      const config = loadConfig(interpolate(service.environment ?? {}, envExample()));
      const port = name === 'gateway' ? config.port : config.metricsPort;
      expect([name, service.healthcheck?.test?.join(' ')]).toEqual([name, expect.stringContaining(`http://127.0.0.1:${port}/`)]);
    }
  });

  it('gives Redis a maxmemory with noeviction, so a full Redis refuses jobs instead of being killed', () => {
    const command = compose.services.redis.command ?? [];
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(command.indexOf('--maxmemory')).toBeGreaterThan(0);
    expect(interpolate(command[command.indexOf('--maxmemory') + 1], {})).toBe('1gb');
  });
});

describe('the image and what stays out of it', () => {
  it('is built on the current Node LTS (24), exposes the gateway and checks its health', () => {
    const dockerfile = read('Dockerfile');
    const bases = [...dockerfile.matchAll(/^FROM node:(\d+)/gm)].map(([, major]) => Number(major));
    expect(bases).toEqual([24, 24]);
    expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\\\n\s+CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:/m);
  });

  it('keeps secrets, dependencies and build output out of the build context and .env out of git', () => {
    const dockerignore = read('.dockerignore').split('\n');
    // `**/`: a .dockerignore pattern matches from the root only, so a nested apps/x/.env needs it.
    for (const entry of ['**/.env', '**/.env.*', '!.env.example', '.git', '**/node_modules', 'dist', '.nx', 'tmp', 'coverage', 'bench-results', '**/*.log']) {
      expect([entry, dockerignore.includes(entry)]).toEqual([entry, true]);
    }
    expect(read('.gitignore').split('\n')).toEqual(expect.arrayContaining(['.env', '!.env.example']));
  });
});
