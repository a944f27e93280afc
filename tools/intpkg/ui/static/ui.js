// The integrations UI's behaviour: switches, secrets' Replace flow, multi-value rows, validation while
// typing (the server's own checks), Verify credentials, confirmations, and the collector's live health.
"use strict";

const csrf = () => document.body.dataset.csrf;

async function postForm(url, form) {
  const response = await fetch(url, {method: "POST", body: new FormData(form),
    headers: {"kbn-xsrf": "intpkg-ui", "Accept": "application/json"}, credentials: "same-origin"});
  const body = await response.json().catch(() => ({message: `HTTP ${response.status}`}));
  return {ok: response.ok, body};
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function setupSwitches(root) {
  for (const toggle of root.querySelectorAll("input[data-toggles]")) {
    const body = toggle.closest(".section-head").nextElementSibling;
    const apply = () => { if (body) body.hidden = !toggle.checked; };
    toggle.addEventListener("change", apply);
    apply();
  }
}

function setupSecrets(root) {
  for (const button of root.querySelectorAll("[data-replace]")) {
    button.addEventListener("click", () => {
      const field = button.closest(".secret-panel");
      field.querySelector(".secret-saved").hidden = true;
      const replace = field.querySelector(".secret-replace");
      replace.hidden = false;
      const input = replace.querySelector("input");
      input.disabled = false;
      input.focus();
    });
  }
  for (const button of root.querySelectorAll("[data-cancel-replace]")) {
    button.addEventListener("click", () => {
      const field = button.closest(".secret-panel");
      const input = field.querySelector(".secret-replace input");
      input.value = "";
      input.disabled = true;
      field.querySelector(".secret-replace").hidden = true;
      field.querySelector(".secret-saved").hidden = false;
    });
  }
}

function setupMulti(root) {
  root.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-row]");
    const remove = event.target.closest("[data-remove-row]");
    if (add) {
      const multi = add.closest("[data-multi]");
      const row = el("div", {class: "multi-row"});
      row.append(el("input", {name: multi.dataset.multi}), el("button", {type: "button", class: "button small", "data-remove-row": ""}, "Remove"));
      multi.insertBefore(row, add);
      row.querySelector("input").focus();
    } else if (remove) {
      remove.closest(".multi-row").remove();
      root.dispatchEvent(new Event("input"));
    }
  });
}

function showProblems(form, result) {
  for (const holder of form.querySelectorAll("[data-errors-for]")) {
    const name = holder.dataset.errorsFor;
    const messages = (result.fields || {})[name] || (result.policy || {})[name] || (result.sections || {})[name] || [];
    for (const old of holder.querySelectorAll(".field-error")) old.remove();
    for (const message of messages) holder.append(el("p", {class: "field-error"}, message));
    const field = holder.closest(".field");
    if (field) field.classList.toggle("has-error", messages.length > 0);
    if (holder.classList.contains("required-groups")) {
      holder.classList.toggle("callout-danger", messages.length > 0);
      holder.classList.toggle("callout-info", messages.length === 0);
    }
  }
  for (const details of form.querySelectorAll("details.advanced")) {
    const count = details.querySelectorAll(".field-error").length;
    let badge = details.querySelector("summary .badge-danger");
    if (count && !badge) { badge = el("span", {class: "badge badge-danger"}); details.querySelector("summary").append(" ", badge); }
    if (badge) { if (count) badge.textContent = `${count} error${count === 1 ? "" : "s"}`; else badge.remove(); }
    if (count) details.open = true;
  }
  const summary = document.getElementById("error-summary");
  if (summary && !result.count) summary.remove();
}

async function validate(form) {
  const {ok, body} = await postForm(form.dataset.validateUrl, form);
  if (ok) showProblems(form, body);
}

function setupValidation(form) {
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(() => validate(form), 350); };
  form.addEventListener("input", later);
  form.addEventListener("change", later);
}

