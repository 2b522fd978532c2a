// The page in a real browser (Debian's Chromium through playwright-core)
// against the real server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { startServer, TOKEN } from "./server.mjs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const DOCS = resolve(import.meta.dirname, "../../docs");
const CONFERENCE = "Serverless web project";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage(options = {}) {
  const context = await browser.newContext({ locale: "en-US", ...options });
  const page = await context.newPage();
  const foreign = [];
  page.on("request", (req) => {
    if (!req.url().startsWith(server.url) && !req.url().startsWith("data:")) foreign.push(req.url());
  });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.url);
  return { page, context, foreign, errors };
}

function vcard(name, phone, company, code) {
  const esc = (v) => v.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/;/g, "\\;");
  let card = `BEGIN:VCARD\r\nVERSION:3.0\r\nN:${esc(name)};;;;\r\nFN:${esc(name)}\r\n`;
  if (company) card += `ORG:${esc(company)}\r\n`;
  return card + `TEL;TYPE=CELL:${esc(phone)}\r\nUID:urn:lanyard:checkin:${code}\r\nEND:VCARD\r\n`;
}

function decodeQr(pngBytes) {
  const png = PNG.sync.read(Buffer.from(pngBytes));
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(code, "a QR code is found in the badge");
  return Buffer.from(code.binaryData).toString("utf8");
}

async function fillSignup(page, { userId, name, phone, company }) {
  await page.selectOption("#f-type", CONFERENCE);
  await page.fill("#f-user_id", userId);
  await page.fill("#f-user_name", name);
  await page.fill("#f-phone_number", phone);
  await page.fill("#f-company_name", company ?? "");
}

async function unlock(page, token = TOKEN) {
  await page.click("#tab-attendees");
  await page.fill("#f-token", token);
  await page.click("#token-form button[type=submit]");
}

