// Tags in the network table: the filter reads `key:value` or `key` as /api/peers does,
// the choices offered come from the naras in view, and grouping keeps each group
// together in the table's own order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { byGroup, groupSizes, keepsTag, parseTag, tagKeysOf, tagsOf } from "../src/tags.js";
import { byStatusThenName, pageOf } from "../src/peerview.js";

const peer = (name, tags, status = "ONLINE") => ({ name, status, version: "0.2.0", tags });
const db = peer("db", { role: "db", site: "lisbon" });
const web = peer("web", { role: "web", site: "lisbon" });
const cache = peer("cache", { role: "cache", site: "porto" }, "MISSING");
const go = peer("go", {});
const old = { name: "old", status: "ONLINE", version: "0.1.0" };

test("a tag filter is key:value, or a key alone for any value, as the API reads it", () => {
  assert.deepEqual(parseTag("role:db"), { key: "role", value: "db" });
  assert.deepEqual(parseTag("url:a:b"), { key: "url", value: "a:b" }, "a value may hold a colon");
  assert.deepEqual(parseTag("role"), { key: "role", value: null });
  assert.equal(parseTag(" "), null);
  assert.deepEqual(
    [db, web, cache, go, old].filter((p) => keepsTag(p, "role:db")).map((p) => p.name),
    ["db"],
  );
  assert.deepEqual(
    [db, web, cache, go, old].filter((p) => keepsTag(p, "site")).map((p) => p.name),
    ["db", "web", "cache"],
  );
  assert.equal([db, go, old].filter((p) => keepsTag(p, "")).length, 3, "no filter keeps every nara, tagged or not");
});

test("the choices come from the naras in view, with counts, and a shared link's tag stays", () => {
  assert.deepEqual(tagsOf([db, web, cache, go, old]), [
    { tag: "role:cache", count: 1 },
    { tag: "role:db", count: 1 },
    { tag: "role:web", count: 1 },
    { tag: "site:lisbon", count: 2 },
    { tag: "site:porto", count: 1 },
  ]);
  assert.deepEqual(tagsOf([go], "role:db"), [{ tag: "role:db", count: 0 }]);
  assert.deepEqual(tagKeysOf([db, go, old]), ["role", "site"]);
  assert.deepEqual(tagKeysOf([go], "zone"), ["zone"]);
});

test("grouping by a key keeps each group together, those without it last", () => {
  const order = byGroup("site", byStatusThenName);
  assert.deepEqual(
    [go, cache, web, db].sort(order).map((p) => p.name),
    ["db", "web", "cache", "go"],
  );
  assert.deepEqual([...groupSizes([db, web, cache, go], "site")], [["lisbon", 2], ["porto", 1], ["", 1]]);
  const { rows, total, groups } = pageOf([go, cache, web, db, old], { tag: "site", group: "role" });
  assert.deepEqual(rows.map((p) => p.name), ["cache", "db", "web"]);
  assert.equal(total, 3);
  assert.deepEqual([...groups], [["cache", 1], ["db", 1], ["web", 1]]);
});
