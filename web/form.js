// A conference's own form, drawn from GET /api/conferences: its e-mail
// field, its categories and its questions. The sign-up, the attendee's
// page and the organizer's edit dialog all draw it here. Labels and
// choices come from the configuration and are inserted as text.

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

// A configured label in the page's language.
export function labelOf(label, lang) {
  if (!label) return "";
  return (lang === "ko" && label.ko) || label.en;
}

function field(id, labelText, required, t, control, hint) {
  const wrap = el("div", { className: "field" });
  const label = el("label", { htmlFor: id });
  label.append(labelText);
  if (!required) label.append(" ", el("span", { className: "optional", textContent: t("optional") }));
  const error = el("p", { className: "error", id: `e-${id}` });
  error.setAttribute("aria-live", "polite");
  control.setAttribute("aria-describedby", `e-${id}`);
  wrap.append(label, control);
  if (hint) wrap.append(el("p", { className: "hint", textContent: hint }));
  wrap.append(error);
  return wrap;
}

// Draws the form of `conference` into `container`, filled with `values`
// (a registration, or nothing). `prefix` keeps ids apart when two forms
// share a page; `organizer` offers every category, not only public ones.
export function renderForm(container, conference, { lang, t, values = {}, prefix = "x", organizer = false }) {
  container.replaceChildren();
  if (!conference) return;
  if (conference.email !== "off") {
    const input = el("input", { id: `${prefix}-email`, type: "email", autocomplete: "email", maxLength: 254, value: values.email || "" });
    input.required = conference.email === "required";
    container.append(field(input.id, t("fieldEmail"), input.required, t, input));
  }
  const offered = conference.categories.filter((c) => organizer || c.public || c.id === values.category);
  if (offered.length > 0 && (organizer || offered.length > 1 || !conference.default_category)) {
    const select = el("select", { id: `${prefix}-category` });
    if (!conference.default_category) select.append(new Option(t("categoryNone"), ""));
    for (const c of offered) select.append(new Option(labelOf(c.label, lang), c.id));
    select.value = values.category || conference.default_category || "";
    // An attendee whose category the organizers gave keeps it.
    const given = conference.categories.find((c) => c.id === values.category);
    if (!organizer && given && !given.public) select.disabled = true;
    container.append(field(select.id, t("fieldCategory"), Boolean(conference.default_category), t, select));
  }
  const answers = values.answers || {};
  for (const q of conference.questions) {
    const id = `${prefix}-q-${q.id}`;
    const label = labelOf(q.label, lang);
    const value = answers[q.id];
    let control;
    switch (q.kind) {
      case "choice": {
        control = el("select", { id });
        control.append(new Option(q.required ? t("choose") : "—", ""));
        for (const c of q.choices) control.append(new Option(c, c));
        control.value = value ?? "";
        break;
      }
      case "multi": {
        control = el("fieldset", { id, className: "choices" });
        control.append(el("legend", { className: "visually-hidden", textContent: label }));
        q.choices.forEach((c, i) => {
          const box = el("input", { type: "checkbox", id: `${id}-${i}`, value: c, checked: Array.isArray(value) && value.includes(c) });
          control.append(el("label", { className: "choice", htmlFor: box.id }, box, " ", c));
        });
        break;
      }
      case "bool": {
        const box = el("input", { type: "checkbox", id, checked: value === true });
        const wrap = el("div", { className: "field check" });
        const error = el("p", { className: "error", id: `e-${id}` });
        wrap.append(box, el("div", {}, el("label", { htmlFor: id, textContent: label }), error));
        container.append(wrap);
        continue;
      }
      default:
        control = el("input", {
          id,
          type: q.kind === "email" ? "email" : "text",
          maxLength: q.max_length,
          value: typeof value === "string" ? value : "",
        });
    }
    control.dataset.question = q.id;
    if (q.required) control.required = true;
    const hint = q.pii ? t("piiHint") : q.on_badge ? t("onBadgeHint") : "";
    container.append(field(id, label, q.required, t, control, hint));
  }
}

// What the drawn form says, as the API takes it.
export function readForm(container, conference, prefix = "x") {
  const out = { answers: {} };
  if (!conference) return out;
  const email = container.querySelector(`#${prefix}-email`);
  if (email) out.email = email.value.trim();
  const category = container.querySelector(`#${prefix}-category`);
  if (category && !category.disabled && category.value) out.category = category.value;
  for (const q of conference.questions) {
    const node = container.querySelector(`#${CSS.escape(`${prefix}-q-${q.id}`)}`);
    if (!node) continue;
    if (q.kind === "multi") {
      const chosen = [...node.querySelectorAll("input:checked")].map((b) => b.value);
      if (chosen.length) out.answers[q.id] = chosen;
    } else if (q.kind === "bool") {
      out.answers[q.id] = node.checked;
    } else if (node.value.trim()) {
      out.answers[q.id] = node.value.trim();
    }
  }
  return out;
}

// Shows a server's 400 at the field it names: `email`, `category`, or
// `answers` with the question id leading the message. True if shown.
export function showFormError(container, prefix, error) {
  let id = null;
  let message = error.message;
  if (error.field === "email" || error.field === "category") id = `${prefix}-${error.field}`;
  const m = /^answers: ([A-Za-z0-9_-]+): (.*)$/.exec(error.message || "");
  if (error.field === "answers" && m) {
    id = `${prefix}-q-${m[1]}`;
    message = m[2];
  }
  const target = id && container.querySelector(`#e-${CSS.escape(id)}`);
  if (!target) return false;
  target.textContent = message;
  const control = container.querySelector(`#${CSS.escape(id)}`);
  control?.setAttribute("aria-invalid", "true");
  (control?.querySelector?.("input") || control)?.focus();
  return true;
}

export function clearFormErrors(container) {
  for (const e of container.querySelectorAll(".error")) e.textContent = "";
  for (const c of container.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}
