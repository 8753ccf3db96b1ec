// The web UI and the book in a real browser, against real naras and a real broker:
// what a person sees, live. Screenshots go to e2e/artifacts/.
import assert from "node:assert/strict";
import { test } from "node:test";
import { artifacts, chromiumForThisFile } from "./browser.mjs";
import { soulFile, startBroker, startNara, startOldRelease, status, stop } from "./harness.mjs";

const openPage = chromiumForThisFile();

test("the page loads without console errors and shows the nara's name and version", async () => {
  const nara = await startNara(["--name", "solo"]);
  const expected = await status(nara.url);
  const { page, errors } = await openPage();
  await page.goto(nara.url, { waitUntil: "networkidle" });
  assert.equal(await page.getByTestId("nara-name").textContent(), "solo");
  assert.equal(await page.getByTestId("nara-version").textContent(), expected.version);
  assert.equal(await page.getByTestId("plaza-state").textContent(), "alone");
  assert.match(await page.getByTestId("empty-state").textContent(), /runs alone/);
  // The command to copy keeps the name: pasted, it must not rename the nara.
  assert.equal(
    await page.getByTestId("empty-state").locator("code").textContent(),
    "nara --name solo --mqtt-url mqtt://broker.lan:1883 --soul-file /etc/nara/soul",
  );
  await page.screenshot({ path: `${artifacts}standalone.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a read-only nara alone on the plaza says new naras appear as they join, a Go nara at its next newspaper", async () => {
  const broker = await startBroker();
  const watcher = await startNara(["--name", "watcher", "--read-only", "--mqtt-url", broker.url]);
  const { page, errors } = await openPage();
  await page.goto(watcher.url);
  // Connected: a read-only nara's header says standby (it never speaks).
  await page.getByTestId("plaza-state").filter({ hasText: "standby" }).waitFor();
  const text = await page.getByTestId("empty-state").textContent();
  assert.match(text, /--read-only/);
  assert.match(text, /as soon as they join/);
  assert.match(text, /Go nara.*next newspaper/s);
  assert.doesNotMatch(text, /within a few seconds/);
  assert.deepEqual(errors, []);
  await page.close();
  await stop(watcher.child);
  await stop(broker.child);
});

test("naras joining appear without a reload, and one leaving turns OFFLINE", async () => {
  const broker = await startBroker();
  const plaza = (name) =>
    startNara(["--name", name, "--mqtt-url", broker.url, "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"]);
  const home = await plaza("home");
  const { page, errors } = await openPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(home.url);
  await page.getByTestId("plaza-state").filter({ hasText: "on the plaza" }).waitFor();

  const kitchen = await plaza("kitchen");
  const garage = await plaza("garage");
  for (const name of ["kitchen", "garage"]) {
    await page.locator(`tr[data-peer="${name}"][data-status="ONLINE"]`).waitFor({ timeout: 10000 });
  }
  // A nara is ONLINE from its hey_there; its version comes with its first newspaper.
  await page.getByTestId("version-summary").filter({ hasText: /3 naras/ }).waitFor({ timeout: 10000 });
  await page.screenshot({ path: `${artifacts}network.png`, fullPage: true });

  assert.equal(await stop(garage.child), 0);
  await page.locator('tr[data-peer="garage"][data-status="OFFLINE"]').waitFor({ timeout: 10000 });
  assert.match(await page.getByTestId("version-summary").textContent(), /2 naras/, "OFFLINE naras leave the count");
  assert.equal(await page.locator('tr[data-peer="kitchen"]').getAttribute("data-status"), "ONLINE");
  assert.deepEqual(errors, []);
  await page.close();
  await stop(kitchen.child);
});

test("a crashed nara reads as suspect, then missing, within seconds; started again, it counts a restart, and a third is flapping", async () => {
  const broker = await startBroker();
  const plaza = (name, ...args) =>
    startNara(["--name", name, "--mqtt-url", broker.url, "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s", ...args]);
  const home = await plaza("home");
  const soul = soulFile("shed");
  let shed = await plaza("shed", "--soul-file", soul);
  const { page, errors } = await openPage({ viewport: { width: 1100, height: 760 } });
  await page.goto(home.url);
  await page.locator('tr[data-peer="shed"][data-status="ONLINE"]').waitFor({ timeout: 10000 });
  // Killed: the broker publishes its will, and the page shows it SUSPECT with a word of
  // its own, then MISSING when nothing answers.
  await stop(shed.child, "SIGKILL");
  const suspect = page.locator('tr[data-peer="shed"][data-status="SUSPECT"]');
  await suspect.waitFor({ timeout: 10000 });
  assert.equal(await suspect.locator(".badge").textContent(), "suspect");
  await page.screenshot({ path: `${artifacts}suspect.png`, fullPage: true });
  await page.locator('tr[data-peer="shed"][data-status="MISSING"]').waitFor({ timeout: 10000 });
  assert.equal(await page.locator('tr[data-peer="home"]').getAttribute("data-status"), "ONLINE");
  assert.equal(await page.locator('tr[data-peer="shed"] td[data-restarts]').textContent(), "0");

  // Started again with its soul: one restart. Twice more: flapping, in words.
  shed = await plaza("shed", "--soul-file", soul);
  await page.locator('tr[data-peer="shed"][data-status="ONLINE"] td[data-restarts="1"]').waitFor({ timeout: 10000 });
  assert.equal(await page.getByTestId("flapping").count(), 0);
  for (const count of [2, 3]) {
    await stop(shed.child, "SIGKILL");
    shed = await plaza("shed", "--soul-file", soul);
    await page.locator(`tr[data-peer="shed"] td[data-restarts="${count}"]`).waitFor({ timeout: 10000 });
  }
  const flapping = page.locator('tr[data-peer="shed"] [data-testid="flapping"]');
  await flapping.waitFor({ timeout: 5000 });
  assert.equal(await flapping.textContent(), "flapping");
  assert.match(await page.locator('tr[data-peer="shed"] td[data-restarts]').getAttribute("title"), /^last restart /);
  assert.equal(await page.locator('tr[data-peer="home"] td[data-restarts]').textContent(), "0");
  await page.screenshot({ path: `${artifacts}flapping.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
  await stop(home.child);
  await stop(broker.child);
});

test("a rollout shows live: who is behind, then the handover, then the version change", async () => {
  const broker = await startBroker();
  const plaza = (args) =>
    startNara([...args, "--mqtt-url", broker.url, "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"]);
  const home = await plaza(["--name", "home"]);
  const expected = (await status(home.url)).version;
  await plaza(["--name", "kitchen"]);
  const soul = soulFile("hall");
  const old = startOldRelease(broker.url, soul, "hall", "0.0.9");

  const { page, errors } = await openPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(home.url);
  await page.locator('[data-testid="behind"] li[data-peer="hall"]').waitFor({ timeout: 10000 });
  assert.match(await page.locator('[data-version="0.0.9"]').textContent(), /1 nara.*behind.*hall/);
  assert.match(await page.locator(`[data-version="${expected}"]`).textContent(), /2 naras.*newest.*home, kitchen/);
  await page.screenshot({ path: `${artifacts}rollout-before.png`, fullPage: true });

  // The new release takes the soul over: the old one yields, the page follows.
  await plaza(["--name", "hall", "--soul-file", soul]);
  await old.yielded;
  await page.locator('[data-testid="version-timeline"] li[data-peer="hall"]').waitFor({ timeout: 10000 });
  assert.match(
    await page.getByTestId("version-timeline").textContent(),
    new RegExp(`hall 0\\.0\\.9 → ${expected.replaceAll(".", "\\.")}`),
  );
  assert.equal(await page.getByTestId("behind").count(), 0, "nobody is behind any more");
  assert.match(await page.locator(`[data-version="${expected}"]`).textContent(), /3 naras.*hall, home, kitchen/);
  assert.equal(await page.locator('tr[data-peer="hall"]').count(), 1, "one hall, not two");
  assert.equal(await page.locator('tr[data-peer="hall"]').getAttribute("data-status"), "ONLINE");
  assert.equal(
    await page.locator('tr[data-peer="hall"] td[data-restarts]').textContent(),
    "0",
    "a release taking over is no restart",
  );
  await page.screenshot({ path: `${artifacts}rollout-after.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a shared link opens the network filtered, a reload keeps it, and back and forward step through it", async () => {
  const broker = await startBroker();
  const plaza = (name) =>
    startNara(["--name", name, "--mqtt-url", broker.url, "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s"]);
  const home = await plaza("home");
  const version = (await status(home.url)).version;
  const kitchen = await plaza("kitchen");
  const garage = await plaza("garage");
  const seenAs = async (name, wanted) => {
    for (let tries = 0; tries < 200; tries++) {
      const peer = await (await fetch(`${home.url}/api/peers/${name}`)).json();
      if (peer.status === wanted && peer.version) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${name} never ${wanted} in home's view`);
  };
  await seenAs("kitchen", "ONLINE");
  await seenAs("garage", "ONLINE");
  assert.equal(await stop(garage.child), 0);
  await seenAs("garage", "OFFLINE");

  const { page, errors } = await openPage({ viewport: { width: 1100, height: 760 } });
  const rows = async () => page.locator("tr[data-peer]").evaluateAll((trs) => trs.map((tr) => tr.dataset.peer));
  await page.goto(`${home.url}/?status=offline`);
  await page.locator('tr[data-peer="garage"]').waitFor();
  assert.deepEqual(await rows(), ["garage"], "the link's filter applies from the first draw");
  assert.equal(await page.getByTestId("status-filter").inputValue(), "OFFLINE");
  assert.equal(await page.getByTestId("filter-json").getAttribute("href"), "/api/peers?status=offline");
  await page.screenshot({ path: `${artifacts}network-filtered.png`, fullPage: true });

  await page.reload();
  await page.locator('tr[data-peer="garage"]').waitFor();
  assert.deepEqual(await rows(), ["garage"], "a reload keeps the filter");

  await page.getByTestId("status-filter").selectOption("");
  await page.locator('tr[data-peer="kitchen"]').waitFor();
  assert.equal(new URL(page.url()).search, "", "no filter, nothing in the URL");
  assert.deepEqual(await rows(), ["home", "kitchen", "garage"]);
  await page.getByTestId("peer-filter").pressSequentially("kit", { delay: 20 });
  await page.getByTestId("version-filter").selectOption(version);
  assert.deepEqual(await rows(), ["kitchen"]);
  assert.equal(new URL(page.url()).search, `?q=kit&version=${version}`);

  await page.goBack();
  await page.waitForURL((url) => url.search === "?q=kit");
  assert.deepEqual(await rows(), ["kitchen"]);
  assert.equal(await page.getByTestId("version-filter").inputValue(), "");
  await page.goBack();
  await page.waitForURL((url) => url.search === "");
  assert.equal(await page.getByTestId("peer-filter").inputValue(), "", "the word typed was one step");
  await page.goBack();
  await page.waitForURL((url) => url.search === "?status=offline");
  assert.deepEqual(await rows(), ["garage"]);
  await page.goForward();
  await page.waitForURL((url) => url.search === "");
  assert.deepEqual(await rows(), ["home", "kitchen", "garage"]);

  // The same link in another tab shows the same naras.
  const { page: shared, errors: sharedErrors } = await openPage();
  await shared.goto(`${home.url}/?q=kit&version=${version}`);
  await shared.locator('tr[data-peer="kitchen"]').waitFor();
  assert.equal(await shared.locator("tr[data-peer]").count(), 1);
  assert.equal(await shared.getByTestId("peer-filter").inputValue(), "kit");
  assert.deepEqual([...errors, ...sharedErrors], []);
  await page.close();
  await shared.close();
  await stop(kitchen.child);
  await stop(home.child);
});

test("naras show their tags, the table filters by a tag and groups by a key, and the address keeps both", async () => {
  const broker = await startBroker();
  const plaza = (name, ...tags) =>
    startNara([
      "--name",
      name,
      "--mqtt-url",
      broker.url,
      "--plaza-announce-jitter",
      "0s",
      "--plaza-newspaper-interval",
      "1s",
      ...tags.flatMap((tag) => ["--tag", tag]),
    ]);
  const home = await plaza("home", "role=watch");
  const db = await plaza("db", "role=db", "site=lisbon");
  const web = await plaza("web", "role=web", "site=lisbon");
  const cache = await plaza("cache", "role=cache", "site=porto");
  for (const name of ["db", "web", "cache"]) {
    for (let tries = 0; ; tries++) {
      const peer = await (await fetch(`${home.url}/api/peers/${name}`)).json();
      if (peer.tags?.site) break;
      if (tries > 200) throw new Error(`${name}'s tags never reached home`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const { page, errors } = await openPage({ viewport: { width: 1300, height: 800 } });
  const rows = async () => page.locator("tr[data-peer]").evaluateAll((trs) => trs.map((tr) => tr.dataset.peer));
  await page.goto(`${home.url}/`);
  await page.locator('tr[data-peer="cache"] [data-tag="site:porto"]').waitFor();
  assert.equal(await page.locator('tr[data-peer="db"] [data-tag="role:db"]').textContent(), "role=db");

  await page.getByTestId("tag-filter").selectOption("site:lisbon");
  await page.waitForURL((url) => url.search === "?tag=site%3Alisbon");
  assert.deepEqual(await rows(), ["db", "web"]);
  assert.equal(await page.getByTestId("filter-json").getAttribute("href"), "/api/peers?tag=site%3Alisbon");
  const api = await (await fetch(`${home.url}/api/peers?tag=site%3Alisbon`)).json();
  assert.deepEqual(api.peers.map((p) => p.name), ["db", "web"], "the JSON link lists the same naras");

  await page.getByTestId("tag-filter").selectOption("");
  await page.getByTestId("group-by").selectOption("site");
  await page.waitForURL((url) => url.search === "?group=site");
  const groups = async () =>
    page.locator("tr.group, tr[data-peer]").evaluateAll((trs) => trs.map((tr) => tr.dataset.group ?? tr.dataset.peer));
  assert.deepEqual(await groups(), ["lisbon", "db", "web", "porto", "cache", "", "home"]);
  await page.screenshot({ path: `${artifacts}network-grouped.png`, fullPage: true });

  await page.reload();
  await page.locator("tr.group").first().waitFor();
  assert.deepEqual(await groups(), ["lisbon", "db", "web", "porto", "cache", "", "home"], "a reload keeps the grouping");
  await page.goBack();
  await page.waitForURL((url) => url.search === "");
  await page.goBack();
  await page.waitForURL((url) => url.search === "?tag=site%3Alisbon");
  assert.deepEqual(await rows(), ["db", "web"], "back steps to the tag filter");
  assert.deepEqual(errors, []);
  await page.close();
  for (const nara of [cache, web, db, home]) await stop(nara.child);
});

test("a soul minted for another name is named on the page, with the name to set", async () => {
  const nara = await startNara(["--name", "k8s-nara-6b7c9d8f5-abcde", "--soul-file", soulFile("k8s-nara")]);
  const { page, errors } = await openPage();
  await page.goto(nara.url, { waitUntil: "networkidle" });
  const banner = page.getByTestId("bond-advice");
  assert.match(await banner.textContent(), /minted for the name "k8s-nara".*NARA_NAME=k8s-nara/);
  await page.screenshot({ path: `${artifacts}bond-advice.png` });
  assert.deepEqual(errors, []);
  await page.close();
});

test("on a phone the network reads as cards, in dark mode too", async () => {
  const nara = await startNara(["--name", "pocket"]);
  const { page, errors } = await openPage({ viewport: { width: 390, height: 800 }, colorScheme: "dark" });
  await page.goto(nara.url, { waitUntil: "networkidle" });
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(background, "rgb(247, 245, 240)", "the dark palette applies");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to the network");
  await page.screenshot({ path: `${artifacts}phone-dark.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the book loads and its search finds a configuration flag", async () => {
  const nara = await startNara(["--name", "reader"]);
  const { page, errors } = await openPage();
  await page.goto(`${nara.url}/docs/`, { waitUntil: "networkidle" });
  assert.match(await page.title(), /nara/);
  await page.locator("#mdbook-search-toggle, #search-toggle").first().click();
  // The book's searcher listens for key presses, so type rather than fill.
  await page.locator("#mdbook-searchbar, #searchbar").first().pressSequentially("shutdown-grace", { delay: 20 });
  const results = page.locator("#mdbook-searchresults, #searchresults").first();
  await results.locator("a").first().waitFor({ timeout: 10000 });
  assert.match(await results.textContent(), /Configuration reference/);
  await page.screenshot({ path: `${artifacts}book-search.png` });
  assert.deepEqual(errors, []);
  await page.close();
});
