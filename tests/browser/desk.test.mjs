// The check-in desk (/desk) in a real browser (Debian's Chromium through
// playwright-core) against the real server: a badge shown to Chromium's fake
// camera, a keyboard-wedge scanner, typed codes, the offline queue of two
// desks across a server restart, a walk-in, and axe.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { startServer } from "./server.mjs";
import { y4mOf } from "./video.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const DOCS = resolve(import.meta.dirname, "../../docs");
const CONFERENCE = "Serverless web project";
const PHONE = "010-7777-8888";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function createDesk(name) {
  const res = await server.organizer("POST", "/api/desks", { name });
  assert.equal(res.status, 201);
  return res.body.token;
}

async function person(userId, name, extra = {}) {
  const res = await server.register({ type: CONFERENCE, user_id: userId, user_name: name, phone_number: PHONE, company_name: "Desk Co", ...extra });
  assert.equal(res.status, 201);
  return res.body;
}

async function registrationOf(userId) {
  const res = await server.organizer("GET", `/api/registrations/${encodeURIComponent(userId)}/${encodeURIComponent(CONFERENCE)}`);
  return res.body;
}

async function openDesk(token, options = {}, onBrowser = browser) {
  const context = await onBrowser.newContext({ locale: "en-US", ...options });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.url}/desk`);
  await page.fill("#f-token", token);
  await page.click("#token-form button[type=submit]");
  await page.locator("#desk").waitFor({ state: "visible" });
  return { page, context, errors };
}

/** Waits for the result box to show `kind` (and `text`, when given: a scan
 * right after another of the same kind must not be read too early). */
async function resultOf(page, kind, text) {
  await page.waitForFunction(
    ([k, t]) => {
      const box = document.getElementById("result");
      return box.classList.contains(k) && (t === null || document.getElementById("result-main").textContent === t);
    },
    [kind, text ?? null],
    { timeout: 15000 },
  );
  return page.textContent("#result-main");
}

async function waitForBadge(url) {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${server.url}${url}`);
    const body = await res.json();
    if (body.status === "ready") return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`badge ${url} not ready`);
}

