// One lint for the whole tree: `npm run lint` (tsc --noEmit, then this).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const kitOnly = 'operator/kit/ imports nothing of l2lb (operator/, reconcilers/, arp/, schemas/): pass it in from the caller instead.';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-image/**', 'node_modules/**', '.lab/**', 'arp/native/build/**', 'config/**', 'schemas/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // operator/kit/ is the generic reconciler kit (docs/decisions.md, "Layout"): it imports itself, Node and
    // npm packages, never l2lb. A relative import that leaves the folder is the only way to reach l2lb.
    files: ['operator/kit/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../*', '../**'], message: kitOnly }] }] },
  },
  {
    files: ['operator/kit/*/*.ts'], // the kit's own test kit (operator/kit/testkit/): one level deeper
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../../*', '../../**'], message: kitOnly }] }] },
  },
);
