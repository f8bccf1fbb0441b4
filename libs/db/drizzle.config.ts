import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` (run from the workspace root, as paths here are relative to it) writes
// the migration that brings a database to schema.ts. migrate.ts applies the folder; the build
// copies it beside each app that migrates (tools/build/bundle.mjs).
export default defineConfig({
  dialect: 'postgresql',
  schema: 'libs/db/src/schema.ts',
  out: 'libs/db/src/migrations',
  strict: true,
  verbose: true,
});