describe("sign up", () => {
  test("a Hangul name who agreed: the preview appears and its PNG decodes to the contact card", async () => {
    const { page, context, foreign, errors } = await newPage();
    const person = { userId: "gildong", name: "홍길동", phone: "010-1234-5678", company: "서버리스; 주식회사, \\" };
    await fillSignup(page, person);
    assert.equal(await page.isChecked("#f-contact_on_badge"), false, "consent starts unticked");
    await page.check("#f-contact_on_badge");
    await page.click("#submit");
    const img = page.locator("#badge-img");
    await img.waitFor({ state: "visible", timeout: 20000 });
    const src = await img.getAttribute("src");
    const png = await (await fetch(new URL(src, server.url))).arrayBuffer();
    const stored = (await server.list("&q=홍길동")).items[0];
    assert.equal(decodeQr(png), vcard(person.name, person.phone, person.company, stored.checkin_code));
    for (const [id, type] of [["#dl-svg", "image/svg+xml"], ["#dl-pdf", "application/pdf"], ["#dl-png", "image/png"]]) {
      const href = await page.getAttribute(id, "href");
      const res = await fetch(new URL(href, server.url));
      assert.equal(res.status, 200, id);
      assert.equal(res.headers.get("content-type"), type);
    }
    assert.match(await page.textContent("#badge-state"), /ready/i);
    mkdirSync(DOCS, { recursive: true });
    await page.setViewportSize({ width: 1100, height: 1000 });
    await page.screenshot({ path: join(DOCS, "signup.png"), fullPage: true });
    assert.deepEqual(foreign, [], "no request leaves the page's own origin");
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("without consent the QR holds the check-in code only, and the status line follows the badge", async () => {
    const { page, context } = await newPage();
    await fillSignup(page, { userId: "private", name: "Private Person", phone: "010-4444-4444", company: "Quiet Co" });
    await page.click("#submit");
    const img = page.locator("#badge-img");
    await img.waitFor({ state: "visible", timeout: 20000 });
    const png = await (await fetch(new URL(await img.getAttribute("src"), server.url))).arrayBuffer();
    const stored = (await server.list("&q=Private")).items[0];
    assert.equal(stored.contact_on_badge, false);
    assert.equal(decodeQr(png), stored.checkin_code);
    assert.match(stored.checkin_code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    assert.match(await page.textContent("#badge-state"), /ready/i);
    assert.doesNotMatch(await page.textContent("#signup-status"), /being made/i);
    await context.close();
  });

  test("the attendee's own page: see what is stored, fix the name, withdraw consent, erase", async () => {
    const { page, context, errors } = await newPage();
    await fillSignup(page, { userId: "own.page", name: "Typo Nmae", phone: "010-5555-1212", company: "Own Co" });
    await page.check("#f-contact_on_badge");
    await page.click("#submit");
    await page.locator("#badge-img").waitFor({ state: "visible", timeout: 20000 });
    const href = await page.getAttribute("#my-page", "href");
    assert.match(href, /^\/me#[A-Za-z0-9_-]{22}$/);
    await page.click("#my-page");
    await page.locator("#me").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#me-phone_number"), "010-5555-1212");
    const code = await page.textContent("#me-code");
    assert.match(code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    assert.equal(await page.isChecked("#m-contact_on_badge"), true);
    await page.fill("#m-user_name", "Typo Name");
    await page.uncheck("#m-contact_on_badge");
    await page.click("#me-form button[type=submit]");
    await page.waitForFunction(() => /Saved/.test(document.getElementById("me-status").textContent));
    const token = href.split("#")[1];
    let badge;
    for (let i = 0; i < 100; i++) {
      badge = await (await fetch(`${server.url}/api/badges/${token}`)).json();
      if (badge.status === "ready" && badge.registration.user_name === "Typo Name") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(badge.registration.contact_on_badge, false);
    const png = await (await fetch(`${server.url}${badge.png}`)).arrayBuffer();
    assert.equal(decodeQr(png), code, "consent withdrawn: the QR holds the code only");
    page.once("dialog", (d) => d.accept());
    await page.click("#me-erase");
    await page.waitForFunction(() => /erased/.test(document.getElementById("me-status").textContent));
    assert.equal((await fetch(`${server.url}/api/badges/${token}`)).status, 404);
    assert.equal((await fetch(`${server.url}${badge.png}`)).status, 404);
    assert.equal((await server.list("&q=Typo")).items.length, 0);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("a bad phone and an empty name show errors beside the fields and store nothing", async () => {
    const { page, context } = await newPage();
    await fillSignup(page, { userId: "nobody", name: "", phone: "12", company: "" });
    await page.click("#submit");
    await assert.doesNotReject(page.locator("#e-phone_number").waitFor({ state: "visible" }));
    assert.ok((await page.textContent("#e-phone_number")).length > 0);
    assert.ok((await page.textContent("#e-user_name")).length > 0);
    assert.equal(await page.getAttribute("#f-phone_number", "aria-invalid"), "true");
    assert.equal(await page.getAttribute("#f-user_name", "aria-invalid"), "true");
    const describedBy = await page.getAttribute("#f-phone_number", "aria-describedby");
    assert.ok(describedBy.includes("e-phone_number"), "the error is tied to its field");
    const listed = await server.list("&q=nobody");
    assert.equal(listed.items.length, 0);
    await context.close();
  });

  test("the server's field error is shown beside its field", async () => {
    const { page, context } = await newPage();
    await fillSignup(page, { userId: "late.comer", name: "Late Comer", phone: "010-0000-0000" });
    // A conference removed from the server's configuration after the page loaded.
    await page.evaluate(() => {
      const select = document.getElementById("f-type");
      select.append(new Option("Cancelled conference", "Cancelled conference"));
      select.value = "Cancelled conference";
    });
    await page.click("#submit");
    await page.locator("#e-type").waitFor({ state: "visible" });
    assert.match(await page.textContent("#e-type"), /type/);
    assert.equal(await page.getAttribute("#f-type", "aria-invalid"), "true");
    assert.equal((await server.list("&q=Late")).items.length, 0);
    await context.close();
  });

  test("a name the badge fonts cannot print is named before submitting; a name too long is said to be cut", async () => {
    const { page, context } = await newPage();
    // U+1FAE0: no bundled face has it, nor any installed font CI has.
    await fillSignup(page, { userId: "melting", name: "Ann \u{1FAE0}", phone: "010-5555-0000", company: "" });
    await page.waitForFunction(() => /\u{1FAE0}/u.test(document.getElementById("e-user_name").textContent));
    assert.match(await page.textContent("#e-user_name"), /cannot print/);
    assert.equal(await page.getAttribute("#f-user_name", "aria-invalid"), "true");
    await page.click("#submit");
    assert.match(await page.textContent("#signup-status"), /correct/);
    assert.equal((await server.list(`&q=${encodeURIComponent("\u{1FAE0}")}`)).items.length, 0, "nothing was sent");
    // Fixed: the error goes, and a name too long for three lines is taken
    // and printed cut, which the preview says.
    await page.fill("#f-user_name", "\uBDC1".repeat(100));
    await page.waitForFunction(() => document.getElementById("e-user_name").textContent === "");
    await page.click("#submit");
    await page.locator("#badge-img").waitFor({ state: "visible", timeout: 20000 });
    await page.locator("#badge-note").waitFor({ state: "visible" });
    assert.match(await page.textContent("#badge-note"), /too long/);
    await context.close();
  });

  test("a duplicate sign-up shows the duplicate message", async () => {
    const first = await server.register({ type: CONFERENCE, user_id: "twice", user_name: "Once", phone_number: "01011112222" });
    assert.equal(first.status, 201);
    const { page, context } = await newPage();
    await fillSignup(page, { userId: "twice", name: "Again", phone: "010-1111-2222" });
    await page.click("#submit");
    await page.waitForFunction(() => /already registered/.test(document.getElementById("signup-status").textContent));
    const listed = await server.list("&q=Once");
    assert.equal(listed.items[0].user_name, "Once", "the first registration is untouched");
    await context.close();
  });

  test("keyboard only: tab through the form and submit with Enter", async () => {
    const { page, context } = await newPage();
    await page.locator("#f-type option").first().waitFor({ state: "attached" });
    const focused = () => page.evaluate(() => document.activeElement?.id);
    for (let i = 0; i < 10 && (await focused()) !== "f-type"; i++) await page.keyboard.press("Tab");
    assert.equal(await focused(), "f-type");
    await page.keyboard.press("Tab");
    await page.keyboard.type("keyboard.user");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Kim Keys");
    await page.keyboard.press("Tab");
    await page.keyboard.type("+82 10 5555 6666");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Tab Co");
    await page.keyboard.press("Enter");
    await page.locator("#badge-img").waitFor({ state: "visible", timeout: 20000 });
    await context.close();
  });
});

describe("attendees", () => {
  before(async () => {
    // Ten at a time: the test's own HTTP client keeps its connections open
    // a while, and the server holds at most 128 from one address.
    const results = [];
    const posts = [];
    for (let i = 0; i < 120; i++) {
      if (i % 10 === 0) results.push(...(await Promise.all(posts.splice(0))));
      posts.push(
        server.register({
          type: i % 3 === 0 ? "About cloud computing" : CONFERENCE,
          user_id: `attendee${String(i).padStart(3, "0")}`,
          user_name: `Attendee ${i}`,
          phone_number: `010-2000-${String(i).padStart(4, "0")}`,
          company_name: i % 10 === 0 ? "Needle Corp" : "Hay Inc",
        }),
      );
    }
    results.push(...(await Promise.all(posts)));
    for (const r of results) assert.equal(r.status, 201);
  });

  test("a wrong token is refused", async () => {
    const { page, context } = await newPage();
    await unlock(page, "wrong-token");
    await page.waitForFunction(() => document.getElementById("e-token").textContent.length > 0);
    assert.equal(await page.isVisible("#list-card"), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("lanyard.organizerToken")), null);
    await context.close();
  });

  test("the right token lists registrations; search, filter and paging work", async () => {
    const { page, context } = await newPage();
    await unlock(page);
    await page.locator("#attendees tbody tr").first().waitFor();
    assert.equal(await page.locator("#attendees tbody tr").count(), 20);
    // Paging through everything shows each registration once.
    const seen = new Set();
    let pages = 0;
    for (;;) {
      const names = await page.locator("#attendees tbody tr td:first-child").allTextContents();
      for (const n of names) {
        assert.ok(!seen.has(n), `${n} appears once`);
        seen.add(n);
      }
      pages++;
      if (await page.isDisabled("#next-page")) break;
      const before = names[0];
      await page.click("#next-page");
      await page.waitForFunction((b) => document.querySelector("#attendees tbody td")?.textContent !== b, before);
    }
    const total = (await server.list()).items.length;
    assert.ok(seen.size >= 120 && seen.size === total || seen.size > total, `saw ${seen.size} of at least 120`);
    assert.ok(pages >= 6);
    // The token stays in this tab's sessionStorage only.
    assert.equal(await page.evaluate(() => sessionStorage.getItem("lanyard.organizerToken")), TOKEN);
    assert.equal(await page.evaluate(() => localStorage.getItem("lanyard.organizerToken")), null);
    // Search by company.
    await page.fill("#f-q", "needle");
    await page.waitForFunction(() => document.querySelectorAll("#attendees tbody tr").length === 12);
    // Filter by conference.
    await page.fill("#f-q", "");
    await page.selectOption("#f-filter-type", "About cloud computing");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#attendees tbody tr td:nth-child(3)")].every((td) => td.textContent === "About cloud computing"),
    );
    await page.selectOption("#f-filter-type", "");
    await page.waitForFunction(() => document.querySelectorAll("#attendees tbody .pill.ready").length === 20, null, { timeout: 30000 });
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.screenshot({ path: join(DOCS, "attendees.png"), fullPage: false });
    await context.close();
  });

  test("the badge dialog opens with focus inside, prints and closes back to its button", async () => {
    const { page, context } = await newPage();
    await unlock(page);
    const view = page.locator("#attendees tbody button", { hasText: "Badge" }).first();
    await view.waitFor({ timeout: 20000 });
    await view.focus();
    await page.keyboard.press("Enter");
    await page.locator("#badge-dialog[open]").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), "dialog-print");
    await page.waitForFunction(() => document.getElementById("dialog-img").complete && document.getElementById("dialog-img").naturalWidth > 0);
    await page.screenshot({ path: join(DOCS, "badge-dialog.png") });
    await page.keyboard.press("Escape");
    await page.locator("#badge-dialog[open]").waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "Badge");
    // Print media shows the badge alone at ID-1 size.
    await page.evaluate(() => {
      document.getElementById("print-img").src = document.getElementById("dialog-img").src;
      document.body.classList.add("printing-badge");
    });
    await page.emulateMedia({ media: "print" });
    const printed = await page.evaluate(() => {
      const visible = [...document.body.children].filter((el) => getComputedStyle(el).display !== "none").map((el) => el.id);
      const img = document.getElementById("print-img").getBoundingClientRect();
      return { visible, width: img.width, height: img.height };
    });
    assert.deepEqual(printed.visible, ["print-area"]);
    // 85.6 mm × 54 mm at 96 CSS px per inch.
    assert.ok(Math.abs(printed.width - (85.6 / 25.4) * 96) < 1, `width ${printed.width}`);
    assert.ok(Math.abs(printed.height - (54 / 25.4) * 96) < 1, `height ${printed.height}`);
    await context.close();
  });

  test("desks are made and revoked from the tab; check-ins show in the list and the counts", async () => {
    const { page, context } = await newPage();
    await unlock(page);
    await page.locator("#desks-card").waitFor({ state: "visible" });
    await page.fill("#f-desk-name", "Front door");
    await page.click("#desk-form button[type=submit]");
    await page.locator("#desk-token").waitFor({ state: "visible" });
    const token = await page.textContent("#desk-token-value");
    assert.match(token, /^desk_/);
    await page.locator("#desk-list li", { hasText: "Front door" }).waitFor();
    // The desk checks someone in; the organizer's list and counts show it.
    const res = await fetch(`${server.url}/api/checkins`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ user_id: "attendee119", type: CONFERENCE }),
    });
    assert.equal(res.status, 200);
    await page.fill("#f-q", "Attendee 119");
    await page.waitForFunction(() => /Front door/.test(document.querySelector("#attendees tbody tr td:nth-child(6)")?.textContent || ""));
    await page.waitForFunction(() => /1 of \d+ checked in \(Front door 1\)/.test(document.getElementById("stats").textContent));
    // Undo, then revoke: the token is refused from then on.
    await page.click("#attendees tbody button:has-text('Undo check-in')");
    await page.waitForFunction(() => /Not yet/.test(document.querySelector("#attendees tbody tr td:nth-child(6)")?.textContent || ""));
    await page.click("#desk-list button[aria-label='Revoke: Front door']");
    await page.locator("#desk-list li", { hasText: "Front door" }).waitFor({ state: "detached" });
    const refused = await fetch(`${server.url}/api/desk`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 401);
    await context.close();
  });

  test("a phone signs in as a desk by scanning the QR code on the organizer's screen, once", async () => {
    const { page, context, errors } = await newPage();
    await unlock(page);
    await page.locator("#desks-card").waitFor({ state: "visible" });
    await page.fill("#f-desk-name", "Side door");
    await page.click("#desk-form button[type=submit]");
    await page.locator("#desk-token").waitFor({ state: "visible" });
    const typed = await page.textContent("#desk-token-value");
    await page.click("#desk-list button[aria-label='Sign in a phone: Side door']");
    await page.locator("#desk-enrol").waitFor({ state: "visible" });
    assert.equal(await page.isVisible("#desk-token"), false, "the typed token is gone from the screen");
    // Opened on 127.0.0.1 without --tls lan: phones cannot reach it, and the page says so.
    assert.match(await page.textContent("#desk-enrol-warning"), /cannot reach/);
    // What a phone's camera reads off the screen.
    const shot = await page.locator("#desk-enrol-qr").screenshot();
    const url = decodeQr(shot);
    assert.equal(url, await page.getAttribute("#desk-enrol-link", "href"));
    assert.ok(url.startsWith(`${server.url}/desk#enrol=enrol_`), url);
    // The phone opens it: signed in as the desk, the code gone from the address.
    const phone = await browser.newContext({ locale: "en-US" });
    const desk = await phone.newPage();
    await desk.goto(url);
    await desk.locator("#desk").waitFor({ state: "visible" });
    assert.equal(await desk.textContent("#desk-name"), "Side door");
    assert.equal(await desk.evaluate(() => location.hash), "");
    const deskToken = await desk.evaluate(() => sessionStorage.getItem("lanyard.deskToken"));
    assert.match(deskToken, /^desk_/);
    const me = await fetch(`${server.url}/api/desk`, { headers: { Authorization: `Bearer ${deskToken}` } });
    assert.equal((await me.json()).name, "Side door");
    const old = await fetch(`${server.url}/api/desk`, { headers: { Authorization: `Bearer ${typed}` } });
    assert.equal(old.status, 401, "the typed token was replaced");
    // A second phone with the same code is told to ask for a new one.
    const second = await browser.newContext({ locale: "en-US" });
    const late = await second.newPage();
    await late.goto(url);
    await late.waitForFunction(() => document.getElementById("e-token").textContent.length > 0);
    assert.match(await late.textContent("#e-token"), /used or expired/);
    assert.equal(await late.isVisible("#desk"), false);
    assert.deepEqual(errors, []);
    await second.close();
    await phone.close();
    await context.close();
  });

  test("import a CSV, export the list and print it on a sheet, from the tab", async () => {
    const { page, context } = await newPage({ acceptDownloads: true });
    await unlock(page);
    await page.locator("#lists-card").waitFor({ state: "visible" });
    await page.waitForFunction(() => document.querySelectorAll("#f-sheet option").length >= 5);
    // A check first stores nothing; then the import itself.
    const csv = "user_id,type,user_name,phone_number,company_name\n"
      + `imported1,${CONFERENCE},Imported Person,010-2222-3333,Spreadsheet Co\n`
      + `imported2,${CONFERENCE},,010-2222-4444,\n`;
    await page.setInputFiles("#f-import", { name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.check("#f-dry-run");
    await page.click("#import-form button[type=submit]");
    await page.waitForFunction(() => /would be created/.test(document.getElementById("lists-status").textContent));
    await page.uncheck("#f-dry-run");
    await page.click("#import-form button[type=submit]");
    await page.waitForFunction(() => /^1 created, 0 already registered, 1 invalid/.test(document.getElementById("lists-status").textContent));
    assert.match(await page.textContent("#import-problems"), /Line 3: user_name/);
    await page.fill("#f-q", "Imported Person");
    await page.locator("#attendees tbody tr", { hasText: "Imported Person" }).waitFor();

    // Export what the list shows.
    const [csvDownload] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    assert.equal(csvDownload.suggestedFilename(), "registrations.csv");
    const exported = readFileSync(await csvDownload.path(), "utf8");
    assert.ok(exported.startsWith("\uFEFFuser_id,type,user_name,phone_number"), exported.slice(0, 80));
    assert.equal(exported.trim().split("\r\n").length, 2, "the header and the one match");
    assert.match(exported, /imported1,Serverless web project,Imported Person,010-2222-3333,Spreadsheet Co/);
    const [xlsx] = await Promise.all([page.waitForEvent("download"), page.click("#export-xlsx")]);
    assert.equal(xlsx.suggestedFilename(), "registrations.xlsx");
    assert.equal(readFileSync(await xlsx.path()).subarray(0, 2).toString(), "PK");

    // Print the filtered list on a sheet.
    await page.selectOption("#f-sheet", "a4-cut");
    assert.match(await page.textContent("#sheet-about"), /210 × 297 mm, 10 per page/);
    await page.check("#f-cut-marks");
    const [pdf] = await Promise.all([page.waitForEvent("download"), page.click("#print-form button[type=submit]")]);
    assert.equal(pdf.suggestedFilename(), "badges-a4-cut.pdf");
    const bytes = readFileSync(await pdf.path());
    assert.equal(bytes.subarray(0, 5).toString(), "%PDF-");
    assert.ok(bytes.subarray(-6).toString().includes("%%EOF"));
    // A skip past the sheet's labels is refused with the server's message.
    await page.fill("#f-skip", "10");
    await page.click("#print-form button[type=submit]");
    await page.waitForFunction(() => /skip/.test(document.getElementById("lists-status").textContent));
    await context.close();
  });

  test("a name with markup and script is shown literally and runs nothing", async () => {
    const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
    const created = await server.register({ type: CONFERENCE, user_id: "evil", user_name: evil, phone_number: "010-6666-6666", company_name: "<b>bold</b>" });
    assert.equal(created.status, 201);
    const { page, context, errors } = await newPage();
    await unlock(page);
    await page.fill("#f-q", "onerror");
    await page.waitForFunction(() => document.querySelectorAll("#attendees tbody tr").length === 1);
    assert.equal(await page.textContent("#attendees tbody td:first-child"), evil);
    assert.equal(await page.textContent("#attendees tbody td:nth-child(2)"), "<b>bold</b>");
    assert.equal(await page.locator("#attendees tbody img, #attendees tbody script, #attendees tbody b").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe("page quality", () => {
  test("axe-core finds no serious or critical violations on either tab", async () => {
    // Injecting axe needs CSP bypassed in this test context only.
    const { page, context } = await newPage({ bypassCSP: true });
    await page.addScriptTag({ path: AXE });
    const check = async (label) => {
      const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
      const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], label);
    };
    await check("sign up");
    await page.click("#tab-attendees");
    await check("attendees, token prompt");
    await page.fill("#f-token", TOKEN);
    await page.click("#token-form button[type=submit]");
    await page.locator("#attendees tbody tr").first().waitFor();
    await check("attendees, list");
    // The attendee's own page.
    const own = await server.register({ type: CONFERENCE, user_id: "axe.own", user_name: "Axe Own", phone_number: "010-3333-2222" });
    await page.goto(`${server.url}/me#${own.body.badge.url.split("/").pop()}`);
    await page.addScriptTag({ path: AXE });
    await page.locator("#me").waitFor({ state: "visible" });
    await check("the attendee's own page");
    await context.close();
  });

  test("375 px wide: no horizontal scroll on either tab", async () => {
    const { page, context } = await newPage({ viewport: { width: 375, height: 800 } });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(await overflow(), 0, "sign up");
    await unlock(page);
    await page.locator("#attendees tbody tr").first().waitFor();
    assert.equal(await overflow(), 0, "attendees");
    await context.close();
  });

  test("Korean is chosen from the browser language and can be switched", async () => {
    const { page, context } = await newPage({ locale: "ko-KR" });
    assert.equal(await page.textContent("#tab-signup"), "등록");
    assert.equal(await page.getAttribute("html", "lang"), "ko");
    await page.selectOption("#lang", "en");
    assert.equal(await page.textContent("#tab-signup"), "Sign up");
    await context.close();
  });

  test("the page is served with a strict Content-Security-Policy", async () => {
    const res = await fetch(server.url);
    const csp = res.headers.get("content-security-policy");
    assert.match(csp, /^default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  });
});

test("the sign-up form says when a conference erases its registrations", async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "lanyard-retention-"));
  const config = join(dir, "conferences.toml");
  writeFileSync(
    config,
    [
      "[[conference]]",
      'id = "kept-forever"',
      'title = "Kept Forever"',
      "",
      "[[conference]]",
      'id = "erased-later"',
      'title = "Erased Later"',
      'ends = "2999-12-30"',
      "retention_days = 2",
      "",
    ].join("\n"),
  );
  const own = await startServer(["--config", config]);
  const context = await browser.newContext({ locale: "en-US" });
  try {
    const page = await context.newPage();
    await page.goto(own.url);
    await page.waitForFunction(() => document.querySelectorAll("#f-type option").length === 2);
    const hint = page.locator("#h-type");
    assert.equal(await hint.isVisible(), false, "no note without retention_days");
    await page.selectOption("#f-type", "erased-later");
    assert.equal(await hint.isVisible(), true);
    assert.match(await hint.textContent(), /erased on January 2, 3000/);
    // The select names the note for screen readers.
    assert.match(await page.getAttribute("#f-type", "aria-describedby"), /h-type/);
    await page.selectOption("#lang", "ko");
    assert.match(await hint.textContent(), /3000년 1월 2일에 삭제/);
    await page.selectOption("#f-type", "kept-forever");
    assert.equal(await hint.isVisible(), false);
  } finally {
    await context.close();
    await own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a large import goes on request after request where each one's time ran out, and adds up their reports", async () => {
  // 10 rows a second: a request's 10 seconds store about 100 of the 130.
  const own = await startServer(["--import-rate", "10"]);
  const context = await browser.newContext({ locale: "en-US" });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(own.url);
    await unlock(page);
    await page.locator("#lists-card").waitFor({ state: "visible" });
    let csv = "user_id,type,user_name,phone_number,company_name\n";
    for (let i = 0; i < 130; i++) csv += `bulk${i},${CONFERENCE},Bulk Person ${i},010-3333-${String(1000 + i)},\n`;
    // One row refused, in the second part.
    csv += `bulk-bad,${CONFERENCE},,010-3333-9999,\n`;
    await page.setInputFiles("#f-import", { name: "many.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await page.click("#import-form button[type=submit]");
    await page.waitForFunction(() => /stored so far, going on from line \d+/.test(document.getElementById("lists-status").textContent), null, { timeout: 30_000 });
    await page.waitForFunction(() => /^130 created, 0 already registered, 1 invalid/.test(document.getElementById("lists-status").textContent), null, { timeout: 60_000 });
    assert.match(await page.textContent("#import-problems"), /Line 132: user_name/);
    const { body } = await own.organizer("GET", "/api/checkins/stats");
    assert.equal(body.conferences.find((c) => c.type === CONFERENCE).registered, 130);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await own.stop();
  }
});
