// lanyard's check-in desk: scans from a camera, a barcode scanner (keyboard
// wedge) or the keyboard; name search; walk-ins; printing; and a queue that
// keeps scans while the server cannot be reached and sends them, with their
// nonces, when it can. Data from the server is always inserted as text.
import { STRINGS, pickLanguage } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "lanyard.deskToken";
const DESK_NAME_KEY = "lanyard.deskName";
const QUEUE_KEY = "lanyard.deskQueue";
const KEPT_KEY = "lanyard.deskKept";
/** How many kept scans the list shows, newest first. */
const KEPT_SHOWN = 20;
/** How long a sent kept scan stays listed (its name on this device). */
const KEPT_FOR_MS = 2 * 3600 * 1000;
const LANG_KEY = "lanyard.lang";
const AUTO_PRINT_KEY = "lanyard.deskAutoPrint";
const REPLAY_EVERY_MS = 2000;
const BATCH_MAX = 100;
const BATCH_BYTES = 12000;

let lang = pickLanguage(localStorage.getItem(LANG_KEY), navigator.languages);
let conferences = [];
/** The last person shown, whose badge "print" fetches (desks never hold badge links). */
let lastPrintable = null;
let lastResult = null;

// Scan-to-result times of camera scans (milliseconds), newest last.
window.lanyardDesk = { cameraTimings: [] };

function t(key, vars = {}) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function applyLanguage() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  fillConferences();
  showQueue();
  if (lastResult) showResult(...lastResult);
  $("camera-toggle").textContent = t(camera.stream ? "deskCameraOff" : "deskCameraOn");
}

// ---- API ------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { Accept: "application/json", Authorization: `Bearer ${token()}`, ...(options.headers || {}) },
  });
  let body = null;
  if ((res.headers.get("content-type") || "").includes("application/json")) {
    body = await res.json().catch(() => null);
  }
  return { status: res.status, body };
}

/**
 * Whether a reply is no answer from lanyard: the server could not serve it
 * now (5xx, 408, 429), or something on the way answered instead, like a
 * firewall's 403 page or a captive portal, without lanyard's JSON error.
 * The scan waits in the queue and is sent again.
 */
function noAnswer(res) {
  if (res.status >= 500 || res.status === 408 || res.status === 429) return true;
  if (res.status >= 400) return typeof res.body?.error?.code !== "string";
  return res.body === null;
}

/** A nonce for one scan: random, so a replay is recognised as the same scan. */
function newNonce() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- Token ------------------------------------------------------------------

function showDesk(name) {
  $("e-token").textContent = "";
  $("desk-name").textContent = name;
  $("token-card").hidden = true;
  $("desk").hidden = false;
  $("f-scan").focus();
}

async function openDesk() {
  let res;
  try {
    res = await api("/api/desk");
  } catch {
    // The server cannot be reached: a desk already opened in this tab goes
    // on taking scans into its queue.
    const name = sessionStorage.getItem(DESK_NAME_KEY);
    if (name) {
      showDesk(name);
      return true;
    }
    $("e-token").textContent = t("networkError");
    return false;
  }
  if (noAnswer(res)) {
    // Not lanyard's answer (a 503, or a firewall's page): a desk already
    // opened keeps scanning into its queue; a new one keeps its token.
    const name = sessionStorage.getItem(DESK_NAME_KEY);
    if (name) {
      showDesk(name);
      return true;
    }
    $("e-token").textContent = t("serverError");
    return false;
  }
  if (res.status !== 200) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(DESK_NAME_KEY);
    $("e-token").textContent = t("deskTokenWrong");
    $("token-card").hidden = false;
    $("desk").hidden = true;
    return false;
  }
  sessionStorage.setItem(DESK_NAME_KEY, res.body.name);
  showDesk(res.body.name);
  replay();
  return true;
}

/**
 * A phone that scanned a desk's sign-in QR opens /desk#enrol=CODE: the code
 * is exchanged, once, for the desk's token, and the fragment is cleared so
 * a reload or a shared screenshot of the address holds nothing.
 */
async function enrolFromLink() {
  const match = /^#enrol=(.+)$/.exec(location.hash);
  if (!match) return false;
  history.replaceState(null, "", location.pathname);
  let res;
  try {
    res = await api("/api/desk/enrol", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: decodeURIComponent(match[1]) }),
    });
  } catch {
    $("e-token").textContent = t("networkError");
    return true;
  }
  if (res.status === 200 && res.body?.token) {
    sessionStorage.setItem(TOKEN_KEY, res.body.token);
    sessionStorage.setItem(DESK_NAME_KEY, res.body.name);
    await openDesk();
  } else {
    $("e-token").textContent = res.body?.error?.code === "enrolment_refused" ? t("deskEnrolRefused") : res.body?.error?.message || t("serverError");
  }
  return true;
}

