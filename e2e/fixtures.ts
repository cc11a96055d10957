// Paths to the Go-built fixtures, building them on first use (cached outside the tree by build.sh).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fixtureBin(name: 'kube' | 'etcd'): string {
  return execFileSync(join(repoRoot, 'e2e', 'fixtures', 'build.sh'), [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
