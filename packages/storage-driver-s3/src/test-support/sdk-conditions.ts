/**
 * Import this first in every test file that loads the AWS SDK.
 *
 * The shared vitest preset starts its workers with `--conditions=module` (vite's default server
 * conditions), and with that condition Node resolves `@aws-sdk/checksums/*` to its `dist-es`
 * build, which is meant for bundlers (extensionless relative imports) and fails to load. Plain
 * Node, as the registry runs, never sets that condition. This hook resolves the SDK's own
 * packages without it, in this test process only.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      (specifier.startsWith('@aws-sdk/') || specifier.startsWith('@smithy/')) &&
      context.conditions.includes('module')
    ) {
      return nextResolve(specifier, {
        ...context,
        conditions: context.conditions.filter((condition) => condition !== 'module'),
      });
    }
    return nextResolve(specifier, context);
  },
});