function setupToken() {
  $("token-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const value = $("f-token").value.trim();
    if (!value) {
      $("e-token").textContent = t("deskTokenWrong");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    $("f-token").value = "";
    await openDesk();
  });
}

// ---- Results ----------------------------------------------------------------

function timeOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

function conferenceTitle(id) {
  return conferences.find((c) => c.id === id)?.title || id;
}

// A registration's category as the page's language names it (speaker, staff).
function categoryName(r) {
  const c = conferences.find((x) => x.id === r.type)?.categories?.find((k) => k.id === r.category);
  return c ? (lang === "ko" && c.label.ko) || c.label.en : "";
}

/** kind: ok | warn | bad | queued | idle */
function showResult(kind, mainKey, vars = {}, detail = "") {
  lastResult = [kind, mainKey, vars, detail];
  const box = $("result");
  box.className = `result ${kind}`;
  $("result-main").textContent = t(mainKey, vars);
  $("result-detail").textContent = detail;
}

function showCheckin(body) {
  const r = body.registration;
  const detail = [categoryName(r), r.company_name, conferenceTitle(r.type)].filter(Boolean).join(" · ");
  if (body.result === "checked_in") {
    showResult("ok", "deskWelcome", { name: r.user_name }, detail);
  } else {
    showResult(
      "warn",
      "deskAlready",
      { name: r.user_name, time: body.first ? timeOf(body.first.at) : "?", desk: body.first?.desk || "?" },
      detail,
    );
  }
  lastPrintable = r.badge ? { user_id: r.user_id, type: r.type } : null;
  $("print-last").disabled = !lastPrintable;
  if (body.result === "checked_in" && $("auto-print").checked && lastPrintable) printBadge(lastPrintable);
}

// ---- Scans and the offline queue -------------------------------------------

function loadQueue() {
  try {
    const q = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
    return Array.isArray(q) ? q : [];
  } catch {
    return [];
  }
}

function saveQueue(q) {
  localStorage.setItem(QUEUE_KEY, JSON.stringify(q));
  showQueue();
}

function showQueue() {
  const n = loadQueue().length;
  $("queue").textContent = n ? t("deskWaiting", { n }) : "";
  $("queue").className = n ? "queue waiting" : "queue";
  showKept();
}

/**
 * Scans kept while the server could not be reached, as staff see them: the
 * time each was taken, waiting; then, once sent, whom it checked in.
 * Entries: { nonce, scanned_at, code, state: waiting | sent, kind, text }.
 */
function loadKept() {
  try {
    const k = JSON.parse(localStorage.getItem(KEPT_KEY) || "[]");
    // Names stay on the desk's device only a while after they were sent.
    const since = Date.now() - KEPT_FOR_MS;
    return Array.isArray(k) ? k.filter((e) => e.state === "waiting" || Date.parse(e.scanned_at) > since) : [];
  } catch {
    return [];
  }
}

function saveKept(kept) {
  localStorage.setItem(KEPT_KEY, JSON.stringify(kept.slice(-KEPT_SHOWN)));
  showKept();
}

function keep(item) {
  const code = item.code ? item.code.replace(/\s+/g, " ").slice(0, 14) : item.user_id || "";
  saveKept([...loadKept(), { nonce: item.nonce, scanned_at: item.scanned_at, code, state: "waiting" }]);
}

/** Notes what a kept scan got once sent: `status` and its body. */
function noteAnswer(nonce, status, body) {
  const kept = loadKept();
  const entry = kept.find((k) => k.nonce === nonce);
  if (!entry) return;
  entry.state = "sent";
  const r = body?.registration;
  if (status === 200 && r) {
    entry.kind = body.result === "checked_in" ? "ok" : "warn";
    entry.text = body.result === "checked_in"
      ? t("deskKeptIn", { name: r.user_name })
      : t("deskAlready", { name: r.user_name, time: body.first ? timeOf(body.first.at) : "?", desk: body.first?.desk || "?" });
  } else {
    entry.kind = "bad";
    entry.text = body?.error?.code === "unknown_code" ? t("deskUnknown") : body?.error?.message || t("deskRefused");
  }
  saveKept(kept);
}

