// lanyard's page: sign-up with a live badge preview, and the organizers'
// attendee list. Data from the server is always inserted as text.
import { STRINGS, pickLanguage } from "./i18n.js";
import { checkField } from "./rules.js";
import { clearFormErrors, labelOf, readForm, renderForm, showFormError } from "./form.js";

const $ = (id) => document.getElementById(id);
const FIELDS = ["type", "user_id", "user_name", "phone_number", "company_name"];
const TOKEN_KEY = "lanyard.organizerToken";
const LANG_KEY = "lanyard.lang";
const PAGE_SIZE = 20;

let lang = pickLanguage(localStorage.getItem(LANG_KEY), navigator.languages);
let conferences = [];

function t(key, vars = {}) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function applyLanguage() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  // Texts that show placeholders ({name}) as they are.
  for (const el of document.querySelectorAll("[data-i18n-raw]")) {
    el.textContent = STRINGS[lang]?.[el.dataset.i18nRaw] ?? STRINGS.en[el.dataset.i18nRaw];
  }
  fillConferenceSelects();
  for (const name of FIELDS) {
    const err = $(`e-${name}`);
    if (err && err.dataset.key) err.textContent = t(err.dataset.key);
  }
  if (badge.state) showBadgeState(badge.state);
  if (list.loaded) renderRows(list.items);
}

// ---- Tabs -------------------------------------------------------------

function selectTab(which, focus = false) {
  for (const name of ["signup", "attendees"]) {
    const tab = $(`tab-${name}`);
    const selected = name === which;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`panel-${name}`).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  if (which === "attendees") openAttendees();
}

function setupTabs() {
  const tabs = ["signup", "attendees"];
  for (const name of tabs) {
    const tab = $(`tab-${name}`);
    tab.addEventListener("click", () => selectTab(name));
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const next = tabs[(tabs.indexOf(name) + 1) % tabs.length];
      selectTab(next, true);
      e.preventDefault();
    });
  }
}

// ---- API ----------------------------------------------------------------

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { Accept: "application/json", ...(options.headers || {}) } });
  let body = null;
  if ((res.headers.get("content-type") || "").includes("application/json")) {
    body = await res.json();
  }
  return { status: res.status, body };
}

