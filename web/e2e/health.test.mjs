// The network table's host health columns in a real browser, against real naras: each
// nara's load, CPU, memory and descriptors filled in from its newspapers, kept fresh
// without an event, and a heading that sorts the table by its column.
import assert from "node:assert/strict";
import { test } from "node:test";
import { artifacts, chromiumForThisFile } from "./browser.mjs";
import { formatBytes } from "../src/health.js";
import { startBroker, startNara, stop } from "./harness.mjs";

const openPage = chromiumForThisFile();

test("each nara's host health shows in its row, and a heading sorts the table by it", async () => {
  const broker = await startBroker();
  const plaza = (name) =>
    startNara(["--name", name, "--mqtt-url", broker.url, "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"]);
  const home = await plaza("home");
  const naras = [await plaza("kitchen"), await plaza("garage")];
  const { page, errors } = await openPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(home.url);
  for (const name of ["home", "kitchen", "garage"]) {
    // Filled in from its newspaper (this nara's own from the one it sent).
    await page.locator(`tr[data-peer="${name}"] td[data-health="memory"]`).filter({ hasText: /MiB$/ }).waitFor({ timeout: 10000 });
    const cells = await page.locator(`tr[data-peer="${name}"] td[data-health]`).allTextContents();
    const [load, cpu, memory, fds] = cells;
    assert.match(load, /^\d+\.\d\d$/, `${name}: load per core`);
    assert.match(cpu, /^\d+(,\d{3})*\.\d %$/, `${name}: CPU`);
    assert.match(memory, /^\d+\.\d MiB$/, `${name}: RSS`);
    assert.match(fds, /^\d+$/, `${name}: descriptors`);
  }
  await page.screenshot({ path: `${artifacts}health.png`, fullPage: true });

  // A newspaper that changes only the health is no event: the page reads the list
  // again, and shows what it read.
  const refreshed = await page.waitForResponse((r) => new URL(r.url()).pathname === "/api/peers", { timeout: 20000 });
  const kitchen = (await refreshed.json()).peers.find((p) => p.name === "kitchen");
  await page
    .locator('tr[data-peer="kitchen"] td[data-health="memory"]')
    .filter({ hasText: formatBytes(kitchen.host.rss_bytes) })
    .waitFor({ timeout: 5000 });

  // Sorted by descriptors, heaviest first, then lightest first, then as before.
  const fdsHeading = page.locator('button[data-sort="fds"]');
  const order = async () => {
    const rows = await page.locator("tr[data-peer]").evaluateAll((trs) =>
      trs.map((tr) => [tr.dataset.peer, Number(tr.querySelector('td[data-health="fds"]').textContent.replace(/,/g, ""))]),
    );
    return rows;
  };
  await fdsHeading.click();
  assert.equal(await page.locator('th[aria-sort="descending"] button[data-sort="fds"]').count(), 1);
  const heaviest = (await order()).map(([, fds]) => fds);
  assert.deepEqual(heaviest, [...heaviest].sort((a, b) => b - a), "heaviest first");
  await fdsHeading.click();
  assert.equal(await page.locator('th[aria-sort="ascending"] button[data-sort="fds"]').count(), 1);
  const lightest = (await order()).map(([, fds]) => fds);
  assert.deepEqual(lightest, [...lightest].sort((a, b) => a - b), "lightest first");
  await fdsHeading.click();
  assert.equal((await order())[0][0], "home", "unsorted: this nara first again");
  assert.deepEqual(errors, []);
  await page.close();
  for (const nara of naras) await stop(nara.child);
  await stop(home.child);
  await stop(broker.child);
});
