// The organizer's form in a real browser: a conference's own questions on
// the sign-up, the waiting list, editing and deleting from the Attendees
// tab, the attendee taking an offered seat, and the import's mapping step.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, TOKEN } from "./server.mjs";

const CONFIG = `
[[conference]]
id = "devday"
title = "Dev Day"
email = "required"
capacity = 1
waitlist = true

[[conference.category]]
id = "attendee"
label = { en = "Attendee", ko = "참가자" }
default = true

[[conference.category]]
id = "student"
label = { en = "Student", ko = "학생" }
public = true

[[conference.category]]
id = "speaker"
label = "Speaker"
band = "SPEAKER"
colour = "#1f6feb"

[[conference.question]]
id = "job"
label = { en = "Job title", ko = "직함" }
kind = "text"
on_badge = "line"

[[conference.question]]
id = "size"
label = "T-shirt"
kind = "choice"
choices = ["S", "M", "L"]
required = true

[[conference.question]]
id = "diet"
label = "Diet"
kind = "multi"
choices = ["vegan", "halal"]
`;

let dir;
let server;
let browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "lanyard-form-"));
  writeFileSync(join(dir, "lanyard.toml"), CONFIG);
  server = await startServer(["--config", join(dir, "lanyard.toml")]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function open(path = "/") {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  await page.goto(`${server.url}${path}`);
  return { page, context, errors };
}

async function signUp(page, userId, { size = "M" } = {}) {
  await page.waitForSelector("#f-q-size");
  await page.fill("#f-user_id", userId);
  await page.fill("#f-user_name", `Person ${userId}`);
  await page.fill("#f-phone_number", "010-1234-5678");
  await page.fill("#f-email", `${userId}@example.org`);
  await page.fill("#f-q-job", "Engineer");
  if (size) await page.selectOption("#f-q-size", size);
  await page.check("#f-q-diet >> text=vegan");
  await page.click("#submit");
}

test("the sign-up asks the conference's questions; the second sign-up waits for a seat", async () => {
  const { page, context, errors } = await open();
  await page.waitForSelector("#f-email");
  assert.match(await page.textContent("#seats-note"), /1 seats; when they are taken/);
  // The category offers the public ones only, the default chosen.
  const categories = await page.$$eval("#f-category option", (os) => os.map((o) => o.value));
  assert.deepEqual(categories, ["attendee", "student"]);
  // Korean labels follow the language.
  await page.selectOption("#lang", "ko");
  assert.match(await page.textContent("label[for=f-q-job]"), /직함/);
  await page.selectOption("#lang", "en");
  // A required question left empty: the server's refusal lands beside it.
  await signUp(page, "first", { size: null });
  await page.waitForFunction(() => document.querySelector("#e-f-q-size").textContent.includes("required"));
  assert.equal(await page.getAttribute("#f-q-size", "aria-invalid"), "true");
  await page.selectOption("#f-q-size", "L");
  await page.click("#submit");
  await page.waitForFunction(() => /registered/i.test(document.querySelector("#signup-status").textContent));
  const first = (await server.list("&type=devday")).items.find((r) => r.user_id === "first");
  assert.deepEqual(first.answers, { job: "Engineer", size: "L", diet: ["vegan"] });
  assert.equal(first.email, "first@example.org");
  assert.equal(first.status, "confirmed");

  const second = await open();
  await signUp(second.page, "second");
  await second.page.waitForFunction(() => /waiting list/.test(document.querySelector("#signup-status").textContent));
  assert.deepEqual(second.errors, []);
  await second.context.close();
  assert.deepEqual(errors, []);
  await context.close();
});

test("organizers edit, move seats and delete from the Attendees tab; the attendee takes the offered seat", async () => {
  const { page, context, errors } = await open();
  await page.click("#tab-attendees");
  await page.fill("#f-token", TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#attendees tbody tr");
  const row = (user) => page.locator("#attendees tbody tr", { hasText: `Person ${user}` });
  assert.match(await row("second").textContent(), /Waiting list/);
  await page.waitForFunction(() => /1 of 1 seats taken/.test(document.getElementById("stats").textContent));

  // Make `first` a speaker with a new job title.
  await row("first").getByRole("button", { name: "Edit: Person first" }).click();
  await page.selectOption("#g-category", "speaker");
  await page.fill("#g-q-job", "Principal Engineer");
  await page.click("#edit-form button[type=submit]");
  await page.waitForFunction(() => !document.querySelector("#edit-dialog").open);
  const { status, body } = await server.organizer("GET", "/api/registrations/first/devday");
  assert.equal(status, 200);
  assert.equal(body.category, "speaker");
  assert.equal(body.answers.job, "Principal Engineer");
  await page.waitForFunction(() => /Speaker/.test(document.querySelector("#attendees tbody").textContent));
  // The list filters by category.
  await page.selectOption("#f-filter-category", "speaker");
  await page.waitForFunction(() => document.querySelectorAll("#attendees tbody tr").length === 1);
  assert.match(await page.textContent("#attendees tbody"), /Person first/);
  await page.selectOption("#f-filter-category", "");
  await page.waitForFunction(() => document.querySelectorAll("#attendees tbody tr").length === 2);

  // Withdraw `first`: `second` is offered the seat.
  await row("first").getByRole("button", { name: "Withdraw: Person first" }).click();
  await page.waitForFunction(() => /Seat offered/.test(document.querySelector("#attendees tbody").textContent));

  // `second` takes it at their own page.
  const secondReg = (await server.organizer("GET", "/api/registrations/second/devday")).body;
  const token = secondReg.badge.url.split("/").pop();
  const me = await open(`/me#${token}`);
  await me.page.waitForSelector("#me-accept", { state: "visible" });
  assert.match(await me.page.textContent("#me-offer"), /offered to you until/);
  await me.page.click("#me-accept");
  await me.page.waitForFunction(() => document.querySelector("#me-seat").textContent === "Confirmed");
  // Their answers are theirs to change there.
  assert.equal(await me.page.inputValue("#m-q-job"), "Engineer");
  assert.deepEqual(me.errors, []);
  await me.context.close();

  // Delete `first` from the edit dialog.
  await page.reload();
  await page.click("#tab-attendees");
  await page.waitForSelector("#attendees tbody tr");
  await row("first").getByRole("button", { name: "Edit: Person first" }).click();
  await page.click("#edit-delete");
  await page.waitForFunction(() => !/Person first/.test(document.querySelector("#attendees tbody").textContent));
  assert.equal((await server.organizer("GET", "/api/registrations/first/devday")).status, 404);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the import maps the file's own columns to fields and answers, into a chosen conference", async () => {
  const { page, context, errors } = await open();
  await page.click("#tab-attendees");
  await page.fill("#f-token", TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#import-form");
  await page.selectOption("#f-import-type", "devday");
  const csv = "Login,Full name,Mobile,Mail,T-shirt,Notes\nmapped,Mapped Person,010-9999-0000,m@example.org,S,call first\n";
  await page.setInputFiles("#f-import", { name: "people.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.waitForSelector("#import-mapping:not([hidden])");
  // The question's label is recognised; the others are chosen by hand.
  assert.equal(await page.inputValue("select[data-header='T-shirt']"), "answer:size");
  assert.equal(await page.inputValue("select[data-header='Notes']"), "-");
  await page.selectOption("select[data-header='Login']", "user_id");
  await page.selectOption("select[data-header='Full name']", "user_name");
  await page.selectOption("select[data-header='Mobile']", "phone_number");
  await page.selectOption("select[data-header='Mail']", "email");
  await page.click("#import-form button[type=submit]");
  await page.waitForFunction(() => /1 added|1 created|Imported/i.test(document.querySelector("#lists-status").textContent));
  const { body } = await server.organizer("GET", "/api/registrations/mapped/devday");
  assert.equal(body.user_name, "Mapped Person");
  assert.deepEqual(body.answers, { size: "S" });
  assert.equal(body.email, "m@example.org");
  assert.equal(body.status, "waitlisted", "the one seat is taken");
  assert.deepEqual(errors, []);
  await context.close();
});

test("organizers edit the form in the Attendees tab and the sign-up asks it at once", async () => {
  const { page, context, errors } = await open();
  await page.click("#tab-attendees");
  await page.fill("#f-token", TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#f-form-text").value.includes('id = "job"'));
  const text = await page.inputValue("#f-form-text");
  // A mistake is named and changes nothing.
  await page.fill("#f-form-text", `${text}\n[[question]]\nid = "broken"\nkind = "choice"\nlabel = "Broken"\n`);
  await page.click("#form-editor button[type=submit]");
  await page.waitForFunction(() => /choices are for kinds/.test(document.querySelector("#e-form-text").textContent));
  assert.equal(await page.getAttribute("#f-form-text", "aria-invalid"), "true");
  await page.fill("#f-form-text", `${text}\n[[question]]\nid = "pronouns"\nlabel = { en = "Pronouns", ko = "호칭" }\nkind = "text"\non_badge = "line"\n`);
  await page.click("#form-editor button[type=submit]");
  await page.waitForFunction(() => /Saved/.test(document.querySelector("#form-status").textContent));
  await page.click("#tab-signup");
  await page.waitForSelector("#f-q-pronouns");
  assert.match(await page.textContent("label[for=f-q-pronouns]"), /Pronouns/);
  assert.deepEqual(errors, []);
  await context.close();
});
