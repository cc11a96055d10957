import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelSelector } from '../../schemas/generated/types.js';
import { anySelectorMatches, labelKeyProblem, labelSelectorMatches, labelValueProblem, type Labels } from './labels.js';

const edge: Labels = { 'node-role.kubernetes.io/edge': 'true', 'topology.kubernetes.io/zone': 'zone-a', 'network-zone': 'dmz' };
const plain: Labels = { 'kubernetes.io/hostname': 'worker-03' };

describe('labelSelectorMatches', () => {
  const cases: ReadonlyArray<[string, LabelSelector, Labels, boolean]> = [
    ['an empty selector matches every object', {}, plain, true],
    ['matchLabels matches an equal value', { matchLabels: { 'network-zone': 'dmz' } }, edge, true],
    ['matchLabels refuses another value', { matchLabels: { 'network-zone': 'lan' } }, edge, false],
    ['matchLabels refuses a missing key', { matchLabels: { 'network-zone': 'dmz' } }, plain, false],
    ['matchLabels with an empty value needs the key present', { matchLabels: { 'network-zone': '' } }, plain, false],
    ['In matches one of the values', { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a', 'zone-b'] }] }, edge, true],
    ['In refuses a missing key', { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a'] }] }, plain, false],
    ['NotIn refuses a listed value', { matchExpressions: [{ key: 'network-zone', operator: 'NotIn', values: ['dmz'] }] }, edge, false],
    ['NotIn matches a missing key', { matchExpressions: [{ key: 'network-zone', operator: 'NotIn', values: ['dmz'] }] }, plain, true],
    ['Exists matches a present key', { matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'Exists' }] }, edge, true],
    ['Exists refuses a missing key', { matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'Exists' }] }, plain, false],
    ['DoesNotExist matches a missing key', { matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'DoesNotExist' }] }, plain, true],
    ['DoesNotExist refuses a present key', { matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'DoesNotExist' }] }, edge, false],
    [
      'matchLabels and matchExpressions are ANDed',
      { matchLabels: { 'network-zone': 'dmz' }, matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-b'] }] },
      edge,
      false,
    ],
    ['an unknown operator selects nothing', { matchExpressions: [{ key: 'network-zone', operator: 'Equals', values: ['dmz'] }] }, edge, false],
    ['a label named like an Object.prototype key is not inherited', { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, plain, false],
  ];
  for (const [name, selector, labels, expected] of cases) {
    it(name, () => assert.equal(labelSelectorMatches(selector, labels), expected));
  }
});

describe('anySelectorMatches (a list of selectors is ORed)', () => {
  const guideSelectors: LabelSelector[] = [
    { matchLabels: { 'node-role.kubernetes.io/edge': 'true' } },
    { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a', 'zone-b'] }] },
  ];
  const cases: ReadonlyArray<[string, readonly LabelSelector[] | undefined, Labels, boolean]> = [
    ['no list selects every node', undefined, plain, true],
    ['an empty list selects every node', [], plain, true],
    ['either selector is enough (first)', guideSelectors, { 'node-role.kubernetes.io/edge': 'true' }, true],
    ['either selector is enough (second)', guideSelectors, { 'topology.kubernetes.io/zone': 'zone-b' }, true],
    ['neither selector matches', guideSelectors, plain, false],
  ];
  for (const [name, selectors, labels, expected] of cases) {
    it(name, () => assert.equal(anySelectorMatches(selectors, labels), expected));
  }
});

describe('label syntax', () => {
  const keys: ReadonlyArray<[string, boolean]> = [
    ['app', true],
    ['node-role.kubernetes.io/edge', true],
    ['topology.kubernetes.io/zone', true],
    ['a.b_c-d', true],
    ['network zone', false],
    ['/zone', false],
    ['example.com/', false],
    ['Example.com/zone', false],
    ['-app', false],
    [`${'a'.repeat(63)}`, true],
    [`${'a'.repeat(64)}`, false],
    [`${'a'.repeat(254)}/x`, false],
  ];
  for (const [key, valid] of keys) {
    it(`label key ${JSON.stringify(key.length > 20 ? `${key.slice(0, 10)}…(${key.length})` : key)} is ${valid ? 'valid' : 'invalid'}`, () =>
      assert.equal(labelKeyProblem(key) === undefined, valid));
  }
  const values: ReadonlyArray<[string, boolean]> = [
    ['', true],
    ['zone-a', true],
    ['v1.2_3', true],
    ['dmz!', false],
    ['web app', false],
    ['-x', false],
    ['a'.repeat(64), false],
  ];
  for (const [value, valid] of values) {
    it(`label value ${JSON.stringify(value.slice(0, 20))} is ${valid ? 'valid' : 'invalid'}`, () =>
      assert.equal(labelValueProblem(value) === undefined, valid));
  }
});
