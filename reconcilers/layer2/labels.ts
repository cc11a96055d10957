// Kubernetes label selectors over plain label maps, with metav1.LabelSelector semantics: matchLabels and
// matchExpressions are ANDed, an empty selector matches everything, NotIn and DoesNotExist match objects
// without the key. Pure; shared by advertisements (nodes, pools) and allocation (namespaces, services).

import type { LabelSelector, LabelSelectorRequirement } from '../../schemas/generated/types.js';

export type Labels = Readonly<Record<string, string>>;

export const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

function requirementMatches(requirement: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return has && values.includes(labels[requirement.key] ?? '');
    case 'NotIn':
      return !has || !values.includes(labels[requirement.key] ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      // An operator validation would refuse selects nothing, as LabelSelectorAsSelector's error does.
      return false;
  }
}

export function labelSelectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value || !Object.hasOwn(labels, key)) return false;
  }
  return (selector.matchExpressions ?? []).every((requirement) => requirementMatches(requirement, labels));
}

/** A list of selectors ORed, as MetalLB reads nodeSelectors and ipAddressPoolSelectors: empty = everything. */
export function anySelectorMatches(selectors: readonly LabelSelector[] | undefined, labels: Labels): boolean {
  return selectors === undefined || selectors.length === 0 || selectors.some((s) => labelSelectorMatches(s, labels));
}

const nameSegment = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key (an optional DNS-subdomain prefix, `/`, a name of ≤ 63), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'not a valid label key: the prefix before "/" is empty';
    if (prefix.length > 253 || !dnsSubdomain.test(prefix)) {
      return 'not a valid label key: the prefix must be a lowercase DNS subdomain of at most 253 characters';
    }
  }
  if (name.length === 0) return 'not a valid label key: the name part is empty';
  if (name.length > 63) return 'not a valid label key: the name part is longer than 63 characters';
  if (!nameSegment.test(name)) {
    return 'not a valid label key: the name part must be alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric';
  }
  return undefined;
}

/** Why `value` is not a valid label value (empty, or ≤ 63 characters of the name alphabet), or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'not a valid label value: longer than 63 characters';
  if (!nameSegment.test(value)) {
    return 'not a valid label value: must be alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric';
  }
  return undefined;
}

export interface SelectorProblem {
  /** Path below the selector, e.g. `.matchExpressions[0].values`. */
  readonly path: string;
  readonly value: unknown;
  readonly reason: string;
}

/** Every way `selector` breaks Kubernetes' rules, as LabelSelectorAsSelector and ValidateLabelSelector see them. */
export function selectorProblems(selector: LabelSelector): SelectorProblem[] {
  const problems: SelectorProblem[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) problems.push({ path: '.matchLabels', value: key, reason: keyProblem });
    const valueProblem = labelValueProblem(value);
    if (valueProblem !== undefined) problems.push({ path: `.matchLabels.${key}`, value, reason: valueProblem });
  }
  (selector.matchExpressions ?? []).forEach((requirement, i) => {
    const at = `.matchExpressions[${i}]`;
    const keyProblem = labelKeyProblem(requirement.key);
    if (keyProblem !== undefined) problems.push({ path: `${at}.key`, value: requirement.key, reason: keyProblem });
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          problems.push({ path: `${at}.values`, value: values, reason: `must be non-empty when operator is ${requirement.operator}` });
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          problems.push({ path: `${at}.values`, value: values.join(','), reason: `must be empty when operator is ${requirement.operator}` });
        }
        break;
      default:
        problems.push({
          path: `${at}.operator`,
          value: requirement.operator,
          reason: `not a valid selector operator: must be one of ${selectorOperators.join(', ')}`,
        });
    }
    values.forEach((value, j) => {
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined) problems.push({ path: `${at}.values[${j}]`, value, reason: valueProblem });
    });
  });
  return problems;
}
