// The host health columns: what a Go nara's and a native nara's cells say, and the
// table sorted by a column.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byHealth, formatBytes, healthCell, mergeHealth, nextSort } from "../src/health.js";
import { pageOf } from "../src/peerview.js";

const native = (name, host, status = "ONLINE") => ({ name, status, version: "1.0.0", host });
const goNara = { name: "lisa", status: "ONLINE", version: "0.2.0", host: { load_per_core: 0.05, go_heap_bytes: 38 * 1024 * 1024 } };

test("a native nara's cells say its load, CPU, RSS and descriptors", () => {
  const peer = native("kitchen", { load_per_core: 0.42, cpu_pct: 1.25, rss_bytes: 24_018_944, open_fds: 37 });
  const texts = ["load", "cpu", "memory", "fds"].map((key) => healthCell(peer, key).text);
  assert.deepEqual(texts, ["0.42", "1.3 %", "22.9 MiB", "37"]);
  assert.match(healthCell(peer, "memory").title, /RSS/);
});

test("a Go nara's memory is labelled its Go heap, and its CPU and descriptors are unknown, saying why", () => {
  assert.equal(healthCell(goNara, "load").text, "0.05");
  assert.equal(healthCell(goNara, "memory").text, "38.0 MiB heap");
  assert.match(healthCell(goNara, "memory").title, /Go heap.*not its RSS/);
  assert.equal(healthCell(goNara, "cpu").text, "—");
  assert.match(healthCell(goNara, "cpu").title, /always says 0/);
  assert.equal(healthCell(goNara, "fds").text, "—");
});

test("a nara with no newspaper yet shows a dash in each column", () => {
  const peer = { name: "new", status: "ONLINE", host: {} };
  for (const key of ["load", "cpu", "memory", "fds"]) {
    assert.deepEqual(healthCell(peer, key), { text: "—", title: "no newspaper has said it yet" });
  }
  assert.equal(healthCell({ name: "old", status: "ONLINE" }, "load").text, "—", "an older nara's answer has no host");
});

test("sorting by a column puts the heaviest first, then the lightest, and those that do not say last", () => {
  const peers = [
    native("a", { cpu_pct: 5, rss_bytes: 10 * 1024 * 1024 }),
    native("b", { cpu_pct: 50, rss_bytes: 30 * 1024 * 1024 }),
    native("c", {}),
    goNara,
  ];
  const names = (sort) => pageOf(peers, { sort }).rows.map((p) => p.name);
  assert.deepEqual(names({ key: "cpu", ascending: false }), ["b", "a", "c", "lisa"]);
  assert.deepEqual(names({ key: "cpu", ascending: true }), ["a", "b", "c", "lisa"]);
  // Memory sorts an RSS and a Go heap on one scale, as bytes.
  assert.deepEqual(names({ key: "memory", ascending: false }), ["lisa", "b", "a", "c"]);
  assert.deepEqual(names(null), ["a", "b", "c", "lisa"]);
  const tie = byHealth("cpu", false, (x, y) => x.name.localeCompare(y.name));
  assert.ok(tie(native("x", { cpu_pct: 1 }), native("y", { cpu_pct: 1 })) < 0, "a tie falls back");
});

test("a heading clicked sorts heaviest first, again lightest first, a third time not at all", () => {
  const once = nextSort(null, "cpu");
  assert.deepEqual(once, { key: "cpu", ascending: false });
  const twice = nextSort(once, "cpu");
  assert.deepEqual(twice, { key: "cpu", ascending: true });
  assert.equal(nextSort(twice, "cpu"), null);
  assert.deepEqual(nextSort(twice, "fds"), { key: "fds", ascending: false });
});

test("bytes read in KiB, MiB or GiB", () => {
  assert.equal(formatBytes(512 * 1024), "512 KiB");
  assert.equal(formatBytes(1.5 * 1024 * 1024), "1.5 MiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
});

test("a fresh list brings each known nara's health and nothing else", () => {
  const old = native("kitchen", { cpu_pct: 1 }, "MISSING");
  const peers = new Map([
    ["kitchen", old],
    ["garage", native("garage", { cpu_pct: 2 })],
  ]);
  const fresh = [native("kitchen", { cpu_pct: 9 }, "ONLINE"), native("garage", { cpu_pct: 2 }), native("newcomer", { cpu_pct: 3 })];
  assert.equal(mergeHealth(peers, fresh), 1);
  assert.deepEqual(peers.get("kitchen").host, { cpu_pct: 9 });
  assert.equal(peers.get("kitchen").status, "MISSING", "the status stays the events'");
  assert.deepEqual(old.host, { cpu_pct: 1 }, "the peer object is replaced, not changed");
  assert.equal(peers.has("newcomer"), false, "a nara the events have not brought stays out");
});
