// Which compiled files the image carries: exactly the modules the programs can load, found by following
// their relative imports from the entry points, so a test kit or a lab helper can never ride along by
// being compiled into the same `dist/`. Pure apart from `main`, which reads `dist/` and prints the list
// for `tools/image/build.sh`.

import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The programs the manifests run (`node <entry>`), plus the `l2lb validate` CLI that package.json names. */
export const entryPoints = ['dist/operator/controller-main.js', 'dist/operator/speaker-main.js', 'dist/operator/cli.js'] as const;

/**
 * What must never be in the image, each with why; `runtimeFiles` refuses a closure that reaches one, so
 * a production module importing a test kit fails the build instead of shipping it.
 */
export const forbidden: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.test\.js$/, 'a unit test'],
  [/\.e2e\.js$/, 'an end-to-end test'],
  [/testkit/, 'a test kit'],
  [/wire-agent/, 'the lab’s wire agent'],
  [/^dist\/(e2e|bench|tools)\//, 'the lab, the benchmarks or the build tools'],
];

// Static `import … from '…'`, `export … from '…'`, bare `import '…'` and `import('…')` with a literal,
// and files loaded by URL beside the module (`new Worker(new URL('./w.js', import.meta.url))`).
const specifierPattern = /(?:\bfrom\s*|\bimport\s*\(?\s*|\bnew URL\(\s*)(['"])([^'"]+)\1/g;

/** The relative module specifiers one compiled file loads; packages and `node:` builtins are not files of ours. */
export function relativeImports(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(specifierPattern)) {
    const specifier = match[2] ?? '';
    if (specifier.startsWith('./') || specifier.startsWith('../')) found.add(specifier);
  }
  return [...found];
}

export type Closure = { readonly ok: true; readonly files: readonly string[] } | { readonly ok: false; readonly reason: string };

/**
 * Every file reachable from `entries` through relative imports, sorted. `read` returns a file's text, or
 * undefined when it does not exist (a missing import is a broken build, and says which file asked for it).
 */
export function runtimeFiles(entries: readonly string[], read: (path: string) => string | undefined): Closure {
  const seen = new Set<string>();
  const pending: Array<readonly [string, string]> = entries.map((entry) => [entry, 'an entry point']);
  while (pending.length > 0) {
    const [path, from] = pending.pop() as readonly [string, string];
    if (seen.has(path)) continue;
    const refusal = forbidden.find(([pattern]) => pattern.test(path));
    if (refusal !== undefined) return { ok: false, reason: `${path} is ${refusal[1]}, imported by ${from}` };
    const source = read(path);
    if (source === undefined) return { ok: false, reason: `${path} does not exist, imported by ${from}` };
    seen.add(path);
    for (const specifier of relativeImports(source)) {
      pending.push([posix.normalize(posix.join(posix.dirname(path), specifier)), path]);
    }
  }
  return { ok: true, files: [...seen].sort() };
}

/** `runtime-files.js [ROOT]`: the closure under ROOT/dist (build.sh passes the image's own compilation,
 *  tsconfig.image.json's); ROOT is the repository by default. */
function main(root: string | undefined): number {
  const repoRoot = root ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(repoRoot, path), 'utf8');
    } catch {
      return undefined;
    }
  };
  const closure = runtimeFiles(entryPoints, read);
  if (!closure.ok) {
    console.error(`runtime-files: ${closure.reason}`);
    return 1;
  }
  for (const file of closure.files) console.log(file);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv[2]);