function organizerHeaders() {
  return { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}` };
}

async function loadConferences() {
  try {
    const { status, body } = await api("/api/conferences");
    if (status === 200) conferences = body.items;
  } catch {
    conferences = [];
  }
  fillConferenceSelects();
}

function fillConferenceSelects() {
  const signup = $("f-type");
  const chosen = signup.value;
  signup.replaceChildren(...conferences.map((c) => new Option(c.title, c.id)));
  if (chosen) signup.value = chosen;
  const filter = $("f-filter-type");
  const filtered = filter.value;
  filter.replaceChildren(new Option(t("allConferences"), ""), ...conferences.map((c) => new Option(c.title, c.id)));
  filter.value = filtered;
  fillCategoryFilter();
  const forms = $("f-form-type");
  const editing = forms.value;
  forms.replaceChildren(...conferences.map((c) => new Option(c.title, c.id)));
  if (editing) forms.value = editing;
  const messages = $("f-message-type");
  const messaging = messages.value;
  messages.replaceChildren(...conferences.filter((c) => c.mails).map((c) => new Option(c.title, c.id)));
  if (messaging) messages.value = messaging;
  fillMessageCategories();
  $("lost-link").hidden = !conferences.some((c) => c.mails);
  const imports = $("f-import-type");
  const importing = imports.value;
  imports.replaceChildren(new Option(t("importFromFile"), ""), ...conferences.map((c) => new Option(c.title, c.id)));
  imports.value = importing;
  const chosenConference = conferences.find((c) => c.id === signup.value);
  const accent = chosenConference?.accent;
  if (accent) document.documentElement.style.setProperty("--accent", accent);
  showRetention(chosenConference);
  showSignupForm(chosenConference);
  showConferenceHead(chosenConference);
}

/** The chosen conference's logo, title, dates and subtitle above the form. */
function showConferenceHead(c) {
  $("conf-head").hidden = !c;
  if (!c) return;
  $("conf-title").textContent = c.title;
  const logo = $("conf-logo");
  if (c.logo_url) {
    logo.src = c.logo_url;
    logo.alt = c.title;
  } else {
    logo.removeAttribute("src");
  }
  logo.hidden = !c.logo_url;
  const when = [conferenceDates(c), c.subtitle].filter(Boolean).join(" · ");
  $("conf-when").textContent = when;
  $("conf-when").hidden = !when;
}

/** `starts`–`ends` in the page's language ("December 1 – 2, 2026"). */
function conferenceDates(c) {
  if (!c.starts && !c.ends) return "";
  const format = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" });
  const start = new Date(`${c.starts || c.ends}T00:00:00Z`);
  const end = new Date(`${c.ends || c.starts}T00:00:00Z`);
  if (isNaN(start) || isNaN(end)) return "";
  return start.getTime() === end.getTime() ? format.format(start) : format.formatRange(start, end);
}

// The categories of the conference the list shows (of every conference
// when it shows all), to filter the list, print runs and exports by.
function fillCategoryFilter() {
  const select = $("f-filter-category");
  const chosen = select.value;
  const type = $("f-filter-type").value;
  const seen = new Map();
  for (const c of conferences) {
    if (type && c.id !== type) continue;
    for (const k of c.categories || []) if (!seen.has(k.id)) seen.set(k.id, labelOf(k.label, lang));
  }
  select.replaceChildren(new Option(t("allCategories"), ""), ...[...seen].map(([id, label]) => new Option(label, id)));
  select.value = seen.has(chosen) ? chosen : "";
  $("filter-category-field").hidden = seen.size === 0;
}

// The chosen conference's own fields, keeping what was typed; its seats
// and whether its sign-up has closed.
function showSignupForm(conference) {
  const extra = $("signup-extra");
  const typed = extra.dataset.conference === conference?.id ? readForm(extra, conference, "f") : {};
  renderForm(extra, conference, { lang, t, values: typed, prefix: "f" });
  extra.dataset.conference = conference?.id || "";
  const note = $("seats-note");
  const closed = Boolean(conference?.closed);
  $("submit").disabled = closed;
  if (closed) {
    note.textContent = t("signupClosed");
  } else if (conference?.capacity != null) {
    note.textContent = t(conference.waitlist ? "seatsNoteWaitlist" : "seatsNote", { seats: conference.capacity });
  }
  note.hidden = !(closed || conference?.capacity != null);
}

const conferenceOf = (id) => conferences.find((c) => c.id === id);
const categoryLabel = (r) => {
  const c = conferenceOf(r.type)?.categories.find((k) => k.id === r.category);
  return c ? labelOf(c.label, lang) : r.category || "";
};

// When the conference erases its registrations (SPEC §9), said before signing up.
function showRetention(conference) {
  const hint = $("h-type");
  const from = conference?.erased_from ? new Date(conference.erased_from) : null;
  hint.hidden = !from;
  if (!from) return;
  const date = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeZone: "UTC" }).format(from);
  hint.textContent = t("retentionNote", { date });
}

// ---- Sign-up -------------------------------------------------------------

function setFieldError(name, key, message) {
  const input = $(`f-${name}`);
  const err = $(`e-${name}`);
  if (!input || !err) return;
  err.dataset.key = key || "";
  err.textContent = key ? t(key) : message || "";
  input.setAttribute("aria-invalid", key || message ? "true" : "false");
}

function validate(name) {
  const input = $(`f-${name}`);
  const key = checkField(name, input.value);
  const missing = printable.missing[name];
  if (!key && missing?.value === input.value) {
    setFieldError(name, null, t("unprintable", { chars: missing.chars.join(" ") }));
    return false;
  }
  setFieldError(name, key);
  return !key;
}

// What the badge fonts cannot print, as the server says (it knows the
// fonts, bundled, configured and installed): asked as the user types.
const printable = { timers: {}, missing: {} };

function checkPrintable(name) {
  clearTimeout(printable.timers[name]);
  printable.timers[name] = setTimeout(async () => {
    const value = $(`f-${name}`).value;
    if (!value.trim() || checkField(name, value)) return;
    try {
      const res = await api(`/api/printable?text=${encodeURIComponent(value)}`);
      if (res.status !== 200 || $(`f-${name}`).value !== value) return;
      printable.missing[name] = res.body.printable ? null : { value, chars: res.body.missing };
      validate(name);
    } catch {
      // The server checks again at sign-up.
    }
  }, 250);
}

function setupSignup() {
  const form = $("signup");
  for (const name of FIELDS) {
    const input = $(`f-${name}`);
    input.addEventListener("input", () => {
      if (input.getAttribute("aria-invalid") === "true" || input.value.length > 0) validate(name);
      if (name === "user_name" || name === "company_name") checkPrintable(name);
    });
    input.addEventListener("blur", () => {
      if (input.value) validate(name);
    });
  }
  $("f-type").addEventListener("change", fillConferenceSelects);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("signup-status");
    const valid = FIELDS.map(validate).every(Boolean);
    if (!valid) {
      status.textContent = t("fixFields");
      form.querySelector("[aria-invalid='true']")?.focus();
      return;
    }
    const data = Object.fromEntries(FIELDS.map((n) => [n, $(`f-${n}`).value]));
    data.contact_on_badge = $("f-contact_on_badge").checked;
    const extra = $("signup-extra");
    clearFormErrors(extra);
    Object.assign(data, readForm(extra, conferenceOf(data.type), "f"));
    const submit = $("submit");
    submit.disabled = true;
    submit.classList.add("busy");
    status.textContent = t("submitting");
    try {
      const { status: code, body } = await api("/api/registrations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data),
      });
      if (code === 201) {
        // The badge card below follows the badge; this line only says the sign-up worked.
        status.textContent = t(body.status === "waitlisted" ? "waitlistedShort" : "registeredShort");
        startBadge(body);
      } else if (code === 409) {
        status.textContent = t(body?.error?.code === "full" ? "full" : "duplicate");
        status.className = "status notice";
      } else if (code === 400 && body?.error && showFormError($("signup-extra"), "f", body.error)) {
        status.textContent = t("fixFields");
      } else if (code === 400 && body?.error?.field && $(`f-${body.error.field}`)) {
        setFieldError(body.error.field, null, body.error.message);
        status.textContent = t("fixFields");
        $(`f-${body.error.field}`).focus();
      } else {
        status.textContent = body?.error?.message || t("serverError");
      }
    } catch {
      status.textContent = t("networkError");
    } finally {
      submit.disabled = false;
      submit.classList.remove("busy");
    }
  });
}

// ---- Badge preview ---------------------------------------------------------

const badge = { url: null, name: "", state: null, timer: null };

function startBadge(registration) {
  clearTimeout(badge.timer);
  badge.url = registration.badge.url;
  // The attendee's own page; the token travels in the fragment, never to a server.
  $("my-page").href = `/me#${registration.badge.url.split("/").pop()}`;
  badge.name = registration.user_name;
  $("badge-card").hidden = false;
  $("badge-img").hidden = true;
  $("badge-placeholder").hidden = false;
  $("badge-actions").hidden = true;
  $("badge-note").hidden = true;
  showBadgeState("pending");
  $("badge-card").scrollIntoView({ behavior: "smooth", block: "start" });
  pollBadge(250, Date.now());
}

