// The network table's filter in the URL: read from a shared link, written back without
// losing other parameters, and entered in the history a step per choice, not per letter.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NO_FILTER, apiLink, historyStep, readFilter, sameFilter, writeFilter } from "../src/filterurl.js";

test("a shared link's filter is read, a status in any case", () => {
  assert.deepEqual(readFilter("?status=missing&version=0.2.0&q=kit"), { ...NO_FILTER, status: "MISSING", version: "0.2.0", query: "kit" });
  assert.deepEqual(readFilter("status=Online"), { ...NO_FILTER, status: "ONLINE" });
  assert.deepEqual(readFilter("?tag=role:db&group=site"), { ...NO_FILTER, tag: "role:db", group: "site" });
  assert.deepEqual(readFilter(""), NO_FILTER);
  assert.deepEqual(readFilter("?q=kitchen+garage"), { ...NO_FILTER, query: "kitchen garage" }, "+ is a space, as forms write it");
});

test("an unknown status in a link opens the page on every nara", () => {
  assert.equal(readFilter("?status=sleepy").status, "");
  assert.equal(readFilter("?status=online,missing").status, "", "the page filters on one status");
});

test("a filter is written as short as it can be, and read back the same", () => {
  assert.equal(writeFilter(NO_FILTER), "");
  assert.equal(writeFilter({ status: "MISSING", version: "", query: "" }), "?status=missing");
  const filter = { status: "OFFLINE", version: "0.10.0-rc.1", tag: "url:a:b", group: "site", query: "kitchen & hall" };
  const written = writeFilter(filter);
  assert.equal(written, "?status=offline&version=0.10.0-rc.1&tag=url%3Aa%3Ab&group=site&q=kitchen+%26+hall");
  assert.deepEqual(readFilter(written), filter);
});

test("writing a filter keeps the URL's other parameters and drops the cleared ones", () => {
  assert.equal(writeFilter({ ...NO_FILTER, query: "k" }, "?theme=dark&status=missing"), "?theme=dark&q=k");
  assert.equal(writeFilter(NO_FILTER, "?status=missing&version=1&q=x"), "");
});

test("each choice of status or version is a step back; a word typed is one step", () => {
  const start = NO_FILTER;
  const missing = { ...start, status: "MISSING" };
  assert.deepEqual(historyStep(start, missing, false), { step: "push", typing: false });
  assert.deepEqual(historyStep(missing, missing, false), { step: "none", typing: false });
  let typing = false;
  const steps = [];
  let before = missing;
  for (const query of ["k", "ki", "kit"]) {
    const after = { ...before, query };
    const decided = historyStep(before, after, typing);
    steps.push(decided.step);
    typing = decided.typing;
    before = after;
  }
  assert.deepEqual(steps, ["push", "replace", "replace"], "the first letter makes the step, the rest amend it");
  const version = historyStep(before, { ...before, version: "0.2.0" }, typing);
  assert.deepEqual(version, { step: "push", typing: false }, "choosing a version ends the word");
  assert.equal(historyStep(before, { ...before, query: "kitc" }, false).step, "push", "typing again after a pause is a new step");
});

test("choosing a tag or a group is a step back of its own", () => {
  const before = { ...NO_FILTER, query: "kit" };
  assert.deepEqual(historyStep(before, { ...before, tag: "role:db" }, true), { step: "push", typing: false });
  assert.deepEqual(historyStep(before, { ...before, group: "role" }, true), { step: "push", typing: false });
});

test("the JSON link asks the API for what it can filter: status, version and tag", () => {
  assert.equal(apiLink(NO_FILTER), "/api/peers");
  assert.equal(apiLink({ status: "MISSING", version: "0.2.0", query: "kit" }), "/api/peers?status=missing&version=0.2.0");
  assert.equal(apiLink({ ...NO_FILTER, tag: "role:db", group: "site", query: "kit" }), "/api/peers?tag=role%3Adb");
  assert.ok(sameFilter(readFilter("?status=MISSING"), { status: "MISSING", version: "", query: "" }));
});
