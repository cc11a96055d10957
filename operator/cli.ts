#!/usr/bin/env node
// `l2lb validate -f FILE...`: the webhook's checks, offline, on manifests before they are applied. All
// files are judged together, so two pools that overlap across files are caught. Exit 1 on any error.

import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { validateManifests, type ManifestSource } from '../reconcilers/validation/manifests.js';
import { isMainModule } from './kit/main-module.js';

const usage = 'usage: l2lb validate -f FILE [FILE...] [-f FILE...] [-n NAMESPACE]';

export interface CommandResult {
  readonly exitCode: number;
  /** One line per error, for stdout. */
  readonly out: readonly string[];
  /** Notes and the summary, for stderr. */
  readonly err: readonly string[];
}

type ParsedArgs = { ok: true; files: string[]; namespace?: string } | { ok: false; reason: string };

export function parseValidateArgs(args: readonly string[]): ParsedArgs {
  const files: string[] = [];
  let namespace: string | undefined;
  let collecting = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-f' || arg === '--filename') {
      collecting = true;
    } else if (arg.startsWith('--filename=')) {
      files.push(arg.slice('--filename='.length));
    } else if (arg === '-n' || arg === '--namespace') {
      namespace = args[++i];
      collecting = false;
      if (namespace === undefined) return { ok: false, reason: `${arg} needs a value` };
    } else if (arg.startsWith('-')) {
      return { ok: false, reason: `unknown flag ${arg}` };
    } else if (collecting) {
      files.push(arg);
    } else {
      return { ok: false, reason: `unexpected argument ${arg}` };
    }
  }
  if (files.length === 0) return { ok: false, reason: 'no file given' };
  return namespace === undefined ? { ok: true, files } : { ok: true, files, namespace };
}

/** The validate command over already-read files: `texts` maps each path to its content, or to an error. */
export function validateFiles(
  texts: ReadonlyArray<{ readonly path: string; readonly text?: string; readonly error?: string }>,
  namespace?: string,
): CommandResult {
  const out: string[] = [];
  const sources: ManifestSource[] = [];
  for (const { path, text, error } of texts) {
    if (text === undefined) {
      out.push(`${path}: cannot read: ${error ?? 'unknown error'}`);
      continue;
    }
    try {
      yaml.loadAll(text).forEach((object, i) => sources.push({ origin: `${path}#${i + 1}`, object }));
    } catch (parseError) {
      out.push(`${path}: not valid YAML: ${parseError instanceof Error ? parseError.message.split('\n')[0] : String(parseError)}`);
    }
  }
  const report = validateManifests(sources, namespace === undefined ? {} : { defaultNamespace: namespace });
  out.push(...report.errors);
  const err = [
    ...report.notes.map((note) => `note: ${note}`),
    `${report.checked} object(s) checked in ${texts.length} file(s): ${out.length === 0 ? 'no errors' : `${out.length} error(s)`}`,
  ];
  return { exitCode: out.length === 0 ? 0 : 1, out, err };
}

export function runCli(argv: readonly string[]): CommandResult {
  const [command, ...rest] = argv;
  if (command !== 'validate') return { exitCode: 2, out: [], err: [usage] };
  const args = parseValidateArgs(rest);
  if (!args.ok) return { exitCode: 2, out: [], err: [`l2lb validate: ${args.reason}`, usage] };
  const texts = args.files.map((path) => {
    try {
      return { path, text: readFileSync(path === '-' ? 0 : path, 'utf8') };
    } catch (error) {
      return { path, error: error instanceof Error ? error.message : String(error) };
    }
  });
  return validateFiles(texts, args.namespace);
}

if (isMainModule(import.meta.url)) {
  const result = runCli(process.argv.slice(2));
  for (const line of result.out) process.stdout.write(`${line}\n`);
  for (const line of result.err) process.stderr.write(`${line}\n`);
  process.exitCode = result.exitCode;
}