async function pollBadge(delay, started) {
  let info = null;
  try {
    const res = await api(badge.url);
    if (res.status === 200) info = res.body;
  } catch {
    info = null;
  }
  if (info && info.status === "ready") {
    showBadgeReady(info);
    return;
  }
  if (info && info.status === "failed") {
    showBadgeState("failed");
    return;
  }
  if (Date.now() - started > 30000) showBadgeState("slow");
  badge.timer = setTimeout(() => pollBadge(Math.min(delay * 1.6, 5000), started), delay);
}

function showBadgeState(state) {
  badge.state = state;
  const key = { pending: "badgePending", ready: "badgeReady", failed: "badgeFailed", slow: "badgeSlow" }[state];
  $("badge-state").textContent = t(key);
  $("badge-img").alt = t("badgeAlt", { name: badge.name });
}

function showBadgeReady(info) {
  const img = $("badge-img");
  img.onload = () => {
    img.hidden = false;
    $("badge-placeholder").hidden = true;
  };
  img.src = info.png;
  $("dl-png").href = info.png;
  $("dl-svg").href = info.svg;
  $("dl-pdf").href = info.pdf;
  $("badge-actions").hidden = false;
  $("badge-note").hidden = !(info.shortened?.length > 0);
  showBadgeState("ready");
  // On a phone the badge and the link to the attendee's page are below
  // the form: brought into view once there.
  $("badge-card").scrollIntoView({ behavior: "smooth", block: "start" });
}

// ---- Printing: the badge alone, at its physical size -----------------------

function printBadge(src) {
  const img = $("print-img");
  const go = () => {
    document.body.classList.add("printing-badge");
    window.print();
  };
  if (img.getAttribute("src") === src && img.complete) {
    go();
  } else {
    img.onload = go;
    img.src = src;
  }
}
window.addEventListener("afterprint", () => document.body.classList.remove("printing-badge"));

// ---- Attendees -------------------------------------------------------------

const list = { cursors: [null], page: 0, items: [], loaded: false, next: null, searchTimer: null, refresh: null, seq: 0 };

function openAttendees() {
  const hasToken = Boolean(sessionStorage.getItem(TOKEN_KEY));
  $("token-card").hidden = hasToken;
  $("list-card").hidden = !hasToken;
  $("desks-card").hidden = !hasToken;
  $("lists-card").hidden = !hasToken;
  $("form-card").hidden = !hasToken;
  $("message-card").hidden = !hasToken || !conferences.some((c) => c.mails);
  if (hasToken && !$("f-form-text").dataset.loaded) loadForm();
  if (hasToken && !list.loaded) {
    loadPage(0);
    loadDesks();
  }
  if (hasToken && !lists.sheets.length) loadSheets();
}

function setupAttendees() {
  $("token-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = $("f-token").value.trim();
    if (!token) {
      $("e-token").textContent = t("required");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    const ok = await loadPage(0);
    if (!ok) return;
    $("f-token").value = "";
    $("e-token").textContent = "";
    openAttendees();
    $("f-q").focus();
  });
  $("forget-token").addEventListener("click", () => {
    clearTimeout(list.refresh);
    sessionStorage.removeItem(TOKEN_KEY);
    list.loaded = false;
    $("attendees").tBodies[0].replaceChildren();
    openAttendees();
    $("f-token").focus();
  });
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("f-q").addEventListener("input", () => {
    clearTimeout(list.searchTimer);
    list.searchTimer = setTimeout(() => loadPage(0, true), 250);
  });
  $("f-filter-type").addEventListener("change", () => {
    fillCategoryFilter();
    loadPage(0, true);
  });
  $("f-filter-category").addEventListener("change", () => loadPage(0, true));
  $("next-page").addEventListener("click", () => loadPage(list.page + 1));
  $("prev-page").addEventListener("click", () => loadPage(list.page - 1));
}

async function loadPage(page, reset = false) {
  clearTimeout(list.refresh);
  const seq = ++list.seq;
  if (reset) list.cursors = [null];
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const q = $("f-q").value.trim();
  const type = $("f-filter-type").value;
  if (q) params.set("q", q);
  if (type) params.set("type", type);
  if ($("f-filter-category").value) params.set("category", $("f-filter-category").value);
  const cursor = list.cursors[page];
  if (cursor) params.set("cursor", cursor);
  $("list-status").textContent = t("loading");
  let res;
  try {
    res = await api(`/api/registrations?${params}`, { headers: organizerHeaders() });
  } catch {
    $("list-status").textContent = t("networkError");
    return false;
  }
  if (seq !== list.seq) return true; // a newer request has taken over
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    list.loaded = false;
    openAttendees();
    $("e-token").textContent = t("wrongToken");
    $("f-token").setAttribute("aria-invalid", "true");
    return false;
  }
  if (res.status !== 200) {
    $("list-status").textContent = res.body?.error?.message || t("serverError");
    return false;
  }
  list.page = page;
  list.items = res.body.items;
  list.next = res.body.next_cursor;
  list.cursors[page + 1] = list.next;
  list.loaded = true;
  renderRows(list.items);
  loadStats();
  // Badges still being made: look again shortly so their status stays current.
  if (list.items.some((r) => r.badge?.status === "pending")) {
    list.refresh = setTimeout(() => {
      if (!$("panel-attendees").hidden && !$("badge-dialog").open) loadPage(list.page);
    }, 2000);
  }
  return true;
}

