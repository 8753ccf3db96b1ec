// Calls that may come thousands of times a second, run at most once per interval:
// the first at once, the rest folded into one call at the end of the interval. The
// clock and timer are parameters so `node --test` can drive them.

/**
 * Returns `call()`, which runs `fn` now if it has not run for `intervalMs`, or else
 * once when the interval is up, however many times `call` was called meanwhile.
 * `call.cancel()` drops a pending run.
 */
export function throttle(fn, intervalMs, { now = () => Date.now(), setTimer = setTimeout, clearTimer = clearTimeout } = {}) {
  let last = -Infinity;
  let timer = null;
  const run = () => {
    timer = null;
    last = now();
    fn();
  };
  const call = () => {
    if (timer !== null) return;
    const wait = last + intervalMs - now();
    if (wait <= 0) run();
    else timer = setTimer(run, wait);
  };
  call.cancel = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
  };
  return call;
}
