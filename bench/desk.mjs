// The desk page's own figures, in Debian's Chromium against the release
// `lanyard serve` on loopback (rate limit off):
//   1. replaying an offline queue of 1 000 scans (each a different
//      registration) from the moment the desk opens until the queue is empty;
//   2. camera scan to answer shown: 20 different badges shown in turn to
//      Chromium's fake camera, one second each, timed by the page from the
//      frame it grabs to the answer on screen.
// usage: node bench/desk.mjs   (after `cargo build --release`; run from the
// repository root with tests/browser's packages installed: `npm ci` there)
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
process.env.LANYARD_BIN ||= join(ROOT, "target/release/lanyard");
const require = createRequire(join(ROOT, "tests/browser/package.json"));
const { chromium } = require("playwright-core");
const { startServer } = await import("../tests/browser/server.mjs");
const { y4mOf } = await import("../tests/browser/video.mjs");

const CONFERENCE = "Serverless web project";
const ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];
const server = await startServer(["--rate-limit", "0"]);
const dir = mkdtempSync(join(tmpdir(), "lanyard-desk-bench-"));
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

try {
  const desk = (await server.organizer("POST", "/api/desks", { name: "Bench" })).body.token;
  const people = [];
  for (let i = 0; i < 1000; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        server.register({ type: CONFERENCE, user_id: `bench${i + j}`, user_name: `Bench ${i + j}`, phone_number: "010-1234-5678" }),
      ),
    );
    people.push(...batch.map((r) => r.body));
  }

  // 1. The offline queue.
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ARGS });
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.url}/desk`);
  const queue = people.map((p, i) => ({ code: p.checkin_code, nonce: `bench-${i}` }));
  await page.evaluate((q) => localStorage.setItem("lanyard.deskQueue", JSON.stringify(q)), queue);
  await page.fill("#f-token", desk);
  const t0 = Date.now();
  await page.click("#token-form button[type=submit]");
  await page.waitForFunction(() => localStorage.getItem("lanyard.deskQueue") === "[]", null, { timeout: 120000, polling: 10 });
  const replayMs = Date.now() - t0;
  const stats = (await server.organizer("GET", "/api/checkins/stats")).body.conferences[0];
  console.log(`offline queue: ${queue.length} scans replayed in ${replayMs} ms; ${stats.checked_in} checked in`);
  await browser.close();

  // 2. Camera scans.
  const pngs = [];
  for (const p of people.slice(0, 20)) {
    const url = p.badge.url;
    let ready;
    for (let i = 0; i < 200 && !ready; i++) {
      const body = await (await fetch(`${server.url}${url}`)).json();
      if (body.status === "ready") ready = body;
      else await new Promise((r) => setTimeout(r, 100));
    }
    pngs.push(await (await fetch(`${server.url}${ready.png}`)).arrayBuffer());
  }
  const video = join(dir, "badges.y4m");
  writeFileSync(video, y4mOf(pngs, 10));
  const camera = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [...ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", `--use-file-for-fake-video-capture=${video}`],
  });
  const cam = await (await camera.newContext({ permissions: ["camera"] })).newPage();
  await cam.goto(`${server.url}/desk`);
  await cam.fill("#f-token", desk);
  await cam.click("#token-form button[type=submit]");
  await cam.locator("#desk").waitFor({ state: "visible" });
  await cam.click("#camera-toggle");
  await cam.waitForFunction(() => window.lanyardDesk.cameraTimings.length >= 20, null, { timeout: 90000 });
  const timings = await cam.evaluate(() => window.lanyardDesk.cameraTimings);
  console.log(
    `camera: ${timings.length} scans, frame grabbed to answer shown: p50 ${percentile(timings, 50).toFixed(0)} ms, ` +
      `p95 ${percentile(timings, 95).toFixed(0)} ms, max ${Math.max(...timings).toFixed(0)} ms`,
  );
  await camera.close();
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
