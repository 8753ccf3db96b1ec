// The page on a crowded plaza: thousands of naras show a page at a time, and a burst
// of events costs at most one /api/status request a second. Screenshot:
// artifacts/crowd.png. CROWD (default 2,000, which a debug build takes in seconds) sets
// the size; the book's screenshot is of CROWD=10000 against the release binary.
import assert from "node:assert/strict";
import { test } from "node:test";
import { artifacts, chromiumForThisFile } from "./browser.mjs";
import { runCrowd, startBroker, startNara, status } from "./harness.mjs";

const openPage = chromiumForThisFile();
const CROWD = Number(process.env.CROWD ?? 2000);
const BURST = Math.min(3000, CROWD);
const fmt = (n) => n.toLocaleString("en");
async function online(url) {
  return (await status(url)).plaza.peers.online;
}

/** How many plaza messages of `kind` nara accepted so far. */
async function accepted(url, kind) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`nara_plaza_messages_total{kind="${kind}",result="accepted"}`));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function until(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}, in vain`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test("a crowd of naras shows a page at a time, and a churning plaza costs at most one status request a second", { timeout: 300000 }, async (t) => {
  const broker = await startBroker();
  const home = await startNara([
    "--name",
    "home",
    "--mqtt-url",
    broker.url,
    "--plaza-announce-jitter",
    "0s",
    "--plaza-max-peers",
    String(CROWD + 1),
  ]);
  await runCrowd(broker.url, CROWD, 0);
  await until(`${CROWD} naras ONLINE in home's view`, 240000, async () => (await online(home.url)) === CROWD + 1);

  const { page, errors } = await openPage({ viewport: { width: 1100, height: 1300 } });
  const statusRequests = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/status") statusRequests.push(Date.now());
  });
  const opened = Date.now();
  await page.goto(home.url);
  await page.getByTestId("page-range").filter({ hasText: `1–100 of ${fmt(CROWD + 1)}` }).waitFor({ timeout: 30000 });
  t.diagnostic(`the network showed ${Date.now() - opened} ms after the page was opened`);
  assert.equal(await page.locator('[data-testid="peers"] tbody tr').count(), 100, "one page of 100 rows");
  // Every third nara of the crowd runs 0.9.0, the rest 0.10.0 (and this one its own).
  const newest = CROWD - Math.ceil(CROWD / 3);
  assert.match(
    await page.getByTestId("version-summary").textContent(),
    new RegExp(`${fmt(newest)} naras.*newest.*and ${fmt(newest - 12)} more`),
  );
  await page.screenshot({ path: `${artifacts}crowd.png`, fullPage: false });

  await page.getByTestId("peer-filter").fill("crowd-00042");
  await page.locator('tr[data-peer="crowd-00042"]').waitFor({ timeout: 10000 });
  assert.equal(await page.locator('[data-testid="peers"] tbody tr').count(), 1);
  await page.getByTestId("peer-filter").fill("");

  // A burst: up to 3,000 naras leave and come back, twice as many events on the stream.
  const before = statusRequests.length;
  const burstStarted = Date.now();
  await runCrowd(broker.url, BURST, 1);
  await until("the burst taken in", 240000, async () => (await accepted(home.url, "hey-there")) >= BURST);
  await page.getByTestId("page-range").filter({ hasText: `1–100 of ${fmt(CROWD + 1)}` }).waitFor({ timeout: 30000 });
  // The last events' status request may still be due.
  await new Promise((r) => setTimeout(r, 1500));
  const seconds = (Date.now() - burstStarted) / 1000;
  const requests = statusRequests.length - before;
  t.diagnostic(`${requests} /api/status requests in ${seconds.toFixed(1)} s of churn`);
  assert.ok(requests >= 1, "the page did follow the changes");
  assert.ok(requests <= Math.ceil(seconds) + 1, `${requests} status requests in ${seconds.toFixed(1)} s`);
  for (let i = 1; i < statusRequests.length; i++) {
    // The page spaces its fetches a second apart (web/test/throttle.test.mjs holds the
    // exact spacing); here a busy page may send one a little late, never two at once.
    const times = statusRequests.map((t) => t - opened).join(", ");
    assert.ok(statusRequests[i] - statusRequests[i - 1] >= 500, `two status requests close together: ${times} ms`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});
