// The page while an attacker holds event streams it never reads, from an address of its
// own (127.0.0.2; the browser comes from 127.0.0.1): the page still shows the network
// within 5 s, live when nara caps the attacker per address, and by polling /api/peers
// (saying so) when the attacker holds every stream nara serves; then it goes back to
// the stream once there is room.
import assert from "node:assert/strict";
import { test } from "node:test";
import { artifacts, chromiumForThisFile } from "./browser.mjs";
import { holdStreams, startBroker, startNara } from "./harness.mjs";

const openPage = chromiumForThisFile();
const ATTACKER = "127.0.0.2";

/** A plaza of two naras, `home` started with `args`; resolves with home once it sees kitchen. */
async function plaza(args) {
  const broker = await startBroker();
  const start = (name, extra) =>
    startNara(["--name", name, "--mqtt-url", broker.url, "--plaza-announce-jitter", "0s", "--plaza-newspaper-interval", "1s", ...extra]);
  const home = await start("home", args);
  await start("kitchen", []);
  const deadline = Date.now() + 10000;
  while (!(await (await fetch(`${home.url}/api/peers`)).json()).peers.some((p) => p.name === "kitchen")) {
    if (Date.now() > deadline) throw new Error("home never heard kitchen");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { home, start };
}

test("64 idle streams from one address leave the page its live stream", async () => {
  const { home } = await plaza([]);
  const attack = await holdStreams(home.url, 64, ATTACKER);
  try {
    const { page, errors } = await openPage({ viewport: { width: 1100, height: 760 } });
    await page.goto(home.url);
    await page.locator('tr[data-peer="kitchen"]').waitFor({ timeout: 5000 });
    assert.ok(attack.statuses.includes(503), `the attacker was refused past its cap: ${attack.statuses.join(" ")}`);
    await page.getByTestId("plaza-state").filter({ hasText: "on the plaza" }).waitFor({ timeout: 5000 });
    assert.equal(await page.getByTestId("stream-note").count(), 0, "the page follows the stream, not a poll");
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    attack.close();
  }
});

test("when an attacker holds every stream the page polls, says so, and goes back to the stream", { timeout: 120000 }, async () => {
  const { home, start } = await plaza(["--http-max-event-streams-per-client", "64"]);
  const attack = await holdStreams(home.url, 64, ATTACKER);
  const { page } = await openPage({ viewport: { width: 1100, height: 760 } });
  try {
    assert.deepEqual([...new Set(attack.statuses)], [200], "the attacker holds all 64");
    await page.goto(home.url);
    await page.locator('tr[data-peer="kitchen"]').waitFor({ timeout: 5000 });
    const note = page.getByTestId("stream-note");
    await note.waitFor({ timeout: 5000 });
    assert.match(await note.textContent(), /every 10 s/);
    await page.screenshot({ path: `${artifacts}streams-polling.png` });
  } finally {
    attack.close();
  }
  // Room again: the page takes a stream at its next try, and follows the plaza live.
  await page.getByTestId("stream-note").waitFor({ state: "detached", timeout: 60000 });
  assert.equal(await page.getByTestId("plaza-state").textContent(), "on the plaza", "live again, not reconnecting");
  await start("garage", []);
  await page.locator('tr[data-peer="garage"]').waitFor({ timeout: 5000 });
  await page.close();
});
