import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relativeImports, runtimeFiles } from './runtime-files.js';

describe('relativeImports', () => {
  const cases: ReadonlyArray<readonly [string, string, readonly string[]]> = [
    ['static imports and re-exports', `import { a } from './a.js';\nexport { b } from "../b/b.js";`, ['./a.js', '../b/b.js']],
    ['a bare side-effect import', `import './side.js';`, ['./side.js']],
    ['a dynamic import with a literal', `const m = await import('./lazy.js');`, ['./lazy.js']],
    ['a worker loaded by URL beside the module', `new Worker(new URL('./worker.js', import.meta.url), {});`, ['./worker.js']],
    ['packages and builtins are not files of ours', `import yaml from 'js-yaml';\nimport { x } from 'node:fs';`, []],
    ['one file imported twice counts once', `import './a.js';\nimport { a } from './a.js';`, ['./a.js']],
  ];
  for (const [story, source, expected] of cases) {
    it(story, () => assert.deepEqual(relativeImports(source), expected));
  }
});

describe('runtimeFiles', () => {
  const tree = (files: Record<string, string>) => (path: string): string | undefined => files[path];

  it('follows imports across folders and returns every reachable file once, sorted', () => {
    const read = tree({
      'dist/operator/main.js': `import './log.js';\nimport { r } from '../reconcilers/r.js';`,
      'dist/operator/log.js': '',
      'dist/reconcilers/r.js': `import '../operator/log.js';`,
      'dist/reconcilers/unused.js': '',
    });
    assert.deepEqual(runtimeFiles(['dist/operator/main.js'], read), {
      ok: true,
      files: ['dist/operator/log.js', 'dist/operator/main.js', 'dist/reconcilers/r.js'],
    });
  });

  const refusals: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['a production module importing a test kit', './allocator-testkit.js', /allocator-testkit\.js is a test kit, imported by dist\/operator\/main\.js/],
    ['a production module importing the lab', '../e2e/lab/cli.js', /dist\/e2e\/lab\/cli\.js is the lab/],
    ['a production module importing a unit test', './main.test.js', /is a unit test/],
    ['an import of a file that was never compiled', './gone.js', /dist\/operator\/gone\.js does not exist, imported by dist\/operator\/main\.js/],
  ];
  for (const [story, specifier, reason] of refusals) {
    it(`refuses ${story}`, () => {
      const read = tree({ 'dist/operator/main.js': `import '${specifier}';`, 'dist/operator/allocator-testkit.js': '', 'dist/e2e/lab/cli.js': '', 'dist/operator/main.test.js': '' });
      const closure = runtimeFiles(['dist/operator/main.js'], read);
      assert.equal(closure.ok, false);
      if (!closure.ok) assert.match(closure.reason, reason);
    });
  }
});
