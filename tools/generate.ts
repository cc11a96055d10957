// `npm run generate` writes the CRD YAML and the TS types from `schemas/`; `npm run generate:check`
// renders them again into a temporary directory and fails, naming the file, when a committed file is
// stale, missing or no longer generated.

import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderGeneratedFiles, generatedDirs } from './gen-files.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function writeAll(root: string, files: ReadonlyMap<string, string>): void {
  for (const [path, text] of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

/** The problems of the committed tree against a fresh rendering, one line each; empty when up to date. */
export function staleFiles(root: string, files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, text] of files) {
    const full = join(root, path);
    if (!existsSync(full)) problems.push(`${path}: missing, run \`npm run generate\``);
    else if (readFileSync(full, 'utf8') !== text) problems.push(`${path}: stale, run \`npm run generate\``);
  }
  for (const dir of generatedDirs) {
    const full = join(root, dir);
    if (!existsSync(full)) continue;
    for (const name of readdirSync(full)) {
      const path = `${dir}/${name}`;
      if (!files.has(path)) problems.push(`${path}: not generated any more, delete it`);
    }
  }
  return problems;
}

function main(argv: readonly string[]): number {
  const files = renderGeneratedFiles();
  if (!argv.includes('--check')) {
    writeAll(repoRoot, files);
    for (const path of files.keys()) console.log(`generated ${path}`);
    return 0;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'l2lb-generate-'));
  try {
    writeAll(scratch, files);
    const fresh = new Map([...files.keys()].map((path) => [path, readFileSync(join(scratch, path), 'utf8')]));
    const problems = staleFiles(repoRoot, fresh);
    for (const problem of problems) console.error(problem);
    if (problems.length === 0) console.log(`generated files are up to date (${files.size} files)`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