function showKept() {
  const kept = loadKept();
  $("kept").hidden = kept.length === 0;
  $("kept-list").replaceChildren(
    ...kept
      .slice()
      .reverse()
      .map((k) => {
        const li = document.createElement("li");
        li.className = k.state === "waiting" ? "waiting" : k.kind;
        const when = document.createElement("span");
        when.className = "when";
        when.textContent = timeOf(k.scanned_at);
        const what = document.createElement("span");
        what.textContent = k.state === "waiting" ? t("deskKeptWaiting", { code: k.code }) : k.text;
        li.append(when, what);
        return li;
      }),
  );
}

/** Sends one scan. Returns "done" (answered), "retry" (no answer: keep it) or "auth". */
async function send(scan) {
  let res;
  try {
    res = await api("/api/checkins", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(scan),
    });
  } catch {
    return { outcome: "retry" };
  }
  if (noAnswer(res)) return { outcome: "retry" };
  if (res.status === 401) return { outcome: "auth" };
  return { outcome: "done", res };
}

async function scan(what, started) {
  // Dated now: sent later from the queue, the check-in keeps this time.
  const item = { ...what, nonce: newNonce(), scanned_at: new Date().toISOString() };
  const { outcome, res } = await send(item);
  if (outcome === "retry") {
    keep(item);
    saveQueue([...loadQueue(), item]);
    showResult("queued", "deskQueued", { n: loadQueue().length });
    return;
  }
  if (outcome === "auth") {
    await openDesk();
    return;
  }
  if (res.status === 200) showCheckin(res.body);
  else if (res.body?.error?.code === "unknown_code") showResult("bad", "deskUnknown");
  else showResult("bad", "deskRefused", {}, res.body?.error?.message || "");
  if (started !== undefined) {
    window.lanyardDesk.cameraTimings.push(performance.now() - started);
  }
}

let replaying = false;

/** The next scans to send together: at most 100, and well under the server's 16 KiB body limit. */
function nextBatch(queue) {
  const batch = [];
  let bytes = 16;
  for (const scan of queue) {
    const size = JSON.stringify(scan).length + 1;
    if (batch.length && (batch.length >= BATCH_MAX || bytes + size > BATCH_BYTES)) break;
    batch.push(scan);
    bytes += size;
  }
  return batch;
}

/**
 * Sends waiting scans, oldest first, many per request; stops at the first
 * that gets no answer and tries again later. A scan answered but not yet
 * removed (the tab closed in between) is sent again later, and its nonce
 * makes that harmless.
 */
async function replay() {
  if (replaying || !token()) return;
  replaying = true;
  try {
    for (let batch = nextBatch(loadQueue()); batch.length; batch = nextBatch(loadQueue())) {
      let res;
      try {
        res = await api("/api/checkins/batch", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ scans: batch }),
        });
      } catch {
        return;
      }
      if (noAnswer(res)) return;
      let answered;
      if (res.status === 200 && Array.isArray(res.body.results)) {
        answered = batch.filter((scan, i) => {
          const result = res.body.results[i];
          const status = result?.status;
          const done = status !== undefined && status < 500 && status !== 408 && status !== 429;
          if (done) noteAnswer(scan.nonce, status, result.checkin || { error: result.error });
          return done;
        });
      } else if (res.status === 400) {
        // One scan the batch cannot carry: send them one by one.
        answered = [];
        for (const scan of batch) {
          const { outcome, res: one } = await send(scan);
          if (outcome !== "done") break;
          noteAnswer(scan.nonce, one.status, one.body);
          answered.push(scan);
        }
      } else {
        return;
      }
      const done = new Set(answered.map((s) => s.nonce));
      saveQueue(loadQueue().filter((s) => !done.has(s.nonce)));
      if (answered.length < batch.length) return;
    }
    // All sent: the "saved, will be sent" notice no longer holds.
    if (lastResult?.[0] === "queued") showResult("idle", "deskSynced");
  } finally {
    replaying = false;
  }
}

/** How long a scanner may pause between the lines of one vCard. */
const VCARD_PAUSE_MS = 600;

/**
 * A keyboard-wedge scanner types a vCard badge's QR line by line, each line
 * ending in Enter: the lines from BEGIN:VCARD to END:VCARD (or to a pause)
 * are one scan, sent whole (the server finds the check-in code in its UID).
 */
