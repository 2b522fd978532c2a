// Starts the real `lanyard serve` on a free port with a fresh data directory.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = process.env.LANYARD_BIN || join(ROOT, "target/debug/lanyard");
export const TOKEN = "browser-test-organizer-token";

/** Runs `lanyard serve` on `addr` until it says where it listens. */
async function spawnServe(addr, dataDir, extraArgs = []) {
  const child = spawn(BIN, ["serve", "--addr", addr, "--data-dir", dataDir, "--admin-token", TOKEN, ...extraArgs], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("lanyard serve did not start in 20 s")), 20000);
    child.once("exit", (code) => fail(new Error(`lanyard serve exited with ${code}`)));
    lines.on("line", (line) => {
      const m = line.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  return { child, url };
}

/** Stops the server this test started, by its own process handle. */
async function stopChild(child) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
}

/** `extraArgs` go to `lanyard serve` (`--rate-limit 0` for a benchmark, say). */
export async function startServer(extraArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "lanyard-browser-"));
  let { child, url } = await spawnServe("127.0.0.1:0", dataDir, extraArgs);
  return {
    url,
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
    /** Stops the server, keeping its data (the network is "unplugged"). */
    async pause() {
      await stopChild(child);
    },
    /** Starts it again on the same address with the same data. */
    async resume() {
      ({ child } = await spawnServe(url.replace("http://", ""), dataDir, extraArgs));
    },
    async organizer(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async register(body) {
      const res = await fetch(`${url}/api/registrations`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async list(query = "") {
      const res = await fetch(`${url}/api/registrations?limit=100${query}`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      return res.json();
    },
  };
}
