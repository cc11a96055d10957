// The images the cluster lab's kubelets run. There is no registry: each is a docker-archive tar that
// cluster.ts imports into every node's containerd, and every Pod names it with a pull policy that never
// pulls (a version tag, never :latest).
//  - l2lb's own image, from `make image` (tools/image/build.sh), rebuilt when dist/ is newer than it;
//  - the pod sandbox ("pause"), a static C program (images/pause.c) in an image of its own file alone;
//  - MetalLB's controller and speaker for PEER=metallb, likewise one static binary each.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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

/** l2lb's image as `make image` writes it, built again first when any of its inputs is newer. Async:
 *  the cluster lab builds it while its nodes start. */
export async function ensureL2lbImage(progress: (message: string) => void): Promise<LabImage> {
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const archive = join(repoRoot, '.image', `l2lb-${version}.tar`);
  const inputs = ['dist/operator', 'dist/reconcilers', 'dist/arp', 'dist/schemas', 'arp/native/build/Release', 'package-lock.json'];
  const newestInput = Math.max(...inputs.map((input) => newestMtime(join(repoRoot, input))));
  if (!existsSync(archive) || statSync(archive).mtimeMs < newestInput) {
    progress('image: building l2lb\'s image (tools/image/build.sh, ~30 s)');
    await new Promise<void>((resolve, reject) => {
      const build = spawn(join(repoRoot, 'tools', 'image', 'build.sh'), { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
      build.once('error', reject);
      build.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tools/image/build.sh exited ${code}`))));
    });
  }
  return { ref: `ghcr.io/l2lb/l2lb:${version}`, archive };
}

/** An image of one static program at /<name>, its entrypoint (user: the image's default user, e.g.
 *  "65535:65535"; none means root, as a distroless image's). Written once into `dir`. */
export function binaryImage(binary: string, ref: string, dir: string, user?: string): LabImage {
  const name = basename(binary);
  const archive = join(dir, `${name}.tar`);
  if (existsSync(archive)) return { ref, archive };
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), `l2lb-${name}-`));
  try {
    const run = (command: string, ...args: string[]): void => {
      execFileSync(command, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    };
    run('umoci', 'init', '--layout', 'oci');
    run('umoci', 'new', '--image', 'oci:image');
    run('umoci', 'unpack', '--image', 'oci:image', 'bundle');
    run('cp', binary, `bundle/rootfs/${name}`);
    run('umoci', 'repack', '--image', 'oci:image', 'bundle');
    run('umoci', 'config', '--image', 'oci:image', '--config.entrypoint', `/${name}`, ...(user === undefined ? [] : ['--config.user', user]));
    run('skopeo', 'copy', '-q', 'oci:oci:image', `docker-archive:${archive}.partial:${ref}`);
    run('mv', `${archive}.partial`, archive);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ref, archive };
}

/** The sandbox image: pause.c compiled static, user 65535. */
export function ensurePauseImage(dir: string): LabImage {
  if (existsSync(join(dir, 'pause.tar'))) return { ref: PAUSE_IMAGE, archive: join(dir, 'pause.tar') };
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'pause');
  execFileSync('gcc', ['-static', '-O2', '-s', '-o', binary, join(repoRoot, 'e2e', 'lab', 'images', 'pause.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
  return binaryImage(binary, PAUSE_IMAGE, dir, '65535:65535');
}

/** MetalLB's controller and speaker, built from its v0.15.2 module (e2e/fixtures/metallb), under the
 *  names its own manifest gives them, so metallb-native.yaml applies unchanged. Like upstream's
 *  distroless images: the static binary alone, root by default (the manifest sets the controller's user). */
export function metallbImages(fixture: string, dir: string): LabImage[] {
  return ['controller', 'speaker'].map((name) => binaryImage(join(fixture, name), `quay.io/metallb/${name}:v0.15.2`, join(dir, 'metallb')));
}
