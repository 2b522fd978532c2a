// The conference's own look, on a phone-sized screen: its logo, title and
// dates above the sign-up form, its accent colour on the sign-up page, the
// attendee's page and the desk, and the badge brought into view after
// signing up.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { PNG } from "pngjs";
import { startServer } from "./server.mjs";

const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ACCENT = "rgb(26, 115, 232)";
const PHONE = { viewport: { width: 390, height: 700 }, locale: "en-US", isMobile: true, hasTouch: true };

let dir;
let server;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "lanyard-brand-"));
  const logo = new PNG({ width: 60, height: 20 });
  logo.data.fill(0x40);
  writeFileSync(join(dir, "logo.png"), PNG.sync.write(logo));
  writeFileSync(
    join(dir, "event.toml"),
    [
      "[[conference]]",
      'id = "devfest"',
      'title = "DevFest Seoul"',
      'accent = "#1a73e8"',
      'logo = "logo.png"',
      'subtitle = "COEX Hall B"',
      'starts = "2026-12-05"',
      'ends = "2026-12-06"',
    ].join("\n"),
  );
  server = await startServer(["--config", join(dir, "event.toml")]);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const headerColour = (page) => page.evaluate(() => getComputedStyle(document.querySelector("header.top")).borderBottomColor);

test("the sign-up shows the conference's logo, title and dates, and its colour follows to /me and the desk", async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.url);
  await page.locator("#conf-head").waitFor({ state: "visible" });
  assert.equal(await page.textContent("#conf-title"), "DevFest Seoul");
  assert.match(await page.textContent("#conf-when"), /^December 5\D+6, 2026 · COEX Hall B$/);
  await page.waitForFunction(() => document.getElementById("conf-logo").naturalWidth === 60);
  assert.equal(await page.getAttribute("#conf-logo", "alt"), "DevFest Seoul");
  assert.equal(await headerColour(page), ACCENT);

  // Signed up on a phone: the badge (and the link to the attendee's page)
  // comes into view below the form.
  await page.fill("#f-user_id", "brand.kim");
  await page.fill("#f-user_name", "Brand Kim");
  await page.fill("#f-phone_number", "010-5555-6666");
  await page.click("#submit");
  await page.locator("#badge-img").waitFor({ state: "visible", timeout: 20000 });
  await page.waitForFunction(() => {
    const box = document.getElementById("badge-card").getBoundingClientRect();
    return box.top >= -1 && box.top < window.innerHeight / 2;
  }, null, { timeout: 5000 });

  const mine = await page.getAttribute("#my-page", "href");
  await page.goto(new URL(mine, server.url).href);
  await page.locator("#me").waitFor({ state: "visible" });
  assert.equal(await headerColour(page), ACCENT);

  const desk = await server.organizer("POST", "/api/desks", { name: "Brand door" });
  await page.goto(`${server.url}/desk`);
  await page.fill("#f-token", desk.body.token);
  await page.click("#token-form button[type=submit]");
  await page.locator("#desk").waitFor({ state: "visible" });
  await page.waitForFunction((accent) => getComputedStyle(document.querySelector("header.top")).borderBottomColor === accent, ACCENT);
  assert.deepEqual(errors, []);
  await context.close();
});