function statusLabel(b) {
  if (!b) return t("statusNone");
  return t({ pending: "statusPending", ready: "statusReady", failed: "statusFailed" }[b.status]);
}

function renderRows(items) {
  const body = $("attendees").tBodies[0];
  const rows = items.map((r) => {
    const tr = document.createElement("tr");
    const cell = (text, label) => {
      const td = document.createElement("td");
      td.textContent = text;
      td.dataset.label = label;
      return td;
    };
    const conference = conferences.find((c) => c.id === r.type)?.title || r.type;
    tr.append(cell(r.user_name, t("colName")), cell(r.company_name || "", t("colCompany")), cell(conference, t("colConference")));
    const seat = cell("", t("colSeat"));
    const seatPill = document.createElement("span");
    seatPill.className = `pill seat-${r.status}`;
    seatPill.textContent = t(`seat_${r.status}`);
    seat.append(seatPill);
    if (r.category) seat.append(" ", categoryLabel(r));
    tr.append(seat);
    const status = cell("", t("colBadge"));
    const pill = document.createElement("span");
    pill.className = `pill ${r.badge ? r.badge.status : "none"}`;
    pill.textContent = statusLabel(r.badge);
    if (r.badge?.error) pill.title = r.badge.error;
    status.append(pill);
    tr.append(status);
    const checkin = cell(r.checked_in ? t("checkedInAt", { time: timeOf(r.checked_in.at) }) + ` · ${r.checked_in.desk}` : t("notCheckedIn"), t("colCheckin"));
    tr.append(checkin);
    const actionsCell = document.createElement("td");
    const actions = document.createElement("div");
    actions.className = "row-actions";
    actionsCell.append(actions);
    if (r.badge?.status === "ready") {
      const view = document.createElement("button");
      view.type = "button";
      view.textContent = t("viewBadge");
      view.setAttribute("aria-label", `${t("viewBadge")}: ${r.user_name}`);
      view.addEventListener("click", () => openDialog(r, view));
      actions.append(view);
    }
    if (r.checked_in) {
      const undo = document.createElement("button");
      undo.type = "button";
      undo.textContent = t("undoCheckin");
      undo.setAttribute("aria-label", `${t("undoCheckin")}: ${r.user_name}`);
      undo.addEventListener("click", async () => {
        undo.disabled = true;
        const path = `/api/registrations/${encodeURIComponent(r.user_id)}/${encodeURIComponent(r.type)}/checkin`;
        try {
          await api(path, { method: "DELETE", headers: organizerHeaders() });
        } finally {
          loadPage(list.page);
        }
      });
      actions.append(undo);
    }
    const button = (key, onClick) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = t(key);
      b.setAttribute("aria-label", `${t(key)}: ${r.user_name}`);
      b.addEventListener("click", () => onClick(b));
      actions.append(b);
    };
    button("edit", (b) => openEdit(r, b));
    if (["waitlisted", "offered", "expired", "withdrawn"].includes(r.status) && conferenceOf(r.type)?.capacity != null) {
      button("seatGive", (b) => moveSeat(r, "confirm", b));
    }
    if (["confirmed", "offered", "waitlisted"].includes(r.status) && conferenceOf(r.type)?.capacity != null) {
      button("seatWithdraw", (b) => {
        if (window.confirm(t("seatWithdrawConfirm", { name: r.user_name }))) moveSeat(r, "withdraw", b);
      });
    }
    if (!r.badge || r.badge.status === "failed") {
      const again = document.createElement("button");
      again.type = "button";
      again.textContent = t("rerender");
      again.setAttribute("aria-label", `${t("rerender")}: ${r.user_name}`);
      again.addEventListener("click", () => rerender(r, again));
      actions.append(again);
    }
    tr.append(actionsCell);
    return tr;
  });
  body.replaceChildren(...rows);
  $("list-status").textContent = items.length ? t("shown", { n: items.length }) : t("noResults");
  $("prev-page").disabled = list.page === 0;
  $("next-page").disabled = !list.next;
  $("page-no").textContent = t("page", { n: list.page + 1 });
}

async function rerender(r, button) {
  button.disabled = true;
  button.textContent = t("rerendering");
  const path = `/api/registrations/${encodeURIComponent(r.user_id)}/${encodeURIComponent(r.type)}/badge`;
  try {
    await api(path, { method: "POST", headers: organizerHeaders() });
  } finally {
    setTimeout(() => loadPage(list.page), 800);
  }
}

const registrationPath = (r) => `/api/registrations/${encodeURIComponent(r.user_id)}/${encodeURIComponent(r.type)}`;

async function moveSeat(r, action, button) {
  button.disabled = true;
  try {
    const res = await api(`${registrationPath(r)}/seat`, {
      method: "POST",
      headers: { ...organizerHeaders(), "Content-Type": "application/json" },
      body: JSON.stringify({ action }),
    });
    if (res.status !== 200) $("list-status").textContent = res.body?.error?.message || t("serverError");
    else loadPage(list.page);
  } catch {
    $("list-status").textContent = t("networkError");
  } finally {
    button.disabled = false;
  }
}

