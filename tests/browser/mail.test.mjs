// E-mail from the page in a real browser, against a real SMTP server
// (aiosmtpd): the lost-link form on the sign-up page, and the organizers'
// message card with its count before sending.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer, TOKEN } from "./server.mjs";

const SINK = join(dirname(fileURLToPath(import.meta.url)), "..", "support", "smtp_sink.py");

const CONFIG = `
[[conference]]
id = "mailday"
title = "Mail Day"
email = "required"

[[conference.category]]
id = "attendee"
label = "Attendee"
default = true

[[conference.category]]
id = "speaker"
label = "Speaker"
`;

let dir;
let mailDir;
let sink;
let server;
let browser;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "lanyard-mail-"));
  mailDir = join(dir, "mail");
  writeFileSync(join(dir, "lanyard.toml"), CONFIG);
  const port = await freePort();
  sink = spawn("python3", [SINK, "--dir", mailDir, "--port", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    sink.stdout.once("data", (d) => (String(d).includes("ready") ? resolve() : reject(new Error(String(d)))));
    sink.once("exit", (code) => reject(new Error(`the SMTP server exited with ${code}`)));
  });
  server = await startServer([
    "--config", join(dir, "lanyard.toml"),
    "--smtp-url", `smtp://127.0.0.1:${port}`,
    "--mail-from", "Mail Day <reg@mailday.example>",
    "--public-url", "https://reg.mailday.example",
  ]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  sink?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

/** The messages received so far, as text. */
const received = () =>
  readdirSync(mailDir)
    .filter((n) => n.endsWith(".eml"))
    .sort()
    .map((n) => readFileSync(join(mailDir, n), "latin1"));

async function waitForMessages(n) {
  for (let i = 0; i < 300; i++) {
    const messages = received();
    if (messages.length >= n) return messages;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${received().length} of ${n} messages arrived`);
}

async function open(path = "/") {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  await page.goto(`${server.url}${path}`);
  return { page, context, errors };
}

test("a sign-up is confirmed by e-mail, and a lost link is mailed again from the page", async () => {
  const { page, context, errors } = await open();
  await page.waitForSelector("#f-email");
  await page.fill("#f-user_id", "mailer");
  await page.fill("#f-user_name", "Mail Kim");
  await page.fill("#f-phone_number", "010-1234-5678");
  await page.fill("#f-email", "mail.kim@example.org");
  await page.click("#submit");
  await page.waitForFunction(() => /registered/i.test(document.querySelector("#signup-status").textContent));
  const [confirmation] = await waitForMessages(1);
  assert.match(confirmation, /^Subject: Your badge for Mail Day/m);
  assert.match(confirmation, /^To: .*<mail\.kim@example\.org>/m);

  // The lost-link form shows where conferences mail, and never says
  // whether an address is registered.
  assert.equal(await page.isVisible("#lost-link"), true);
  await page.click("#lost-link summary");
  await page.fill("#f-lost-email", "nobody@example.org");
  await page.click("#lost-form button");
  await page.waitForFunction(() => /on its way/.test(document.querySelector("#lost-status").textContent));
  const forNobody = await page.textContent("#lost-status");
  await page.fill("#f-lost-email", "MAIL.KIM@example.org");
  await page.click("#lost-form button");
  await page.waitForFunction((before) => document.querySelector("#lost-status").textContent === before, forNobody);
  const messages = await waitForMessages(2);
  assert.match(messages[1], /^Subject: Your badge link for Mail Day/m);
  assert.match(messages[1].replace(/=\r?\n/g, ""), /https:\/\/reg\.mailday\.example\/me#/);
  // Not an address: said beside the field.
  await page.fill("#f-lost-email", "not-an-address");
  await page.click("#lost-form button");
  await page.waitForFunction(() => /e-mail address/.test(document.querySelector("#e-lost-email").textContent));
  assert.deepEqual(errors, []);
  await context.close();
});

test("organizers count the recipients of a message, then send it", async () => {
  const before = received().length;
  const { page, context, errors } = await open();
  await page.click("#tab-attendees");
  await page.fill("#f-token", TOKEN);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#message-card:not([hidden])");
  // The lead shows the placeholders as they are typed.
  assert.match(await page.textContent("#message-card .lead"), /\{name\}, \{link\}/);
  await page.selectOption("#f-message-type", "mailday");
  await page.click("#message-count");
  await page.waitForFunction(() => /would get it/.test(document.querySelector("#message-status").textContent));
  assert.match(await page.textContent("#message-status"), /^1 would get it \(0 without/);
  // Sent without a subject: the server's refusal lands beside the field.
  await page.fill("#f-message-body", "Hello {name}, doors open at 9. Your badge: {link}");
  await page.click("#message-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#e-message-subject").textContent !== "");
  assert.equal(received().length, before);
  await page.fill("#f-message-subject", "Doors open at 9");
  await page.click("#message-form button[type=submit]");
  await page.waitForFunction(() => /Queued: 1 e-mails/.test(document.querySelector("#message-status").textContent));
  const messages = await waitForMessages(before + 1);
  const message = messages[before];
  assert.match(message, /^Subject: Doors open at 9/m);
  assert.match(message.replace(/=\r?\n/g, ""), /Hello Mail Kim, doors open at 9/);
  assert.deepEqual(errors, []);
  await context.close();
});
