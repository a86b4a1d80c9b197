import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readmeExample } from './consumer.ts';
import { exportTargets, tarballProblems } from './tarball.ts';
import { REPO_ROOT } from './workspace.ts';

const manifest = {
  name: '@berth/example',
  version: '1.2.3',
  license: 'Apache-2.0',
  exports: {
    '.': { '@berth/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
    './package.json': './package.json',
  },
  dependencies: { '@berth/digest': '^1.2.3' },
};
const good = ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'src/index.ts'];

describe('tarballProblems', () => {
  test('a complete tarball has none', () => {
    expect(tarballProblems({ files: good, manifest })).toEqual([]);
  });

  test('names each missing file, missing types and missing export target', () => {
    const problems = tarballProblems({ files: ['package.json', 'dist/other.js'], manifest });
    expect(problems).toEqual([
      'missing LICENSE',
      'missing README.md',
      'no dist/**/*.d.ts',
      'dist/other.js has no .d.ts beside it',
      'exports names dist/index.d.ts, which is not in the tarball',
      'exports names dist/index.js, which is not in the tarball',
    ]);
  });

  test.each([
    ['src/foo.test.ts', 'a test file'],
    ['dist/gc/foo.test.js', 'a test file'],
    ['src/test-support/http.ts', 'a test helper'],
    ['dist/gc/test-support.js', 'a test helper'],
    ['dist/gc/test-support.d.ts.map', 'a test helper'],
    ['test/child-writer.ts', 'the test/ directory'],
    ['tsconfig.build.tsbuildinfo', 'TypeScript build state'],
  ])('refuses %s as %s', (file, what) => {
    const shipped = tarballProblems({ files: [...good, file], manifest }).filter((p) =>
      p.startsWith('ships '),
    );
    expect(shipped).toHaveLength(1);
    expect(shipped[0]).toContain(what);
    expect(shipped[0]).toContain(file);
  });

  test('keeps what only looks like a test: dist/tests/ of the conformance suite, a testing.js', () => {
    const files = [
      ...good,
      'dist/tests/reader.js',
      'dist/tests/reader.d.ts',
      'dist/testing.js',
      'dist/testing.d.ts',
    ];
    expect(tarballProblems({ files, manifest })).toEqual([]);
  });

  test('refuses a workspace: range left in the packed package.json, and a missing license', () => {
    const { license: _, ...unlicensed } = manifest;
    const problems = tarballProblems({
      files: good,
      manifest: { ...unlicensed, dependencies: { '@berth/digest': 'workspace:^' } },
    });
    expect(problems).toEqual([
      'dependencies.@berth/digest is still workspace:^',
      'package.json has no license',
    ]);
  });
});

describe('exportTargets', () => {
  test('every target but the workspace-only @berth/source condition', () => {
    expect(exportTargets(manifest.exports)).toEqual(['dist/index.d.ts', 'dist/index.js', 'package.json']);
  });

  test('a string exports field, nested conditions and arrays', () => {
    expect(exportTargets('./dist/index.js')).toEqual(['dist/index.js']);
    expect(exportTargets({ '.': { node: { import: ['./a.js', './b.js'] } } })).toEqual(['a.js', 'b.js']);
  });
});

describe('readmeExample', () => {
  test('is the first js block under "## Example"', () => {
    const readme =
      '# x\n\n```js\nnot this\n```\n\n## Example\n\nText.\n\n```js\nconst a = 1;\n```\n\n```js\nnor this\n```\n';
    expect(readmeExample(readme)).toBe('const a = 1;\n');
  });

  test('fails when there is none', () => {
    expect(() => readmeExample('## Example\n\n```ts\nconst a: number = 1;\n```\n')).toThrow(/no ```js block/);
  });

  test("registry-core's README has one, using the fs driver and @hono/node-server", () => {
    const source = readmeExample(readFileSync(join(REPO_ROOT, 'packages/registry-core/README.md'), 'utf8'));
    expect(source).toContain("from '@berth/registry-core'");
    expect(source).toContain("from '@berth/storage-driver-fs'");
    expect(source).toContain("from '@hono/node-server'");
  });
});
