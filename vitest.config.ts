import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { berthProject } from './tooling/vitest/preset.ts';
import { SummaryReporter } from './tooling/vitest/summary-reporter.ts';

/** True when `dir/src` holds a `*.test.ts` file (at any depth). */
function hasTests(dir: string): boolean {
  const src = join(dir, 'src');
  return (
    existsSync(src) &&
    readdirSync(src, { recursive: true, encoding: 'utf8' }).some((file) => file.endsWith('.test.ts'))
  );
}

/**
 * One vitest project per workspace package or app that has a `package.json`, and per tooling
 * package that has tests (most tooling packages are test helpers without tests of their own).
 */
const projects = ['packages', 'apps', 'tooling'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group, { withFileTypes: true })
        .map((entry) => join(group, entry.name))
        .filter((dir) => existsSync(join(dir, 'package.json')) && (group !== 'tooling' || hasTests(dir)))
        .map((dir) => berthProject(dir))
    : [],
);

export default defineConfig({
  test: {
    projects,
    reporters: ['default', new SummaryReporter()],
    passWithNoTests: false,
  },
});
