// What the browser tests run against: the real nara binary (NARA_BIN) and a real
// mosquitto on free loopback ports (the browser itself is browser.mjs's). Everything
// started here is stopped by `stopAll()`.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const children = new Set();

export const naraBin = process.env.NARA_BIN ?? new URL("../../target/debug/nara", import.meta.url).pathname;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function waitForPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const socket = connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listened on ${port}`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

export async function startBroker() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "nara-e2e-broker-"));
  const conf = join(dir, "mosquitto.conf");
  // A crowd of thousands arrives faster than a debug build verifies it: queue, not drop.
  writeFileSync(conf, `persistence false\nuser root\nallow_anonymous true\nmax_queued_messages 100000\nlistener ${port} 127.0.0.1\n`);
  const program = existsSync("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
  const child = spawn(program, ["-c", conf], { stdio: "ignore" });
  children.add(child);
  await waitForPort(port);
  return { url: `mqtt://127.0.0.1:${port}`, child };
}

/** Starts nara with `args` and resolves once it logs "nara listening". */
export function startNara(args) {
  const child = spawn(naraBin, ["--http-addr", "127.0.0.1:0", "--log-format", "json", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH },
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nara ${args.join(" ")} did not start`)), 10000);
    createInterface({ input: child.stderr }).on("line", (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.message === "nara listening") {
          clearTimeout(timer);
          resolve({ url: `http://${entry.addr}`, child });
        }
      } catch {
        // not a JSON line; ignore
      }
    });
    child.on("exit", (code) => reject(new Error(`nara exited with ${code} before listening`)));
  });
}

/** A soul for `name` in a file, minted by the nara binary itself. */
export function soulFile(name) {
  const dir = mkdtempSync(join(tmpdir(), "nara-e2e-soul-"));
  const path = join(dir, `${name}.soul`);
  writeFileSync(path, execFileSync(naraBin, ["soul", "new", "--name", name]));
  return path;
}

/**
 * An older release of the nara `name` (the plaza_old_release example, built next to
 * NARA_BIN): it speaks for the soul in `soul` as VERSION until a newer process with
 * that soul appears, then yields. Resolves with its process and a promise that
 * resolves when it yields.
 */
export function startOldRelease(brokerUrl, soul, name, version) {
  const program = new URL("examples/plaza_old_release", `file://${naraBin.replace(/[^/]*$/, "")}`).pathname;
  const child = spawn(program, [brokerUrl, soul, name, version], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  const yielded = new Promise((resolve) => {
    createInterface({ input: child.stdout }).on("line", (line) => line === "yielded" && resolve());
  });
  return { child, yielded };
}

/**
 * A crowd of `count` naras on the plaza (the plaza_crowd example, built next to
 * NARA_BIN), churning `rounds` times. Resolves with its lines so far once it exits.
 */
export function runCrowd(brokerUrl, count, rounds) {
  const program = new URL("examples/plaza_crowd", `file://${naraBin.replace(/[^/]*$/, "")}`).pathname;
  const child = spawn(program, [brokerUrl, String(count), String(rounds)], { stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  const lines = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => {
      children.delete(child);
      if (code === 0) resolve(lines);
      else reject(new Error(`plaza_crowd exited with ${code}`));
    });
  });
}

/**
 * Opens `count` /api/events streams on the nara at `url` from the local address `from`
 * (any 127.x.y.z is loopback), one after the other, and never reads past each status
 * line: a paused socket lets its kernel buffer fill. Resolves with the statuses and a
 * `close()` that drops every connection.
 */
export async function holdStreams(url, count, from) {
  const { hostname, port } = new URL(url);
  const sockets = [];
  const statuses = [];
  for (let i = 0; i < count; i++) {
    const status = await new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), localAddress: from }, () => {
        socket.write("GET /api/events HTTP/1.1\r\nHost: attacker\r\n\r\n");
      });
      sockets.push(socket);
      socket.once("error", reject);
      socket.once("data", (head) => {
        socket.pause();
        resolve(Number(head.toString("latin1").slice(9, 12)));
      });
    });
    statuses.push(status);
  }
  return { statuses, close: () => sockets.forEach((s) => s.destroy()) };
}

export function stop(child, signal = "SIGTERM") {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.on("exit", (code) => {
      children.delete(child);
      resolve(code);
    });
    child.kill(signal);
  });
}

export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c, "SIGKILL")));
}

/** The nara's /api/status, parsed. */
export async function status(url) {
  return (await fetch(`${url}/api/status`)).json();
}