// ---- A conference's form ---------------------------------------------------------

async function loadForm() {
  const type = $("f-form-type").value;
  if (!type) return;
  $("e-form-text").textContent = "";
  try {
    const res = await api(`/api/conferences/${encodeURIComponent(type)}/form`, { headers: organizerHeaders() });
    if (res.status === 200) {
      $("f-form-text").value = res.body.form;
      $("f-form-text").dataset.loaded = type;
    }
  } catch {
    $("form-status").textContent = t("networkError");
  }
}

// ---- E-mail: a lost badge link, organizers' messages ------------------------

function setupLostLink() {
  $("lost-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = $("e-lost-email");
    error.textContent = "";
    $("lost-status").textContent = "";
    let res;
    try {
      res = await api("/api/badges/lookup", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: $("f-lost-email").value }),
      });
    } catch {
      $("lost-status").textContent = t("networkError");
      return;
    }
    if (res.status === 202) {
      $("lost-status").textContent = t("lostSent");
    } else if (res.status === 400) {
      error.textContent = res.body?.error?.message || t("serverError");
    } else {
      $("lost-status").textContent = res.body?.error?.message || t("serverError");
    }
  });
}

function fillMessageCategories() {
  const select = $("f-message-category");
  const chosen = select.value;
  const conference = conferences.find((c) => c.id === $("f-message-type").value);
  const categories = conference?.categories || [];
  select.replaceChildren(new Option(t("allCategories"), ""), ...categories.map((c) => new Option(labelOf(c.label, lang), c.id)));
  select.value = categories.some((c) => c.id === chosen) ? chosen : "";
}

