// Starts the real `lanyard serve` on a free port with a fresh data directory.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = process.env.LANYARD_BIN || join(ROOT, "target/debug/lanyard");
export const TOKEN = "browser-test-organizer-token";

export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), "lanyard-browser-"));
  const child = spawn(BIN, ["serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--admin-token", TOKEN], {
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
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((ok) => (child.exitCode !== null ? ok() : child.once("exit", ok)));
      rmSync(dataDir, { recursive: true, force: true });
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
