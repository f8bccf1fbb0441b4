import { builtinModules } from 'node:module';
import { build } from 'esbuild';

// The image installs with `npm ci --omit=dev` and tools/build/bundle.mjs keeps npm packages out of
// the bundles, so every package a bundle loads at run time must be one of package.json's
// `dependencies`: a devDependency, or a package only hoisted into node_modules by another one, is
// missing there and the app dies on its first require.

/** One package a bundle loads: how (`require-call`, `dynamic-import`, `require-resolve`, …) and what. */
export interface RuntimeImport {
  bundle: string;
  kind: string;
  specifier: string;
}

/** A run-time import that `npm ci --omit=dev` would not install. */
export interface MissingDependency extends RuntimeImport {
  packageName: string;
  reason: 'devDependency' | 'not in package.json';
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const builtins = new Set(builtinModules);

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`; undefined for a relative or absolute path. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The bare specifiers a built bundle requires, imports or resolves, read by esbuild's parser (not a
 * regex over the text): the bundle is parsed again as an entry point with every package external,
 * and esbuild's metafile lists each import with its kind. Node's built-ins are left out.
 * A require or import() of a computed name cannot be checked statically: each is returned in
 * `dynamic` for the caller to fail on (a computed `require.resolve` is not seen).
 */
export async function runtimeImports(bundle: string): Promise<{ imports: RuntimeImport[]; dynamic: string[] }> {
  const result = await build({
    entryPoints: [bundle],
    bundle: true,
    platform: 'node',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // esbuild only logs these at debug level; as warnings they come back in the result.
    logOverride: { 'unsupported-require-call': 'warning', 'unsupported-dynamic-import': 'warning' },
    // The bundle's own names only: no tsconfig `paths` mapping `@evt/*` back to the sources.
    tsconfigRaw: '{}',
    outfile: 'out.js',
  });
  const imports = new Map<string, RuntimeImport>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const { path: specifier, kind, external } of input.imports) {
      const name = packageName(specifier);
      if (!external || name === undefined || builtins.has(name)) continue;
      imports.set(`${kind} ${specifier}`, { bundle, kind, specifier });
    }
  }
  const dynamic = result.warnings.map((warning) => `${warning.location?.line ?? '?'}: ${warning.text}`);
  return { imports: [...imports.values()], dynamic };
}

/** The imports whose package `npm ci --omit=dev` would not install from this package.json. */
export function missingFromDependencies(imports: RuntimeImport[], packageJson: PackageJson): MissingDependency[] {
  const missing: MissingDependency[] = [];
  for (const entry of imports) {
    const name = packageName(entry.specifier);
    if (name === undefined || packageJson.dependencies?.[name] !== undefined) continue;
    missing.push({ ...entry, packageName: name, reason: packageJson.devDependencies?.[name] !== undefined ? 'devDependency' : 'not in package.json' });
  }
  return missing;
}
