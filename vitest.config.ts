import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { berthProject } from './tooling/vitest/preset.ts';
import { SummaryReporter } from './tooling/vitest/summary-reporter.ts';

/** One vitest project per workspace package or app that has a `package.json`. */
const projects = ['packages', 'apps'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && existsSync(join(group, entry.name, 'package.json')))
        .map((entry) => berthProject(join(group, entry.name)))
    : [],
);

export default defineConfig({
  test: {
    projects,
    reporters: ['default', new SummaryReporter()],
    passWithNoTests: false,
  },
});
