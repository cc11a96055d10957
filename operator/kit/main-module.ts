// Whether a module is the program being run (`node dist/x.js`) rather than imported, so that a file can
// both export its parts and run as an entry point.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isMainModule(importMetaUrl: string): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return realpathSync(invoked) === fileURLToPath(importMetaUrl);
  } catch {
    return false;
  }
}
