// Paths to the Go-built fixtures, building them on first use (cached outside the tree by build.sh).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type FixtureName = 'kube' | 'kube-node' | 'etcd' | 'prometheus' | 'jaeger' | 'metallb';

export function fixtureBin(name: FixtureName): string {
  return execFileSync(join(repoRoot, 'e2e', 'fixtures', 'build.sh'), [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** The fixture's directory if it is already built, else undefined: for unit-level tests that use a
 *  fixture when present and must never spend minutes building one. */
export function builtFixture(name: FixtureName): string | undefined {
  try {
    return execFileSync(join(repoRoot, 'e2e', 'fixtures', 'build.sh'), [name, '--cached'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
