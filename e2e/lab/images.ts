// The images the cluster lab's kubelets run. There is no registry: each is a docker-archive tar that
// cluster.ts imports into every node's containerd, and every Pod names it with a pull policy that never
// pulls (a version tag, never :latest).
//  - l2lb's own image, from `make image` (tools/image/build.sh), rebuilt when dist/ is newer than it;
//  - the pod sandbox ("pause"), a static C program (images/pause.c) in an image of its own file alone.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../fixtures.js';

export interface LabImage {
  readonly ref: string;
  readonly archive: string;
}

export const PAUSE_IMAGE = 'l2lb.lab/pause:3.10';

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** l2lb's image as `make image` writes it, built again first when any of its inputs is newer. */
export function ensureL2lbImage(progress: (message: string) => void): LabImage {
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const archive = join(repoRoot, '.image', `l2lb-${version}.tar`);
  const inputs = ['dist/operator', 'dist/reconcilers', 'dist/arp', 'dist/schemas', 'arp/native/build/Release', 'package-lock.json'];
  const newestInput = Math.max(...inputs.map((input) => newestMtime(join(repoRoot, input))));
  if (!existsSync(archive) || statSync(archive).mtimeMs < newestInput) {
    progress('image: building l2lb\'s image (tools/image/build.sh, ~30 s)');
    execFileSync(join(repoRoot, 'tools', 'image', 'build.sh'), { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return { ref: `ghcr.io/l2lb/l2lb:${version}`, archive };
}

/** The sandbox image: pause.c compiled static, one file in one layer, user 65535. */
export function ensurePauseImage(dir: string): LabImage {
  const archive = join(dir, 'pause.tar');
  if (existsSync(archive)) return { ref: PAUSE_IMAGE, archive };
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'l2lb-pause-'));
  try {
    const run = (command: string, ...args: string[]): void => {
      execFileSync(command, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    };
    run('gcc', '-static', '-O2', '-s', '-o', 'pause', join(repoRoot, 'e2e', 'lab', 'images', 'pause.c'));
    run('umoci', 'init', '--layout', 'oci');
    run('umoci', 'new', '--image', 'oci:pause');
    run('umoci', 'unpack', '--image', 'oci:pause', 'bundle');
    run('cp', 'pause', 'bundle/rootfs/pause');
    run('umoci', 'repack', '--image', 'oci:pause', 'bundle');
    run('umoci', 'config', '--image', 'oci:pause', '--config.entrypoint', '/pause', '--config.user', '65535:65535');
    run('skopeo', 'copy', '-q', 'oci:oci:pause', `docker-archive:${archive}.partial:${PAUSE_IMAGE}`);
    run('mv', `${archive}.partial`, archive);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ref: PAUSE_IMAGE, archive };
}
