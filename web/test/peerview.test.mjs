// The network table at 10,000 naras: sorted, filtered, one page at a time.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PAGE_SIZE, matches, pageOf, versionsOf } from "../src/peerview.js";

const peer = (name, status = "ONLINE", version = "0.1.0", self = false) => ({ name, status, version, self });

test("this nara comes first, then ONLINE, SUSPECT, MISSING and OFFLINE, each by name", () => {
  const { rows } = pageOf([
    peer("b", "OFFLINE"),
    peer("c"),
    peer("a", "MISSING"),
    peer("me", "ONLINE", "0.1.0", true),
    peer("a2"),
    peer("z", "SUSPECT"),
  ]);
  assert.deepEqual(
    rows.map((p) => p.name),
    ["me", "a2", "c", "z", "a", "b"],
  );
});

test("10,000 naras show a page at a time, and a page past the end shows the last", () => {
  const peers = Array.from({ length: 10001 }, (_, i) => peer(`n${String(i).padStart(5, "0")}`));
  const first = pageOf(peers);
  assert.equal(first.rows.length, PAGE_SIZE);
  assert.deepEqual([first.total, first.pages, first.first], [10001, 101, 1]);
  const last = pageOf(peers, { page: 500 });
  assert.deepEqual([last.page, last.rows.length, last.first], [100, 1, 10001]);
});

test("the filter matches a part of the name or version, or a status", () => {
  assert.ok(matches(peer("kitchen"), "KIT"));
  assert.ok(matches(peer("kitchen", "ONLINE", "0.9.1"), "0.9"));
  assert.ok(matches(peer("kitchen", "MISSING"), "missing"));
  assert.ok(matches(peer("kitchen", "SUSPECT"), "suspect"));
  assert.ok(!matches(peer("kitchen", "MISSING"), "miss"), "a status matches whole, not as a part of a name");
  assert.ok(matches(peer("kitchen"), "  "));
  const view = pageOf([peer("kitchen"), peer("garage"), peer("hall")], { query: "a" });
  assert.deepEqual(
    view.rows.map((p) => p.name),
    ["garage", "hall"],
  );
  assert.deepEqual(pageOf([peer("kitchen")], { query: "zzz" }), { rows: [], total: 0, page: 0, pages: 1, first: 0 });
});

test("a status and a version narrow the table, with what was typed", () => {
  const peers = [peer("kitchen", "ONLINE", "0.2.0"), peer("garage", "MISSING", "0.2.0"), peer("hall", "MISSING", "0.1.0")];
  const names = (filter) => pageOf(peers, filter).rows.map((p) => p.name);
  assert.deepEqual(names({ status: "MISSING" }), ["garage", "hall"]);
  assert.deepEqual(names({ version: "0.2.0" }), ["kitchen", "garage"]);
  assert.deepEqual(names({ status: "MISSING", version: "0.2.0" }), ["garage"]);
  assert.deepEqual(names({ status: "MISSING", query: "ha" }), ["hall"]);
  assert.deepEqual(names({ status: "OFFLINE" }), []);
});

test("the version filter offers each version newest first with its count, and a linked one that is gone", () => {
  const peers = [peer("a", "ONLINE", "0.9.1"), peer("b", "ONLINE", "0.10.0"), peer("c", "ONLINE", "0.9.1"), peer("d", "ONLINE", "")];
  assert.deepEqual(versionsOf(peers), [
    { version: "0.10.0", count: 1 },
    { version: "0.9.1", count: 2 },
  ]);
  assert.deepEqual(versionsOf(peers, "0.1.0").at(-1), { version: "0.1.0", count: 0 });
  assert.equal(versionsOf(peers, "0.9.1").length, 2, "a version some nara runs is offered once");
});
