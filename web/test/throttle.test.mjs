// The page fetches /api/status at most once a second however fast events come.
import assert from "node:assert/strict";
import { test } from "node:test";
import { throttle } from "../src/throttle.js";

/** A clock and timer the test moves by hand. */
function fakeTime() {
  let t = 0;
  const timers = new Map();
  let next = 1;
  return {
    now: () => t,
    setTimer: (fn, ms) => {
      timers.set(next, { fn, at: t + ms });
      return next++;
    },
    clearTimer: (id) => timers.delete(id),
    advance(ms) {
      const until = t + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        t = due[1].at;
        due[1].fn();
      }
      t = until;
    },
  };
}

test("a burst of calls runs once at once and once at the end of the second", () => {
  const time = fakeTime();
  let runs = 0;
  const call = throttle(() => runs++, 1000, time);
  for (let i = 0; i < 1000; i++) call();
  assert.equal(runs, 1, "the first call runs at once");
  time.advance(999);
  assert.equal(runs, 1);
  time.advance(1);
  assert.equal(runs, 2, "the rest of the burst folds into one run");
  time.advance(5000);
  assert.equal(runs, 2, "nothing more without calls");
});

test("events every millisecond for ten seconds make at most one run a second", () => {
  const time = fakeTime();
  const at = [];
  const call = throttle(() => at.push(time.now()), 1000, time);
  for (let ms = 0; ms < 10000; ms++) {
    call();
    time.advance(1);
  }
  time.advance(1000);
  assert.ok(at.length <= 11, `${at.length} runs`);
  for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 1000, `runs at ${at[i - 1]} and ${at[i]}`);
});

test("a quiet call after the interval runs at once, and cancel drops a pending run", () => {
  const time = fakeTime();
  let runs = 0;
  const call = throttle(() => runs++, 1000, time);
  call();
  time.advance(2000);
  call();
  assert.equal(runs, 2);
  call();
  call.cancel();
  time.advance(2000);
  assert.equal(runs, 2);
});
