// The browser every test file drives the same way: Debian's Chromium (CHROMIUM, default
// /usr/bin/chromium) through playwright-core, one per test file, closed after the file's
// last test together with every nara and broker the harness started; pages that record
// their console errors; and the folder screenshots go to.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { stopAll } from "./harness.mjs";

export const artifacts = new URL("./artifacts/", import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });

/**
 * Registers the calling file's hooks: Chromium starts before its first test and stops,
 * with everything the harness started, after its last. Returns `openPage(options)`.
 */
export function chromiumForThisFile() {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await stopAll();
  });
  return (options = {}) => openPage(browser, options);
}

async function launch() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  // Fails here, with Chromium's own words, when it is missing or broken.
  execFileSync(executablePath, ["--version"]);
  return chromium.launch({
    executablePath,
    headless: true,
    // As root Chromium needs --no-sandbox; the rest keeps it off a network it cannot reach.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** A page that records console errors and uncaught exceptions. */
async function openPage(browser, options) {
  const page = await browser.newPage(options);
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return { page, errors };
}