const wedge = { lines: null, timer: 0 };

function flushVcard() {
  clearTimeout(wedge.timer);
  const lines = wedge.lines;
  wedge.lines = null;
  if (lines) scan({ code: lines.join("\r\n") });
}

function scanLine(line) {
  if (wedge.lines) {
    wedge.lines.push(line);
    if (/^END:VCARD$/i.test(line.trim())) flushVcard();
    else {
      clearTimeout(wedge.timer);
      wedge.timer = setTimeout(flushVcard, VCARD_PAUSE_MS);
    }
    return;
  }
  if (/^BEGIN:VCARD$/i.test(line.trim())) {
    wedge.lines = [line.trim()];
    wedge.timer = setTimeout(flushVcard, VCARD_PAUSE_MS);
    return;
  }
  const code = line.trim();
  if (code) scan({ code });
}

function setupScan() {
  const input = $("f-scan");
  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const line = input.value;
    input.value = "";
    scanLine(line);
    input.focus();
  });
  // The scan field keeps the focus, so a scanner's keystrokes always land
  // there, unless a person moved it to another control on purpose.
  input.addEventListener("blur", () => {
    setTimeout(() => {
      if (document.activeElement === document.body && !$("desk").hidden) input.focus();
    }, 0);
  });
  setInterval(replay, REPLAY_EVERY_MS);
  window.addEventListener("online", replay);
  window.addEventListener("storage", (e) => e.key === QUEUE_KEY && showQueue());
}

// ---- Camera -------------------------------------------------------------------

const camera = { stream: null, canvas: document.createElement("canvas"), detector: null, last: "", lastAt: 0, busy: false };

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    $("camera-status").textContent = t("deskCameraUnavailable");
    $("camera").hidden = false;
    return;
  }
  try {
    camera.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    $("camera-status").textContent = t("deskCameraDenied");
    $("camera").hidden = false;
    return;
  }
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) camera.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch {
      camera.detector = null;
    }
  }
  const video = $("video");
  video.srcObject = camera.stream;
  await video.play().catch(() => {});
  $("camera").hidden = false;
  $("camera-status").textContent = t("deskCameraHint");
  $("camera-toggle").textContent = t("deskCameraOff");
  $("camera-toggle").setAttribute("aria-pressed", "true");
  requestAnimationFrame(scanFrame);
}

function stopCamera() {
  for (const track of camera.stream?.getTracks() || []) track.stop();
  camera.stream = null;
  $("video").srcObject = null;
  $("camera").hidden = true;
  $("camera-toggle").textContent = t("deskCameraOn");
  $("camera-toggle").setAttribute("aria-pressed", "false");
  $("f-scan").focus();
}

async function decode(video) {
  if (camera.detector) {
    const found = await camera.detector.detect(video);
    return found[0]?.rawValue || null;
  }
  if (!window.jsQR || !video.videoWidth) return null;
  const scale = Math.min(1, 800 / video.videoWidth);
  const w = Math.round(video.videoWidth * scale);
  const h = Math.round(video.videoHeight * scale);
  const c = camera.canvas;
  c.width = w;
  c.height = h;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  const found = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
  return found?.data || null;
}

async function scanFrame() {
  if (!camera.stream) return;
  if (!camera.busy) {
    camera.busy = true;
    const started = performance.now();
    try {
      const text = await decode($("video"));
      const now = Date.now();
      // The same badge held in front of the camera is one scan.
      if (text && (text !== camera.last || now - camera.lastAt > 4000)) {
        camera.last = text;
        camera.lastAt = now;
        await scan({ code: text }, started);
      } else if (text) {
        camera.lastAt = now;
      }
    } catch {
      // A frame that cannot be read is skipped.
    } finally {
      camera.busy = false;
    }
  }
  requestAnimationFrame(scanFrame);
}

function setupCamera() {
  $("camera-toggle").addEventListener("click", () => (camera.stream ? stopCamera() : startCamera()));
}

// ---- Search ---------------------------------------------------------------------

function setupSearch() {
  $("search-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = $("f-search").value.trim();
    const list = $("found");
    if (!q) return;
    let res;
    try {
      res = await api(`/api/checkins/search?q=${encodeURIComponent(q)}`);
    } catch {
      list.replaceChildren(item(t("networkError")));
      return;
    }
    if (res.status === 401) return openDesk();
    if (res.status !== 200) {
      list.replaceChildren(item(res.body?.error?.message || t("serverError")));
      return;
    }
    if (!res.body.items.length) {
      list.replaceChildren(item(t("deskNobody")));
      return;
    }
    list.replaceChildren(...res.body.items.map(person));
  });
}

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

