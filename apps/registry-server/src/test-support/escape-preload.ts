/**
 * Loaded with `node --import` into a server under test: on SIGUSR2 it throws an exception (or,
 * with `BERTH_TEST_ESCAPE=rejection`, rejects a promise) that nothing catches — a bug that
 * escaped every guard, to check what the server does with it.
 */
process.on('SIGUSR2', () => {
  if (process.env.BERTH_TEST_ESCAPE === 'rejection') {
    void Promise.reject(new Error('injected unhandled rejection'));
    return;
  }
  setImmediate(() => {
    throw new Error('injected uncaught exception');
  });
});
