/**
 * Imported first by every entry point (the server, the CLI, the launcher's Node steps): on a
 * Node.js that cannot run Berth's TypeScript sources it prints one line saying which Node is
 * needed and how to get it, and exits with status 1 — before a late `ERR_UNKNOWN_FILE_EXTENSION`
 * or a stack trace could. Plain JavaScript, so that any Node can read it.
 *
 * Supported: 22.18 or later 22.x (the first to strip types by default), and 24 or later, as the
 * `engines` field of every package says.
 */
const [major, minor] = process.versions.node.split('.').map(Number);
const supported = (major === 22 && minor >= 18) || major >= 24;
if (!supported) {
  process.stderr.write(
    `berth: Node.js 22.18+ or 24+ is needed, this is ${process.version}: run ./berth from the ` +
      'repository root (it installs Node 24 into .tools when none fits), or install one with ' +
      '`npm install --prefix .tools node@24` and put .tools/node_modules/.bin first on PATH\n',
  );
  process.exit(1);
}