function person(r) {
  const li = document.createElement("li");
  const who = document.createElement("span");
  who.className = "who";
  const name = document.createElement("strong");
  name.textContent = r.user_name;
  const more = document.createElement("span");
  more.textContent = [r.company_name, conferenceTitle(r.type)].filter(Boolean).join(" · ");
  who.append(name, more);
  const button = document.createElement("button");
  button.type = "button";
  if (r.checked_in) {
    button.textContent = t("deskAlreadyShort", { time: timeOf(r.checked_in.at) });
  } else {
    button.textContent = t("deskCheckIn");
    button.className = "primary";
  }
  button.setAttribute("aria-label", `${t("deskCheckIn")}: ${r.user_name}`);
  button.addEventListener("click", () => {
    scan({ user_id: r.user_id, type: r.type });
    $("f-scan").focus();
  });
  li.append(who, button);
  return li;
}

// ---- Walk-ins -------------------------------------------------------------------

async function loadConferences() {
  try {
    const { status, body } = await api("/api/conferences");
    if (status === 200) conferences = body.items;
  } catch {
    conferences = [];
  }
  // The event's colour when its conferences share one (or there is one).
  const accents = new Set(conferences.map((c) => c.accent));
  if (accents.size === 1) document.documentElement.style.setProperty("--accent", [...accents][0]);
  fillConferences();
}

function fillConferences() {
  const select = $("w-type");
  const chosen = select.value;
  select.replaceChildren(...conferences.map((c) => new Option(c.title, c.id)));
  if (chosen) select.value = chosen;
}

function setupWalkIn() {
  const form = $("walkin");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("walkin-status");
    const data = {};
    for (const name of ["type", "user_id", "user_name", "phone_number", "company_name"]) data[name] = $(`w-${name}`).value;
    data.contact_on_badge = $("w-contact_on_badge").checked;
    status.textContent = t("submitting");
    let res;
    try {
      res = await api("/api/checkins/walk-ins", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data),
      });
    } catch {
      status.textContent = t("networkError");
      return;
    }
    if (res.status === 201) {
      status.textContent = t("deskWalkInDone", { name: res.body.registration.user_name });
      form.reset();
      fillConferences();
      showCheckin(res.body);
    } else if (res.status === 401) {
      openDesk();
    } else if (res.status === 409) {
      status.textContent = t("duplicate");
    } else {
      status.textContent = res.body?.error?.message || t("serverError");
    }
  });
}

// ---- Printing -----------------------------------------------------------------

/** Prints a person's badge once it is ready (a walk-in's is made in a moment). */
async function printBadge(who) {
  const path = `/api/registrations/${encodeURIComponent(who.user_id)}/${encodeURIComponent(who.type)}/badge?format=png`;
  for (let i = 0; i < 40; i++) {
    let res;
    try {
      res = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
    } catch {
      return;
    }
    if (res.status === 200) {
      // The file needs the desk's token, so it is read here and shown as data.
      const blob = await res.blob();
      const src = await new Promise((resolve) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result);
        reader.readAsDataURL(blob);
      });
      const img = $("print-img");
      img.onload = () => {
        document.body.classList.add("printing-badge");
        window.print();
      };
      img.src = src;
      return;
    }
    if (res.status !== 404) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function setupPrint() {
  $("print-last").addEventListener("click", () => lastPrintable && printBadge(lastPrintable));
  $("auto-print").checked = localStorage.getItem(AUTO_PRINT_KEY) === "1";
  $("auto-print").addEventListener("change", (e) => localStorage.setItem(AUTO_PRINT_KEY, e.target.checked ? "1" : "0"));
  window.addEventListener("afterprint", () => document.body.classList.remove("printing-badge"));
}

// ---- Start --------------------------------------------------------------------

$("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem(LANG_KEY, lang);
  applyLanguage();
});
setupToken();
setupScan();
setupCamera();
setupSearch();
setupWalkIn();
setupPrint();
applyLanguage();
loadConferences();
// Kept for reloads while the server cannot be reached (HTTPS or localhost only).
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/desk-sw.js", { scope: "/desk" }).catch(() => {});
enrolFromLink().then((enrolling) => {
  if (enrolling) return;
  if (token()) openDesk();
  else $("f-token").focus();
});
