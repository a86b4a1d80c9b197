#!/usr/bin/env -S node --conditions=@berth/source
// The server's entry point: checks the Node version, then runs src/main.ts.
import '../../../tooling/require-node.mjs';

await import('../src/main.ts');
