/**
 * Loaded with `node --import` into a server under test: on SIGUSR2 it raises process warnings
 * the way libraries do — the same deprecation twice, two `MaxListenersExceededWarning`s from two
 * emitters (what an SDK that adds one listener too many to each of its streams causes), and one
 * plain warning — to check where the server sends them.
 */
import { EventEmitter } from 'node:events';

process.on('SIGUSR2', () => {
  for (let round = 0; round < 2; round++) {
    process.emitWarning('berthTestApi() is deprecated', {
      type: 'DeprecationWarning',
      code: 'DEP_BERTH_TEST',
    });
    const emitter = new EventEmitter();
    for (let i = 0; i <= EventEmitter.defaultMaxListeners; i++) emitter.on('error', () => {});
  }
  process.emitWarning('a plain warning from the test preload');
});
