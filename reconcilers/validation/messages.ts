// One message style for every rejection, whoever finds it (ajv, the address checks, the webhook):
//   ipaddresspool "staging-pool": spec.addresses[1] "10.0.0.300/30": not an IP prefix
// The object, then the field, then the offending value when there is one, then why.

import type { ErrorObject } from 'ajv';

export interface FieldProblem {
  readonly field: string;
  /** The offending value, absent when the problem is an absence. */
  readonly value?: unknown;
  readonly reason: string;
}

export function objectLabel(kind: string, name: string | undefined): string {
  return `${kind.toLowerCase()} ${JSON.stringify(name ?? '')}`;
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function formatProblem(object: string, problem: FieldProblem): string {
  const value = problem.value === undefined ? '' : ` ${showValue(problem.value)}`;
  return `${object}: ${problem.field}${value}: ${problem.reason}`;
}

/** `/spec/addresses/1` → `spec.addresses[1]`. */
export function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^[0-9]+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

function valueAt(root: unknown, instancePath: string): unknown {
  let value = root;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

const join = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);

/** ajv's errors in our words: the field by its kubectl path, the value it holds, and ajv's reason. */
export function schemaProblems(errors: readonly ErrorObject[], root: unknown): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    const path = fieldPath(error.instancePath);
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required') {
      problems.push({ field: join(path, String(params.missingProperty)), reason: 'is required' });
    } else if (error.keyword === 'additionalProperties') {
      problems.push({ field: join(path, String(params.additionalProperty)), reason: 'unknown field' });
    } else if (error.keyword === 'enum') {
      const allowed = (params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      problems.push({ field: path, value: valueAt(root, error.instancePath), reason: `must be one of ${allowed}` });
    } else {
      problems.push({ field: path, value: valueAt(root, error.instancePath), reason: error.message ?? error.keyword });
    }
  }
  return problems;
}

/** The first `max` problems, and how many more: a manifest with 100,000 bad entries gets a readable
 *  answer of bounded size, not one line per entry. */
export function summarizeProblems(errors: readonly string[], max = 10): string {
  const shown = errors.slice(0, max).join('; ');
  return errors.length > max ? `${shown}; and ${errors.length - max} more problems` : shown;
}
