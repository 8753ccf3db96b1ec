// The page's version logic: comparing versions and grouping a rollout.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { compareVersions, firstOf, rollout } from "../src/rollout.js";

test("versions compare by number, not by text, a pre-release below its release", () => {
  assert.equal(compareVersions("0.10.0", "0.9.1"), 1);
  assert.equal(compareVersions("0.9.1", "0.10.0"), -1);
  assert.equal(compareVersions("1.2.3", "1.2.3"), 0);
  assert.equal(compareVersions("1.0.0-rc.1", "1.0.0"), -1);
  assert.equal(compareVersions("1.2", "0.0.1"), -1, "what does not parse is oldest");
  assert.deepEqual(["0.2.0", "0.10.0", "0.9.9"].sort(compareVersions), ["0.2.0", "0.9.9", "0.10.0"]);
});

test("versions are in the order nara's own code keeps (web/test/version-order.json)", () => {
  const { ascending } = JSON.parse(readFileSync(new URL("./version-order.json", import.meta.url), "utf8"));
  assert.ok(ascending.length >= 10);
  ascending.forEach((a, i) =>
    ascending.forEach((b, j) => assert.equal(compareVersions(a, b), Math.sign(i - j), `${a} against ${b}`)),
  );
});

const peer = (name, version, status = "ONLINE", history = [], revision = "r") => ({
  name,
  version,
  status,
  revision,
  version_history: history,
});

test("a rollout groups naras by version, newest first, and lists who is behind", () => {
  const { newest, rows, behind } = rollout([
    peer("kitchen", "0.10.0"),
    peer("hall", "0.9.0"),
    peer("home", "0.10.0"),
    peer("attic", "0.9.0", "MISSING"),
  ]);
  assert.equal(newest, "0.10.0");
  assert.deepEqual(
    rows.map((r) => [r.version, r.names, r.count, r.behind]),
    [
      ["0.10.0", ["home", "kitchen"], 2, false],
      ["0.9.0", ["attic", "hall"], 2, true],
    ],
  );
  assert.deepEqual(behind, [
    { name: "attic", version: "0.9.0" },
    { name: "hall", version: "0.9.0" },
  ]);
});

test("a Go nara, which sends no revision, never becomes the newest", () => {
  const { newest, rows } = rollout([peer("home", "0.1.0"), peer("go", "0.2.0", "ONLINE", [], "")]);
  assert.equal(newest, "0.1.0");
  assert.deepEqual(
    rows.map((r) => [r.version, r.behind]),
    [
      ["0.2.0", true],
      ["0.1.0", false],
    ],
  );
});

test("a configured target is the newest, even when no nara runs it yet", () => {
  const { newest, rows, behind } = rollout([peer("home", "0.1.0"), peer("hall", "0.2.0")], { target: "0.3.0" });
  assert.equal(newest, "0.3.0");
  assert.deepEqual(
    rows.map((r) => r.behind),
    [true, true],
  );
  assert.equal(behind.length, 2);
});

test("OFFLINE naras leave the rollout and an unknown version is behind no one", () => {
  const { rows, behind } = rollout([peer("gone", "0.1.0", "OFFLINE"), peer("new", ""), peer("home", "0.2.0")]);
  assert.deepEqual(
    rows.map((r) => [r.version, r.names, !!r.unknown, r.behind]),
    [
      ["0.2.0", ["home"], false, false],
      ["", ["new"], true, false],
    ],
  );
  assert.deepEqual(behind, []);
});

test("the timeline holds the newest version changes first, as many as asked", () => {
  const change = (from, to, at) => ({ from, to, at });
  const { timeline } = rollout(
    [
      peer("a", "3", "ONLINE", [change("1", "2", "2026-01-01T00:00:00Z"), change("2", "3", "2026-01-03T00:00:00Z")]),
      peer("b", "2", "ONLINE", [change("1", "2", "2026-01-02T00:00:00Z")]),
    ],
    { timelineLength: 2 },
  );
  assert.deepEqual(
    timeline.map((c) => [c.name, c.to]),
    [
      ["a", "3"],
      ["b", "2"],
    ],
  );
});

test("a long list shows its first names and counts the rest", () => {
  assert.deepEqual(firstOf(["a", "b", "c"], 2), { shown: ["a", "b"], more: 1 });
  assert.deepEqual(firstOf(["a"], 2), { shown: ["a"], more: 0 });
});

test("a rollout of 10,000 naras counts every one of them", () => {
  const peers = Array.from({ length: 10000 }, (_, i) => peer(`n${i}`, i % 3 === 0 ? "0.9.0" : "0.10.0"));
  const { rows, behind } = rollout(peers);
  assert.equal(rows.reduce((sum, r) => sum + r.count, 0), 10000);
  assert.equal(behind.length, 3334);
});