function setupVerify(form) {
  const button = document.getElementById("verify");
  const out = document.getElementById("verify-results");
  if (!button) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.replaceChildren(el("p", {class: "muted"}, "Asking the Cloudflare API ..."));
    const {ok, body} = await postForm(form.dataset.verifyUrl, form);
    button.disabled = false;
    out.replaceChildren();
    if (!ok) {
      const text = body.attributes ? "Fix the settings marked below first." : (body.message || "The check could not run.");
      out.append(el("div", {class: "callout callout-danger"}, text));
      validate(form);  // put each problem next to its setting
      return;
    }
    for (const item of body.items) {
      const box = el("div", {class: `verify-stream callout ${item.ok ? "callout-success" : "callout-danger"}`, "data-dataset": item.dataset});
      box.append(el("h4", {}, `${item.dataset}: ${item.ok ? "credentials verified" : "a check failed"}`));
      const list = el("ul");
      for (const finding of item.findings) list.append(el("li", {class: finding.ok ? "ok" : "fail"}, `${finding.ok ? "✓" : "✗"} ${finding.message}`));
      for (const warning of item.warnings) list.append(el("li", {class: "warn"}, `! ${warning}`));
      box.append(list);
      out.append(box);
    }
  });
}

function setupMock(form) {
  const button = document.getElementById("use-mock");
  if (!button) return;
  button.addEventListener("click", () => {
    const values = {api_url: button.dataset.apiUrl, account_id: button.dataset.accountId, zone_id: button.dataset.zoneId};
    for (const [name, value] of Object.entries(values)) {
      for (const input of form.querySelectorAll(`input[name$="|vars|${name}"]`)) input.value = value;
    }
    form.dispatchEvent(new Event("input"));
  });
}

function setupConfirmations() {
  for (const form of document.querySelectorAll("form[data-confirm], form[data-progress]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); return; }
      if (form.dataset.progress) {
        const progress = form.parentElement.querySelector(".progress");
        if (progress) { progress.hidden = false; progress.textContent = `${form.dataset.progress} ...`; }
        for (const button of document.querySelectorAll("button")) button.disabled = true;
      }
    });
  }
}

function formatTime(epoch) {
  if (!epoch) return "";
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function setupCollector() {
  const sections = document.querySelectorAll("section.collector[data-health-url]");
  if (!sections.length) return;
  const url = sections[0].dataset.healthUrl;
  const refresh = async () => {
    const response = await fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"});
    if (!response.ok) return;
    const body = await response.json();
    for (const item of body.items) {
      const section = document.querySelector(`section.collector[data-package="${item.package}"]`);
      if (!section) continue;
      const state = section.querySelector("[data-collector-state]");
      if (state) state.textContent = item.running ? "Running" : "Stopped";
      for (const policy of item.policies) {
        const badge = section.querySelector(`[data-policy-state="${policy.id}"]`);
        if (badge) { badge.textContent = policy.state.toUpperCase(); badge.className = `health health-${policy.state}`; }
        for (const stream of policy.streams) {
          const row = section.querySelector(`tr[data-stream-id="${stream.stream_id}"]`);
          if (!row) continue;
          const cells = (name) => row.querySelector(`[data-cell="${name}"]`);
          cells("state").textContent = stream.state.toUpperCase();
          cells("state").className = `health health-${stream.state}`;
          cells("last_run").textContent = formatTime(stream.last_run);
          cells("next_run").textContent = formatTime(stream.next_run);
          cells("events_acked").textContent = stream.events_acked;
          cells("events_rejected").textContent = stream.events_rejected;
          cells("last_error").textContent = stream.last_error || "";
          cells("cursor").textContent = stream.cursor ? JSON.stringify(stream.cursor) : "";
        }
      }
    }
  };
  setInterval(refresh, 2000);
}

function setupEvents() {
  const range = document.getElementById("quick-range");
  if (range) {
    range.addEventListener("change", () => {
      if (!range.value) return;
      range.form.elements.start.value = range.value;
      range.form.elements.end.value = "now";
      range.form.submit();
    });
  }
  for (const button of document.querySelectorAll("[data-show-doc]")) {
    button.addEventListener("click", () => {
      const doc = button.closest("tr").nextElementSibling;
      doc.hidden = !doc.hidden;
      button.setAttribute("aria-expanded", String(!doc.hidden));
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("policy-form");
  if (form) {
    setupSwitches(form);
    setupSecrets(form);
    setupMulti(form);
    setupValidation(form);
    setupVerify(form);
    setupMock(form);
  }
  setupConfirmations();
  setupCollector();
  setupEvents();
});
