import { basename } from 'node:path';
import { defaultServerConditions } from 'vite';
import type { TestProjectInlineConfiguration } from 'vitest/config';

/**
 * Workspace packages export their TypeScript sources under the `@berth/source` condition,
 * so tests run against `src/` without a build step.
 */
const conditions: string[] = ['@berth/source', ...defaultServerConditions];

/**
 * The vitest project for one workspace package: tests live beside the code as `*.test.ts`.
 *
 * @example
 * ```ts
 * // vitest.config.ts at the repository root
 * export default defineConfig({ test: { projects: [berthProject('packages/digest')] } });
 * ```
 */
export function berthProject(
  dir: string,
  overrides: { testTimeout?: number } = {},
): TestProjectInlineConfiguration {
  return {
    extends: true,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name: basename(dir),
      root: dir,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: overrides.testTimeout ?? 30_000,
    },
  };
}
