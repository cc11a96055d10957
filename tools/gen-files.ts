// Every file `npm run generate` owns, as a map from repository path to content. Pure, apart from the
// default `Tree`, which reads the repository: CRDs and types come from `schemas/`; install.yaml, the
// speaker template and the OLM bundle from config/ (tools/gen-install.ts), seeing the CRDs rendered here.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crds, sharedTypeNames } from '../schemas/index.js';
import { crdFileName, renderCrd, renderCrdKustomization } from './gen-crd.js';
import { renderInstallFiles } from './gen-install.js';
import { renderTypes } from './gen-types.js';
import type { Tree } from './kustomize.js';

/** Directories whose every file is generated: a file there that is not rendered any more is stale. */
export const generatedDirs = ['config/crd/bases', 'schemas/generated', 'bundle/manifests', 'bundle/metadata'] as const;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const repositoryTree: Tree = {
  read(path) {
    try {
      return readFileSync(join(repoRoot, path), 'utf8');
    } catch {
      return undefined;
    }
  },
};

export function renderGeneratedFiles(tree: Tree = repositoryTree): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of crds) {
    files.set(`config/crd/bases/${crdFileName(crd)}`, renderCrd(crd, `schemas/${crd.singular}.ts`));
  }
  files.set('config/crd/kustomization.yaml', renderCrdKustomization(crds));
  files.set('schemas/generated/types.ts', renderTypes(crds, sharedTypeNames));
  const rendered: Tree = { read: (path) => files.get(path) ?? tree.read(path) };
  const { version } = JSON.parse(tree.read('package.json') ?? '{}') as { version?: string };
  if (version === undefined) throw new Error('package.json has no version');
  for (const [path, text] of renderInstallFiles(rendered, version)) files.set(path, text);
  return files;
}