async function sendMessage(dryRun) {
  for (const id of ["e-message-subject", "e-message-body"]) $(id).textContent = "";
  const status = $("message-status");
  status.textContent = "";
  const body = {
    type: $("f-message-type").value,
    category: $("f-message-category").value || null,
    seat: $("f-message-seat").value || null,
    subject: $("f-message-subject").value,
    body: $("f-message-body").value,
    dry_run: dryRun,
  };
  let res;
  try {
    res = await api("/api/messages", {
      method: "POST",
      headers: { ...organizerHeaders(), "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    status.textContent = t("networkError");
    return null;
  }
  if (res.status === 200 || res.status === 202) return res.body;
  const field = res.body?.error?.field;
  const message = res.body?.error?.message || t("serverError");
  if (res.status === 400 && (field === "subject" || field === "body")) {
    $(`e-message-${field}`).textContent = message;
  } else {
    status.textContent = message;
  }
  return null;
}

function setupMessages() {
  $("f-message-type").addEventListener("change", fillMessageCategories);
  $("message-count").addEventListener("click", async () => {
    const counted = await sendMessage(true);
    if (counted) {
      $("message-status").textContent = t("messageCounted", { recipients: counted.recipients, without: counted.without_email });
    }
  });
  $("message-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const counted = await sendMessage(true);
    if (!counted) return;
    if (!confirm(t("messageConfirm", { recipients: counted.recipients }))) return;
    const sent = await sendMessage(false);
    if (sent) $("message-status").textContent = t("messageSent", { recipients: sent.recipients });
  });
}

function setupForm() {
  $("f-form-type").addEventListener("change", loadForm);
  $("form-editor").addEventListener("submit", async (e) => {
    e.preventDefault();
    const type = $("f-form-type").value;
    const error = $("e-form-text");
    error.textContent = "";
    $("f-form-text").removeAttribute("aria-invalid");
    let res;
    try {
      res = await api(`/api/conferences/${encodeURIComponent(type)}/form`, {
        method: "PUT",
        headers: { ...organizerHeaders(), "Content-Type": "application/json" },
        body: JSON.stringify({ form: $("f-form-text").value }),
      });
    } catch {
      $("form-status").textContent = t("networkError");
      return;
    }
    if (res.status === 200) {
      $("form-status").textContent = t("formSaved");
      await loadConferences();
    } else if (res.status === 400) {
      error.textContent = res.body?.error?.message || t("serverError");
      $("f-form-text").setAttribute("aria-invalid", "true");
      $("form-status").textContent = "";
    } else {
      $("form-status").textContent = res.body?.error?.message || t("serverError");
    }
  });
}

// ---- Editing and deleting a registration --------------------------------------

const editing = { r: null, opener: null };

function openEdit(r, opener) {
  editing.r = r;
  editing.opener = opener;
  $("edit-title").textContent = t("editTitle", { name: r.user_name });
  $("g-user_name").value = r.user_name;
  $("g-company_name").value = r.company_name || "";
  $("g-phone_number").value = r.phone_number;
  $("edit-status").textContent = "";
  const extra = $("edit-extra");
  renderForm(extra, conferenceOf(r.type), { lang, t, values: r, prefix: "g", organizer: true });
  clearFormErrors($("edit-form"));
  $("edit-dialog").showModal();
  $("g-user_name").focus();
}

function setupEdit() {
  const dialog = $("edit-dialog");
  $("edit-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => editing.opener?.focus());
  $("edit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = editing.r;
    const form = $("edit-form");
    clearFormErrors(form);
    const extra = $("edit-extra");
    const read = readForm(extra, conferenceOf(r.type), "g");
    const body = {
      user_name: $("g-user_name").value,
      company_name: $("g-company_name").value,
      phone_number: $("g-phone_number").value,
      answers: read.answers,
      category: read.category ?? "",
    };
    if ("email" in read) body.email = read.email;
    let res;
    try {
      res = await api(registrationPath(r), {
        method: "PATCH",
        headers: { ...organizerHeaders(), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      $("edit-status").textContent = t("networkError");
      return;
    }
    if (res.status === 200) {
      dialog.close();
      $("list-status").textContent = t("edited");
      loadPage(list.page);
    } else if (res.status === 400 && res.body?.error && showFormError(extra, "g", res.body.error)) {
      $("edit-status").textContent = t("fixFields");
    } else if (res.status === 400 && $(`e-g-${res.body?.error?.field}`)) {
      $(`e-g-${res.body.error.field}`).textContent = res.body.error.message;
      $(`g-${res.body.error.field}`).focus();
    } else {
      $("edit-status").textContent = res.body?.error?.message || t("serverError");
    }
  });
  $("edit-delete").addEventListener("click", async () => {
    const r = editing.r;
    if (!window.confirm(t("deleteConfirm", { name: r.user_name }))) return;
    let res;
    try {
      res = await api(registrationPath(r), { method: "DELETE", headers: organizerHeaders() });
    } catch {
      $("edit-status").textContent = t("networkError");
      return;
    }
    if (res.status === 204 || res.status === 404) {
      dialog.close();
      loadPage(list.page);
    } else {
      $("edit-status").textContent = res.body?.error?.message || t("serverError");
    }
  });
}

function timeOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

// ---- Check-in statistics and desks -------------------------------------------

async function loadStats() {
  const type = $("f-filter-type").value;
  let res;
  try {
    res = await api(`/api/checkins/stats${type ? `?type=${encodeURIComponent(type)}` : ""}`, { headers: organizerHeaders() });
  } catch {
    return;
  }
  if (res.status !== 200) return;
  const parts = res.body.conferences.map((c) => {
    const title = conferences.find((x) => x.id === c.type)?.title || c.type;
    const desks = c.per_desk.map((d) => `${d.desk} ${d.checked_in}`).join(", ");
    const seats = c.seats ? ` · ${t("seatsLine", { held: c.seats.held, capacity: c.seats.capacity })}` : "";
    return `${title}: ${t("statsLine", { checked: c.checked_in, registered: c.registered })}${desks ? ` (${desks})` : ""}${seats}`;
  });
  $("stats").textContent = parts.join(" · ");
}

async function loadDesks() {
  $("desks-lead").textContent = t("desksLead", { url: `${location.origin}/desk` });
  let res;
  try {
    res = await api("/api/desks", { headers: organizerHeaders() });
  } catch {
    return;
  }
  if (res.status !== 200) return;
  const items = res.body.items.map((d) => {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = d.name;
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.textContent = t("deskRevoke");
    revoke.setAttribute("aria-label", `${t("deskRevoke")}: ${d.name}`);
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      await api(`/api/desks/${encodeURIComponent(d.name)}`, { method: "DELETE", headers: organizerHeaders() }).catch(() => {});
      $("desk-token").hidden = true;
      $("desk-enrol").hidden = true;
      loadDesks();
    });
    const enrol = document.createElement("button");
    enrol.type = "button";
    enrol.textContent = t("deskEnrol");
    enrol.setAttribute("aria-label", `${t("deskEnrol")}: ${d.name}`);
    enrol.addEventListener("click", () => showEnrolment(d.name));
    const actions = document.createElement("span");
    actions.append(enrol, revoke);
    li.append(name, actions);
    return li;
  });
  $("desk-list").replaceChildren(...(items.length ? items : [Object.assign(document.createElement("li"), { textContent: t("deskNone") })]));
}

function isLoopback(host) {
  return host === "localhost" || host.endsWith(".localhost") || host.startsWith("127.") || host === "[::1]";
}

/**
 * The address a desk's phone can open: this page's, unless it is this
 * computer's own (localhost), then the network address `serve --tls lan`
 * names; null when there is none.
 */
async function phoneOrigin() {
  if (!isLoopback(location.hostname)) return location.origin;
  try {
    const res = await api("/api/tls");
    if (res.status === 200 && res.body?.addresses?.length) return res.body.addresses[0];
  } catch {
    // No TLS page: no network address known.
  }
  return null;
}

/** Shows a one-time QR code that signs a phone in as the desk `name`. */
async function showEnrolment(name) {
  const origin = await phoneOrigin();
  let res;
  try {
    res = await api(`/api/desks/${encodeURIComponent(name)}/enrolment`, {
      method: "POST",
      headers: { ...organizerHeaders(), "Content-Type": "application/json" },
      body: JSON.stringify({ origin: origin || location.origin }),
    });
  } catch {
    $("e-desk-name").textContent = t("networkError");
    return;
  }
  if (res.status !== 201) {
    $("e-desk-name").textContent = res.body?.error?.message || t("serverError");
    return;
  }
  $("e-desk-name").textContent = "";
  $("desk-token").hidden = true;
  $("desk-enrol-lead").textContent = t("deskEnrolLead", { name: res.body.name });
  $("desk-enrol-qr").src = `data:image/svg+xml,${encodeURIComponent(res.body.qr_svg)}`;
  $("desk-enrol-qr").alt = t("deskEnrol");
  $("desk-enrol-warning").textContent = origin ? "" : t("deskEnrolLoopback");
  $("desk-enrol-link").href = res.body.url;
  $("desk-enrol-link").textContent = res.body.url;
  $("desk-enrol").hidden = false;
  $("desk-enrol").scrollIntoView({ block: "nearest" });
}

function setupDesks() {
  $("desk-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("f-desk-name").value.trim();
    const error = $("e-desk-name");
    if (!name) {
      error.textContent = t("required");
      return;
    }
    let res;
    try {
      res = await api("/api/desks", {
        method: "POST",
        headers: { ...organizerHeaders(), "Content-Type": "application/json" },
        body: JSON.stringify({ name }),
      });
    } catch {
      error.textContent = t("networkError");
      return;
    }
    if (res.status !== 201) {
      error.textContent = res.body?.error?.message || t("serverError");
      return;
    }
    error.textContent = "";
    $("f-desk-name").value = "";
    $("desk-token-label").textContent = t("deskCreated", { name: res.body.name });
    $("desk-token-value").textContent = res.body.token;
    $("desk-token").hidden = false;
    $("desk-enrol").hidden = true;
    loadDesks();
  });
}

// ---- Print runs, exports and imports ---------------------------------------

const lists = { sheets: [] };

async function loadSheets() {
  let res;
  try {
    res = await api("/api/sheets", { headers: organizerHeaders() });
  } catch {
    return;
  }
  if (res.status !== 200) return;
  lists.sheets = res.body.sheets;
  const select = $("f-sheet");
  const chosen = select.value || "card";
  select.replaceChildren(
    ...lists.sheets.map((s) => {
      const option = document.createElement("option");
      option.value = s.name;
      option.textContent = `${s.name} — ${s.columns} × ${s.rows}`;
      option.selected = s.name === chosen;
      return option;
    }),
  );
  describeSheet();
}

function describeSheet() {
  const sheet = lists.sheets.find((s) => s.name === $("f-sheet").value);
  if (!sheet) return;
  $("sheet-about").textContent = t("sheetAbout", {
    description: sheet.description,
    width: sheet.page_width_mm,
    height: sheet.page_height_mm,
    count: sheet.per_page,
  });
  $("f-skip").max = String(sheet.per_page - 1);
}

// The list's filters as a query string, plus `extra`.
function listQuery(extra = {}) {
  const params = new URLSearchParams();
  const q = $("f-q").value.trim();
  const type = $("f-filter-type").value;
  if (q) params.set("q", q);
  if (type) params.set("type", type);
  if ($("f-filter-category").value) params.set("category", $("f-filter-category").value);
  for (const [k, v] of Object.entries(extra)) {
    if (v !== "" && v !== undefined && v !== null) params.set(k, String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

// Fetches a file with the organizer token and hands it to the browser as a download.
async function download(path, fallbackName) {
  const status = $("lists-status");
  status.textContent = t("preparing");
  let res;
  try {
    res = await fetch(path, { headers: organizerHeaders() });
  } catch {
    status.textContent = t("networkError");
    return false;
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    status.textContent = body?.error?.message || t("serverError");
    return false;
  }
  let blob;
  try {
    blob = await res.blob();
  } catch {
    status.textContent = t("serverError");
    return false;
  }
  const disposition = res.headers.get("content-disposition") || "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] || fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  status.textContent = t("downloaded", { name });
  return true;
}

// ---- The import's column-mapping step ------------------------------------------

const IMPORT_FIELDS = ["user_id", "type", "user_name", "phone_number", "company_name", "contact_on_badge", "checkin_code", "email", "category"];
const EXPORT_ONLY = ["created_at", "badge_status", "checked_in_at", "checked_in_desk", "badge_url", "status", "offer_expires_at"];

// The header line's cells: the file's first line, split on the most
// frequent of comma, semicolon and tab outside quotes (as the server does).
export function headerCells(text) {
  const line = [];
  let quoted = false;
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === "\n" || c === "\r")) {
      end = i;
      break;
    }
  }
  const head = text.slice(0, end).replace(/^\uFEFF/, "");
  const count = (d) => head.split(d).length;
  const delimiter = [",", ";", "\t"].reduce((best, d) => (count(d) > count(best) ? d : best), ",");
  let cell = "";
  quoted = false;
  for (const c of head) {
    if (c === '"') quoted = !quoted;
    else if (c === delimiter && !quoted) {
      line.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  line.push(cell.trim());
  return line;
}

// Every field a column can fill: the sign-up's, then the answers of the
// chosen conference's questions (or of every conference's).
function importTargets() {
  const chosen = $("f-import-type").value;
  const questions = new Map();
  for (const c of conferences) {
    if (chosen && c.id !== chosen) continue;
    for (const q of c.questions) if (!questions.has(q.id)) questions.set(q.id, labelOf(q.label, lang));
  }
  return [
    ...IMPORT_FIELDS.map((f) => ({ value: f, text: f })),
    ...[...questions].map(([id, label]) => ({ value: `answer:${id}`, text: `${label} (answer:${id})` })),
  ];
}

// A column's likely field: its own name, or a question whose label or id it is.
function guessTarget(header, targets) {
  const h = header.trim().toLowerCase();
  if (EXPORT_ONLY.includes(h)) return "-";
  const exact = targets.find((x) => x.value.toLowerCase() === h || x.value === `answer:${h}`);
  if (exact) return exact.value;
  const byLabel = targets.find((x) => x.text.toLowerCase().startsWith(`${h} (`));
  return byLabel ? byLabel.value : "-";
}

const importing = { headers: [] };

async function showMapping() {
  const file = $("f-import").files[0];
  const box = $("import-columns");
  importing.headers = [];
  box.replaceChildren();
  $("import-mapping").hidden = true;
  if (!file) return;
  let text;
  try {
    text = await file.slice(0, 64 * 1024).text();
  } catch {
    return;
  }
  importing.headers = headerCells(text).filter((h) => h !== "");
  const targets = importTargets();
  const rows = importing.headers.map((header, i) => {
    const wrap = document.createElement("div");
    wrap.className = "field mapping-row";
    const label = document.createElement("label");
    label.htmlFor = `map-${i}`;
    label.textContent = header;
    const select = document.createElement("select");
    select.id = `map-${i}`;
    select.dataset.header = header;
    select.append(new Option(t("importIgnore"), "-"), ...targets.map((x) => new Option(x.text, x.value)));
    select.value = guessTarget(header, targets);
    wrap.append(label, select);
    return wrap;
  });
  box.replaceChildren(...rows);
  $("import-mapping").hidden = rows.length === 0;
}

// The mapping as the server takes it: only columns not named as their field.
function mappingParam() {
  const pairs = [];
  for (const select of $("import-columns").querySelectorAll("select")) {
    const header = select.dataset.header;
    if (select.value === header) continue;
    // The server's `map` is comma-separated pairs.
    if (header.includes(",") || header.includes("=")) continue;
    pairs.push(`${header}=${select.value}`);
  }
  return pairs.join(",");
}

function setupLists() {
  $("f-sheet").addEventListener("change", describeSheet);
  $("f-import").addEventListener("change", showMapping);
  $("f-import-type").addEventListener("change", showMapping);
  $("print-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const query = listQuery({
      sheet: $("f-sheet").value,
      checked_in: $("f-print-who").value,
      skip: $("f-skip").value || 0,
      cut_marks: $("f-cut-marks").checked ? "true" : "",
    });
    download(`/api/badges.pdf${query}`, "badges.pdf");
  });
  $("export-csv").addEventListener("click", () => download(`/api/registrations.csv${listQuery()}`, "registrations.csv"));
  $("export-xlsx").addEventListener("click", () => download(`/api/registrations.xlsx${listQuery()}`, "registrations.xlsx"));
  $("import-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("lists-status");
    const file = $("f-import").files[0];
    $("import-problems").replaceChildren();
    if (!file) {
      status.textContent = t("importChoose");
      return;
    }
    status.textContent = t("importing");
    const dryRun = $("f-dry-run").checked;
    const params = new URLSearchParams();
    if (dryRun) params.set("dry_run", "true");
    if ($("f-import-type").value) params.set("type", $("f-import-type").value);
    const map = mappingParam();
    if (map) params.set("map", map);
    // A large file is stored over several requests, each going on where
    // the last one's time ran out (its next_line); their reports add up.
    const r = { dry_run: dryRun, created: 0, already_registered: 0, invalid: 0, conflicts: 0, rows: [] };
    for (let fromLine = 0; ;) {
      if (fromLine) params.set("from_line", String(fromLine));
      let res;
      try {
        res = await api(`/api/registrations/import?${params}`, {
          method: "POST",
          headers: { ...organizerHeaders(), "Content-Type": "text/csv" },
          body: file,
        });
      } catch {
        status.textContent = t("networkError");
        if (r.created > 0) loadPage(0, true);
        return;
      }
      if (res.status !== 200) {
        status.textContent = res.body?.error?.message || t("serverError");
        if (r.created > 0) loadPage(0, true);
        return;
      }
      const part = res.body;
      r.dry_run = part.dry_run;
      for (const k of ["created", "already_registered", "invalid", "conflicts"]) r[k] += part[k];
      r.rows.push(...part.rows);
      if (!part.next_line) break;
      fromLine = part.next_line;
      status.textContent = t("importingFrom", { line: fromLine, created: r.created });
    }
    status.textContent = t(r.dry_run ? "importDryReport" : "importReport", {
      created: r.created,
      already: r.already_registered,
      // A row whose code belongs to someone else is refused like an invalid one.
      invalid: r.invalid + r.conflicts,
    });
    const problems = r.rows
      .filter((row) => row.status !== "created")
      .slice(0, 200)
      .map((row) => {
        const li = document.createElement("li");
        li.textContent = row.status === "invalid" || row.status === "conflict"
          ? t("importInvalid", { line: row.line, reason: row.reason })
          : t("importAlready", { line: row.line, user: row.user_id || "" });
        return li;
      });
    $("import-problems").replaceChildren(...problems);
    if (!r.dry_run && r.created > 0) loadPage(0, true);
  });
}

// ---- Badge dialog -----------------------------------------------------------

let dialogOpener = null;
let dialogSrc = "";

function openDialog(r, opener) {
  dialogOpener = opener;
  dialogSrc = `${r.badge.url}.png`;
  $("dialog-title").textContent = r.user_name;
  const img = $("dialog-img");
  img.alt = t("badgeAlt", { name: r.user_name });
  img.src = dialogSrc;
  $("badge-dialog").showModal();
  $("dialog-print").focus();
}

function setupDialog() {
  const dialog = $("badge-dialog");
  $("dialog-close").addEventListener("click", () => dialog.close());
  $("dialog-print").addEventListener("click", () => printBadge(dialogSrc));
  dialog.addEventListener("close", () => dialogOpener?.focus());
  $("print-badge").addEventListener("click", () => printBadge($("dl-png").getAttribute("href")));
}

// ---- Start -------------------------------------------------------------------

$("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem(LANG_KEY, lang);
  applyLanguage();
});
setupTabs();
setupSignup();
setupAttendees();
setupDialog();
setupEdit();
setupForm();
setupLostLink();
setupMessages();
setupDesks();
setupLists();
applyLanguage();
loadConferences();
