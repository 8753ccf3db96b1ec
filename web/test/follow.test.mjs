// The page follows the plaza live, polls /api/peers while nara refuses it a stream, and
// goes back to the stream once nara has room.
import assert from "node:assert/strict";
import { test } from "node:test";
import { POLL_EVERY_MS, REOPEN_FIRST_MS, REOPEN_MOST_MS, follow } from "../src/follow.js";

/** A timer the test moves by hand; `advance` also lets pending promises settle. */
function fakeTime() {
  let t = 0;
  const timers = new Map();
  let next = 1;
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return {
    setTimer: (fn, ms) => {
      timers.set(next, { fn, at: t + ms });
      return next++;
    },
    clearTimer: (id) => timers.delete(id),
    pending: () => timers.size,
    settle,
    async advance(ms) {
      const until = t + ms;
      for (;;) {
        await settle();
        const due = [...timers.entries()].filter(([, x]) => x.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        t = due[1].at;
        due[1].fn();
      }
      t = until;
      await settle();
    },
  };
}

/** EventSource as the page uses it: the test opens, refuses, drops and feeds it. */
class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = new Map();
    FakeEventSource.all.push(this);
  }
  addEventListener(type, fn) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  emit(type, data) {
    for (const fn of this.listeners.get(type) ?? []) fn({ data: data === undefined ? undefined : JSON.stringify(data) });
  }
  accept() {
    this.readyState = FakeEventSource.OPEN;
    this.emit("open");
  }
  /** A 503: EventSource gives up. */
  refuse() {
    this.readyState = FakeEventSource.CLOSED;
    this.emit("error");
  }
  /** A dropped stream: EventSource reconnects by itself. */
  drop() {
    this.readyState = FakeEventSource.CONNECTING;
    this.emit("error");
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
    this.closed = true;
  }
  static latest() {
    return FakeEventSource.all.at(-1);
  }
}

function start({ peers = [{ name: "kitchen" }], failing = false } = {}) {
  FakeEventSource.all = [];
  const time = fakeTime();
  const seen = { snapshots: [], changes: [], states: [], fetches: 0 };
  const stop = follow(
    {
      onSnapshot: (list) => seen.snapshots.push(list),
      onChange: (event) => seen.changes.push(event),
      onConnection: (state) => seen.states.push(state),
    },
    {
      EventSource: FakeEventSource,
      fetchPeers: async () => {
        seen.fetches++;
        if (failing) throw new Error("unreachable");
        return peers;
      },
      setTimer: time.setTimer,
      clearTimer: time.clearTimer,
    },
  );
  return { time, seen, stop };
}

test("a stream nara serves is followed live, and nothing is polled", async () => {
  const { time, seen } = start();
  const stream = FakeEventSource.latest();
  assert.equal(stream.url, "/api/events");
  stream.accept();
  stream.emit("snapshot", { peers: [{ name: "kitchen" }] });
  stream.emit("join", { type: "join", peer: { name: "garage" } });
  await time.advance(10 * POLL_EVERY_MS);
  assert.deepEqual(seen.states, ["live"]);
  assert.deepEqual(seen.snapshots, [[{ name: "kitchen" }]]);
  assert.equal(seen.changes[0].peer.name, "garage");
  assert.equal(seen.fetches, 0);
});

test("a refused stream turns to polling at once, every 10 s, and back to the stream when nara has room", async () => {
  const { time, seen } = start();
  FakeEventSource.latest().refuse();
  await time.settle();
  assert.equal(seen.fetches, 1, "the list at once, not after a wait");
  assert.deepEqual(seen.snapshots, [[{ name: "kitchen" }]]);
  assert.equal(seen.states.at(-1), "polling");

  await time.advance(REOPEN_FIRST_MS);
  assert.equal(FakeEventSource.all.length, 2, "the stream is asked for again after 5 s");
  FakeEventSource.latest().refuse();
  await time.advance(POLL_EVERY_MS - REOPEN_FIRST_MS);
  assert.equal(seen.fetches, 2, "a poll every 10 s meanwhile");
  await time.advance(2 * REOPEN_FIRST_MS - (POLL_EVERY_MS - REOPEN_FIRST_MS));
  assert.equal(FakeEventSource.all.length, 3, "then after 10 s");

  const stream = FakeEventSource.latest();
  stream.accept();
  stream.emit("snapshot", { peers: [{ name: "kitchen" }, { name: "garage" }] });
  assert.equal(seen.states.at(-1), "live");
  const fetched = seen.fetches;
  await time.advance(10 * POLL_EVERY_MS);
  assert.equal(seen.fetches, fetched, "no polling once the stream is back");
  assert.equal(FakeEventSource.all.length, 3, "and no other stream");
  assert.equal(seen.states.at(-1), "live");
});

test("while nara keeps refusing, the stream is asked for at most once a minute", async () => {
  const { time } = start();
  const asked = [];
  for (let i = 0; i < 12; i++) {
    FakeEventSource.latest().refuse();
    const before = FakeEventSource.all.length;
    let waited = 0;
    while (FakeEventSource.all.length === before) {
      await time.advance(1000);
      waited += 1000;
    }
    asked.push(waited);
  }
  assert.deepEqual(asked.slice(0, 5), [5000, 10000, 20000, 40000, 60000]);
  assert.ok(asked.every((ms) => ms <= REOPEN_MOST_MS), asked.join(", "));
});

test("a dropped stream reconnects by itself and is not polled for", async () => {
  const { time, seen } = start();
  const stream = FakeEventSource.latest();
  stream.accept();
  stream.drop();
  await time.advance(10 * POLL_EVERY_MS);
  assert.deepEqual(seen.states, ["live", "reconnecting"]);
  assert.equal(seen.fetches, 0);
  assert.equal(FakeEventSource.all.length, 1, "EventSource reconnects itself");
});

test("a poll that fails says reconnecting, and the next one tries again", async () => {
  const { time, seen } = start({ failing: true });
  FakeEventSource.latest().refuse();
  await time.settle();
  assert.deepEqual(seen.states, ["reconnecting"]);
  await time.advance(POLL_EVERY_MS);
  assert.equal(seen.fetches, 2);
});

test("a poll still out when the stream comes back is dropped", async () => {
  FakeEventSource.all = [];
  const time = fakeTime();
  let answer;
  const snapshots = [];
  follow(
    { onSnapshot: (list) => snapshots.push(list), onChange: () => {}, onConnection: () => {} },
    {
      EventSource: FakeEventSource,
      fetchPeers: () => new Promise((resolve) => (answer = resolve)),
      setTimer: time.setTimer,
      clearTimer: time.clearTimer,
    },
  );
  FakeEventSource.latest().refuse();
  await time.advance(REOPEN_FIRST_MS);
  FakeEventSource.latest().accept();
  answer([{ name: "stale" }]);
  await time.settle();
  assert.deepEqual(snapshots, [], "the late list does not overwrite the stream's");
  await time.advance(10 * POLL_EVERY_MS);
  assert.equal(time.pending(), 0, "no poll is scheduled");
});

test("stopping closes the stream and cancels every timer", async () => {
  const { time, seen, stop } = start();
  FakeEventSource.latest().refuse();
  await time.settle();
  stop();
  assert.ok(FakeEventSource.latest().closed);
  assert.equal(time.pending(), 0);
  await time.advance(10 * REOPEN_MOST_MS);
  assert.equal(FakeEventSource.all.length, 1);
  assert.equal(seen.fetches, 1);
});