describe("desk", () => {
  let doorA;
  let doorB;

  before(async () => {
    doorA = await createDesk("Door A");
    doorB = await createDesk("Door B");
  });

  test("a wrong token is refused and the desk stays closed", async () => {
    const context = await browser.newContext({ locale: "en-US" });
    const page = await context.newPage();
    await page.goto(`${server.url}/desk`);
    await page.fill("#f-token", "desk_not-a-real-token");
    await page.click("#token-form button[type=submit]");
    await page.waitForFunction(() => document.getElementById("e-token").textContent.length > 0);
    assert.equal(await page.isVisible("#desk"), false);
    await context.close();
  });

  test("a scanner's keystrokes, a typed code, a duplicate and an unknown code", async () => {
    const ann = await person("desk.ann", "Ann Scanner");
    const bob = await person("desk.bob", "Bob Typist");
    const { page, context, errors } = await openDesk(doorA);
    assert.equal(await page.textContent("#desk-name"), "Door A");
    // A keyboard-wedge scanner types into whatever has focus, then Enter.
    assert.equal(await page.evaluate(() => document.activeElement.id), "f-scan");
    await page.keyboard.type(ann.checkin_code);
    await page.keyboard.press("Enter");
    assert.equal(await resultOf(page, "ok"), "Welcome, Ann Scanner");
    assert.equal(await page.getAttribute("#result", "aria-live"), "assertive");
    assert.equal(await page.evaluate(() => document.activeElement.id), "f-scan", "the field keeps the focus");
    // Typed by hand, in lower case with spaces.
    await page.keyboard.type(bob.checkin_code.toLowerCase().replaceAll("-", " "));
    await page.keyboard.press("Enter");
    assert.equal(await resultOf(page, "ok", "Welcome, Bob Typist"), "Welcome, Bob Typist");
    // The same badge again: amber, with when and where.
    await page.keyboard.type(ann.checkin_code);
    await page.keyboard.press("Enter");
    const already = await resultOf(page, "warn");
    assert.match(already, /^Ann Scanner already checked in at .+ at Door A$/);
    // Unknown codes and markup: red, shown as text.
    for (const code of ["ZZZZ-ZZZZ-ZZZZ-ZZZZ", `<img src=x onerror="window.__pwned=1">`]) {
      await page.evaluate(() => document.getElementById("result").classList.remove("bad"));
      await page.keyboard.type(code);
      await page.keyboard.press("Enter");
      assert.equal(await resultOf(page, "bad"), "Unknown code");
    }
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.locator("#result img").count(), 0);
    assert.ok(!(await page.textContent("body")).includes(PHONE), "desks never see phone numbers");
    assert.equal((await registrationOf("desk.ann")).checked_in.desk, "Door A");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a scanner typing a vCard badge line by line checks its person in once", async () => {
    const eve = await person("desk.eve", "Eve Contact", { contact_on_badge: true });
    const { page, context, errors } = await openDesk(doorA);
    // What a vCard badge's QR holds (the UID carries the check-in code),
    // typed as a keyboard-wedge scanner types it: each line then Enter.
    const lines = ["BEGIN:VCARD", "VERSION:3.0", "FN:Eve Contact", "ORG:Desk Co", `TEL:${PHONE}`, `UID:urn:lanyard:checkin:${eve.checkin_code}`, "END:VCARD"];
    for (const line of lines) {
      await page.keyboard.type(line);
      await page.keyboard.press("Enter");
    }
    assert.equal(await resultOf(page, "ok"), "Welcome, Eve Contact");
    // No line of it was sent on its own: nothing red followed.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await page.textContent("#result-main"), "Welcome, Eve Contact");
    assert.equal((await registrationOf("desk.eve")).checked_in.desk, "Door A");
    // A scanner that leaves out END:VCARD: the pause ends the scan.
    for (const line of lines.slice(0, -1)) {
      await page.keyboard.type(line);
      await page.keyboard.press("Enter");
    }
    assert.match(await resultOf(page, "warn"), /^Eve Contact already checked in/);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("search by name checks the person in", async () => {
    await person("desk.cho", "Cho Searchable");
    const { page, context } = await openDesk(doorB);
    await page.fill("#f-search", "searchable");
    await page.click("#search-form button[type=submit]");
    const button = page.locator("#found button", { hasText: "Check in" });
    await button.waitFor();
    assert.ok(!(await page.textContent("#found")).includes(PHONE));
    await button.click();
    assert.equal(await resultOf(page, "ok"), "Welcome, Cho Searchable");
    assert.equal((await registrationOf("desk.cho")).checked_in.desk, "Door B");
    await context.close();
  });

  test("a walk-in is registered at the desk and checked in", async () => {
    const { page, context } = await openDesk(doorA);
    await page.selectOption("#w-type", CONFERENCE);
    await page.fill("#w-user_id", "walk.in");
    await page.fill("#w-user_name", "Walk In");
    await page.fill("#w-phone_number", "010-9999-0000");
    await page.click("#walkin button[type=submit]");
    assert.equal(await resultOf(page, "ok"), "Welcome, Walk In");
    const stored = await registrationOf("walk.in");
    assert.equal(stored.checked_in.desk, "Door A");
    assert.equal(stored.contact_on_badge, false);
    assert.equal(await page.isDisabled("#print-last"), false, "its badge can be printed");
    // Printing fetches the badge with the desk's token (the desk never holds
    // the attendee's badge link) once it is rendered.
    await page.evaluate(() => { window.print = () => { window.printed = true; }; });
    await page.click("#print-last");
    await page.waitForFunction(() => window.printed === true, null, { timeout: 20000 });
    assert.match(await page.getAttribute("#print-img", "src"), /^data:image\/png;base64,/);
    await context.close();
  });

  test("two desks keep scanning while the server is down and replay once, counted once", async () => {
    const people = [];
    for (const n of [1, 2, 3]) people.push(await person(`offline.${n}`, `Offline ${n}`));
    const a = await openDesk(doorA);
    const b = await openDesk(doorB);
    await server.pause();
    const scan = async (page, code) => {
      await page.fill("#f-scan", code);
      await page.press("#f-scan", "Enter");
    };
    await scan(a.page, people[0].checkin_code);
    await resultOf(a.page, "queued");
    await scan(a.page, people[1].checkin_code);
    await scan(b.page, people[1].checkin_code);
    await resultOf(b.page, "queued");
    await scan(b.page, people[2].checkin_code);
    await a.page.waitForFunction(() => document.getElementById("queue").textContent === "2 waiting to send");
    await b.page.waitForFunction(() => document.getElementById("queue").textContent === "2 waiting to send");
    // Each kept scan is listed with the time it was taken, waiting.
    const kept = (page) => page.$$eval("#kept-list li", (lis) => lis.map((li) => li.textContent));
    assert.equal((await kept(a.page)).length, 2);
    assert.ok((await kept(a.page)).every((text) => text.includes("waiting to send")), String(await kept(a.page)));
    // Sent a while later: the check-ins keep the time they were taken.
    const scannedBy = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    await server.resume();
    for (const desk of [a, b]) {
      await desk.page.waitForFunction(() => document.getElementById("queue").textContent === "", null, { timeout: 20000 });
      assert.equal(await desk.page.evaluate(() => localStorage.getItem("lanyard.deskQueue")), "[]");
      // The banner no longer says scans are waiting; the list names whom they checked in.
      await resultOf(desk.page, "idle", "Saved scans sent. Ready to scan");
    }
    await a.page.waitForFunction(() => [...document.querySelectorAll("#kept-list li")].some((li) => li.textContent.includes("Offline 1 — checked in")));
    assert.ok(Date.parse((await registrationOf("offline.1")).checked_in.at) <= scannedBy, "dated when scanned, not when sent");
    for (const p of people) assert.ok((await registrationOf(p.user_id)).checked_in, `${p.user_id} is checked in`);
    assert.equal((await registrationOf("offline.1")).checked_in.desk, "Door A");
    assert.equal((await registrationOf("offline.3")).checked_in.desk, "Door B");
    // Replayed again (a desk that did not hear the answer): nothing changes.
    const before = (await server.organizer("GET", "/api/checkins/stats")).body;
    await a.page.evaluate((code) => {
      localStorage.setItem("lanyard.deskQueue", JSON.stringify([{ code, nonce: "replayed-once-more" }]));
    }, people[0].checkin_code);
    await a.page.waitForFunction(() => localStorage.getItem("lanyard.deskQueue") === "[]", null, { timeout: 10000 });
    const afterStats = (await server.organizer("GET", "/api/checkins/stats")).body;
    assert.deepEqual(afterStats, before);
    await a.context.close();
    await b.context.close();
  });

  test("a desk reloaded while the server is down opens from its kept copy and keeps scanning", async () => {
    const p = await person("reloaded.1", "Reloaded One");
    const { page, context, errors } = await openDesk(doorB);
    // The service worker has the desk's page once it controls it.
    await page.waitForFunction(async () => Boolean((await navigator.serviceWorker.getRegistration("/desk"))?.active), null, { timeout: 15000 });
    await page.reload();
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15000 });
    await page.locator("#desk").waitFor({ state: "visible" });
    await server.pause();
    try {
      await page.reload();
      await page.locator("#desk").waitFor({ state: "visible" });
      assert.equal(await page.textContent("#desk-name"), "Door B");
      await page.fill("#f-scan", p.checkin_code);
      await page.press("#f-scan", "Enter");
      await resultOf(page, "queued");
    } finally {
      await server.resume();
    }
    await page.waitForFunction(() => document.getElementById("queue").textContent === "", null, { timeout: 20000 });
    assert.equal((await registrationOf("reloaded.1")).checked_in.desk, "Door B");
    // What is about people is never kept: the API goes to the server only.
    const kept = await page.evaluate(async () => {
      const cache = await caches.open("lanyard-desk-v1");
      return (await cache.keys()).map((r) => new URL(r.url).pathname);
    });
    assert.ok(kept.includes("/desk") && kept.includes("/desk.js"), String(kept));
    assert.ok(kept.every((path) => !path.startsWith("/api/")), String(kept));
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a firewall answering for the server (WAF's 403 page, a gateway's JSON 403, a 429) is no answer: the scan waits and is sent", async () => {
    const p = await person("firewalled.1", "Firewalled One");
    const { page, context, errors } = await openDesk(doorA);
    // What the desk gets while a web ACL or gateway in front answers instead.
    const answers = [
      { status: 403, contentType: "text/html", body: "<html><body><h1>403 Forbidden</h1>Request blocked.</body></html>" },
      { status: 403, contentType: "application/json", body: '{"message":"Forbidden"}' },
      { status: 429, contentType: "application/json", body: '{"error":{"code":"rate_limited","message":"too many"}}' },
    ];
    const seen = [];
    await context.route(/\/api\/checkins(\/batch)?$/, (route) => {
      const answer = answers[seen.length];
      seen.push(route.request().url());
      return answer ? route.fulfill(answer) : route.continue();
    });
    await page.fill("#f-scan", p.checkin_code);
    await page.press("#f-scan", "Enter");
    await resultOf(page, "queued");
    assert.equal(await page.textContent("#queue"), "1 waiting to send");
    // Its replays meet the other two, then reach the server.
    await page.waitForFunction(() => document.getElementById("queue").textContent === "", null, { timeout: 30000 });
    assert.ok(seen.length > answers.length, `sent ${seen.length} times`);
    assert.equal((await registrationOf("firewalled.1")).checked_in.desk, "Door A");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("axe-core finds no serious or critical violations, locked and open; Korean works", async () => {
    const context = await browser.newContext({ locale: "ko-KR", bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${server.url}/desk`);
    assert.equal(await page.getAttribute("html", "lang"), "ko");
    await page.addScriptTag({ path: AXE });
    const check = async (label) => {
      const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
      const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], label);
    };
    await check("token prompt");
    await page.fill("#f-token", doorA);
    await page.click("#token-form button[type=submit]");
    await page.locator("#desk").waitFor({ state: "visible" });
    await page.fill("#f-scan", "ZZZZ-ZZZZ-ZZZZ-ZZZZ");
    await page.press("#f-scan", "Enter");
    assert.equal(await resultOf(page, "bad"), "알 수 없는 코드");
    await check("desk open, a red result");
    await context.close();
  });
});

describe("desk camera", () => {
  let camera;
  let dir;
  let dana;

  before(async () => {
    dana = await person("camera.dana", "Dana Camera");
    const ready = await waitForBadge(dana.badge.url);
    const png = await (await fetch(`${server.url}${ready.png}`)).arrayBuffer();
    dir = mkdtempSync(join(tmpdir(), "lanyard-camera-"));
    const video = join(dir, "badge.y4m");
    writeFileSync(video, y4mOf([png]));
    camera = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: [...CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", `--use-file-for-fake-video-capture=${video}`],
    });
  });

  after(async () => {
    await camera?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a badge held to the camera checks its person in", async () => {
    const token = await createDesk("Camera desk");
    const { page, context, errors } = await openDesk(token, { permissions: ["camera"] }, camera);
    await page.click("#camera-toggle");
    assert.equal(await resultOf(page, "ok"), "Welcome, Dana Camera");
    assert.equal((await registrationOf("camera.dana")).checked_in.desk, "Camera desk");
    // Held there, the same badge is one scan.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await page.evaluate(() => window.lanyardDesk.cameraTimings.length), 1);
    const ms = await page.evaluate(() => window.lanyardDesk.cameraTimings[0]);
    console.log(`camera frame to answer shown: ${ms.toFixed(1)} ms`);
    mkdirSync(DOCS, { recursive: true });
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.screenshot({ path: join(DOCS, "desk.png") });
    assert.deepEqual(errors, []);
    await context.close();
  });
});
