// Every file `npm run generate` owns, as a map from repository path to content. Pure.

import { crds, sharedTypeNames } from '../schemas/index.js';
import { crdFileName, renderCrd, renderCrdKustomization } from './gen-crd.js';
import { renderTypes } from './gen-types.js';

/** Directories whose every file is generated: a file there that is not rendered any more is stale. */
export const generatedDirs = ['config/crd/bases', 'schemas/generated'] as const;

export function renderGeneratedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of crds) {
    files.set(`config/crd/bases/${crdFileName(crd)}`, renderCrd(crd, `schemas/${crd.singular}.ts`));
  }
  files.set('config/crd/kustomization.yaml', renderCrdKustomization(crds));
  files.set('schemas/generated/types.ts', renderTypes(crds, sharedTypeNames));
  return files;
}
