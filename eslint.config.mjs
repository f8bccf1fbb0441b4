import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier/flat';

// Drivers each belong to exactly one lib: only libs/queue talks to Redis, only libs/db to Postgres,
// and libs/schemas stays pure so apps, workers and tools can share it without pulling in I/O.
const redis = ['bullmq', 'ioredis'];
const postgres = ['pg', 'drizzle-orm', 'drizzle-orm/*'];
const http = ['express'];
// Only libs/metrics talks to prom-client: one place for metric names and the cluster protocol.
const metrics = ['prom-client'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/coverage', 'tmp', '.nx'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
            {
              sourceTag: 'scope:schemas',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:errors'],
              bannedExternalImports: [...redis, ...postgres, ...http, 'pino', 'node:net', 'node:http', 'node:fs'],
            },
            { sourceTag: 'scope:errors', onlyDependOnLibsWithTags: [], bannedExternalImports: [...metrics, ...redis, ...postgres, ...http] },
            {
              sourceTag: 'scope:config',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:errors'],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:domain',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:errors'],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            { sourceTag: 'scope:metrics', onlyDependOnLibsWithTags: [], bannedExternalImports: [...redis, ...postgres, ...http] },
            { sourceTag: 'scope:logging', onlyDependOnLibsWithTags: ['scope:errors'], bannedExternalImports: [...metrics, ...redis, ...postgres, ...http] },
            {
              sourceTag: 'scope:queue',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:config', 'scope:logging', 'scope:errors'],
              bannedExternalImports: [...metrics, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:db',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:config', 'scope:logging', 'scope:errors'],
              bannedExternalImports: [...metrics, ...redis, ...http],
            },
            {
              sourceTag: 'scope:pipeline',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:domain', 'scope:db', 'scope:logging', 'scope:errors', 'scope:testing'],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:testing',
              onlyDependOnLibsWithTags: ['scope:db', 'scope:queue', 'scope:config', 'scope:schemas', 'scope:logging', 'scope:errors'],
              bannedExternalImports: [...metrics, ...redis, ...postgres],
            },
            {
              sourceTag: 'scope:gateway',
              onlyDependOnLibsWithTags: [
                'scope:schemas',
                'scope:config',
                'scope:domain',
                'scope:queue',
                'scope:db',
                'scope:logging',
                'scope:metrics',
                'scope:testing',
                'scope:errors',
              ],
              bannedExternalImports: [...metrics, ...redis, ...postgres],
            },
            // runWorker: what both worker apps are, with their own processors.
            {
              sourceTag: 'scope:worker-runtime',
              onlyDependOnLibsWithTags: [
                'scope:schemas',
                'scope:config',
                'scope:domain',
                'scope:queue',
                'scope:db',
                'scope:logging',
                'scope:metrics',
                'scope:errors',
              ],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:worker',
              onlyDependOnLibsWithTags: [
                'scope:worker-runtime',
                'scope:pipeline',
                'scope:schemas',
                'scope:config',
                'scope:domain',
                'scope:queue',
                'scope:db',
                'scope:logging',
                'scope:metrics',
                'scope:testing',
                'scope:errors',
              ],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:cli',
              onlyDependOnLibsWithTags: [
                'scope:schemas',
                'scope:config',
                'scope:domain',
                'scope:queue',
                'scope:db',
                'scope:logging',
                'scope:testing',
                'scope:errors',
              ],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:runner',
              onlyDependOnLibsWithTags: ['scope:config', 'scope:db', 'scope:errors', 'scope:testing'],
              bannedExternalImports: [...metrics, ...redis, ...postgres, ...http],
            },
            {
              sourceTag: 'scope:e2e',
              onlyDependOnLibsWithTags: ['scope:schemas', 'scope:config', 'scope:testing', 'scope:errors'],
              bannedExternalImports: [...metrics, ...redis, ...postgres],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Last: turns off the stylistic rules that would fight prettier (.prettierrc owns the layout).
  prettier,
];
