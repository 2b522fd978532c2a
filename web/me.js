// The attendee's own page, opened from their badge link (/me#TOKEN): what is
// stored, changes to the name, company and consent, and erasure. The token
// stays in the URL's fragment, which browsers never send to a server.
import { STRINGS, pickLanguage } from "./i18n.js";
import { clearFormErrors, readForm, renderForm, showFormError } from "./form.js";

const $ = (id) => document.getElementById(id);
const LANG_KEY = "lanyard.lang";
let lang = pickLanguage(localStorage.getItem(LANG_KEY), navigator.languages);
let stored = null;
let statusKey = null;
let conference = null;

function t(key, vars = {}) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

function status(key, message) {
  statusKey = key;
  $("me-status").textContent = key ? t(key) : message || "";
}

function applyLanguage() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  if (statusKey) status(statusKey);
  if (stored) show(stored);
}

const token = decodeURIComponent(location.hash.slice(1));
const url = `/api/badges/${encodeURIComponent(token)}`;

async function load() {
  if (!/^[A-Za-z0-9_-]{22}$/.test(token)) return status("meNotFound");
  let res;
  try {
    res = await fetch(url, { headers: { Accept: "application/json" } });
  } catch {
    return status("networkError");
  }
  if (res.status !== 200) return status("meNotFound");
  const body = await res.json();
  try {
    const list = await (await fetch("/api/conferences")).json();
    conference = list.items.find((c) => c.id === body.registration.type) || null;
    if (conference?.accent) document.documentElement.style.setProperty("--accent", conference.accent);
  } catch {
    conference = null;
  }
  stored = body;
  show(body);
  $("me").hidden = false;
  status(null);
}

function show(badge) {
  const r = badge.registration;
  $("me-type").textContent = r.type;
  $("me-user_id").textContent = r.user_id;
  $("me-phone_number").textContent = r.phone_number;
  $("me-code").textContent = r.checkin_code || "";
  $("me-checkin").textContent = r.checked_in ? t("checkedInAt", { time: new Date(r.checked_in.at).toLocaleString(lang) }) : t("notCheckedIn");
  $("me-created").textContent = r.created_at ? new Date(r.created_at).toLocaleString(lang) : "";
  $("me-seat").textContent = t(`seat_${r.status}`);
  const offered = r.status === "offered" && r.offer_expires_at;
  $("me-offer").hidden = !offered;
  if (offered) $("me-offer").textContent = t("meOffered", { time: new Date(r.offer_expires_at).toLocaleString(lang) });
  $("me-accept").hidden = !offered;
  $("me-withdraw").hidden = !["confirmed", "offered", "waitlisted"].includes(r.status) || conference?.capacity == null;
  if (document.activeElement?.form !== $("me-form")) {
    $("m-user_name").value = r.user_name;
    $("m-company_name").value = r.company_name || "";
    $("m-contact_on_badge").checked = r.contact_on_badge;
    renderForm($("me-extra"), conference, { lang, t, values: r, prefix: "m" });
  }
  const link = $("me-badge");
  link.hidden = !badge.png;
  if (badge.png) link.href = badge.png;
}

$("me-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  for (const f of ["user_name", "company_name"]) $(`e-${f}`).textContent = "";
  clearFormErrors($("me-extra"));
  const extra = readForm($("me-extra"), conference, "m");
  const body = {
    user_name: $("m-user_name").value,
    company_name: $("m-company_name").value,
    contact_on_badge: $("m-contact_on_badge").checked,
    ...extra,
  };
  if (!conference) delete body.answers;
  let res;
  try {
    res = await fetch(url, { method: "PATCH", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body) });
  } catch {
    return status("networkError");
  }
  const answer = await res.json().catch(() => null);
  if (res.status === 200) {
    status("meSaved");
    setTimeout(load, 1000);
  } else if (res.status === 400 && answer?.error && showFormError($("me-extra"), "m", answer.error)) {
    status("fixFields");
  } else if (res.status === 400 && answer?.error?.field && $(`e-${answer.error.field}`)) {
    $(`e-${answer.error.field}`).textContent = answer.error.message;
    $(`m-${answer.error.field}`).focus();
  } else {
    status(null, answer?.error?.message || t("serverError"));
  }
});

async function seat(action, done) {
  let res;
  try {
    res = await fetch(`${url}/seat`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ action }),
    });
  } catch {
    return status("networkError");
  }
  const answer = await res.json().catch(() => null);
  if (res.status === 200) {
    status(done);
    load();
  } else {
    status(null, answer?.error?.message || t("serverError"));
  }
}

$("me-accept").addEventListener("click", () => seat("confirm", "meAccepted"));
$("me-withdraw").addEventListener("click", () => {
  if (window.confirm(t("meWithdrawConfirm"))) seat("withdraw", "meWithdrawn");
});

$("me-erase").addEventListener("click", async () => {
  if (!window.confirm(t("meEraseConfirm"))) return;
  let res;
  try {
    res = await fetch(url, { method: "DELETE" });
  } catch {
    return status("networkError");
  }
  if (res.status === 204) {
    stored = null;
    $("me").hidden = true;
    status("meErased");
  } else {
    status("serverError");
  }
});

$("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem(LANG_KEY, lang);
  applyLanguage();
});
applyLanguage();
load();
