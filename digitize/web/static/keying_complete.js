// Completion as you type on the keying page (issue #19): place names from the gazetteer of the
// book's period, known surnames and given names, the 54 ethnic groups, Nam/Nữ; and the checks
// that need the book (a registration date outside the book's year, a province code that
// does not exist).
//
// Keyboard: the list opens by itself once something is typed (or with ↓ on an empty field);
// only while it is open do ↓/↑ move, Tab accept (the highlighted one, else the first), Enter
// accept the one highlighted with ↓/↑ and Esc close it. Enter with nothing highlighted is still
// "next field": a keyer who typed the whole "Vinh" must not get the "Vinh Tân" offered. No letter or digit is
// ever bound: Telex (aa, dd, s f r x j) and VNI (digits 1-9) type through the input method, and
// nothing runs while it composes. Runs in the capture phase, before app.js's Enter = next field.
// It reads the task app.js shows (`keying.task`, a global of that classic script).
"use strict";

(() => {
  if (document.body.dataset.page !== "keying") return;
  const list = document.createElement("ul");
  list.id = "complete-list";
  list.className = "complete-list";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  const state = { input: null, items: [], index: -1, seq: 0, timer: null, quiet: false };

  const currentTask = () => (typeof keying !== "undefined" ? keying.task : null);
  const fieldOf = (name) => { const t = currentTask(); return t ? t.fields.find((f) => f.name === name) : null; };
  const completable = (input) => input && input.tagName === "INPUT" && input.name && !input.readOnly &&
    !!(fieldOf(input.name) || {}).complete;

  function close() {
    list.hidden = true;
    list.replaceChildren();  // no stale suggestion is ever on the page
    state.items = [];
    state.index = -1;
    if (state.input) { state.input.setAttribute("aria-expanded", "false"); state.input.removeAttribute("aria-activedescendant"); }
  }

  function render() {
    list.replaceChildren(...state.items.map((text, i) => {
      const li = document.createElement("li");
      li.id = `complete-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === state.index));
      li.textContent = text;
      li.addEventListener("mousedown", (e) => { e.preventDefault(); state.index = i; accept(); });  // keeps the focus
      return li;
    }));
    if (!state.items.length) { close(); return; }
    const input = state.input;
    input.parentElement.append(list);  // under the field, inside its .key-input
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    if (state.index >= 0) input.setAttribute("aria-activedescendant", `complete-${state.index}`);
    else input.removeAttribute("aria-activedescendant");
  }

  async function fetchFor(input) {
    const task = currentTask();
    if (!task) return;
    const seq = ++state.seq;
    const q = input.value.normalize("NFC");
    const url = `/api/keying/complete?entry=${task.id}&field=${encodeURIComponent(input.name)}&q=${encodeURIComponent(q)}`;
    let data;
    try { data = (await api(url)).data; } catch (e) { return; }  // no completion is no error: the keyer types on
    if (seq !== state.seq || document.activeElement !== input || input.value.normalize("NFC") !== q) return;
    state.input = input;
    state.items = data.suggestions || [];
    state.index = -1;
    render();
  }

  function accept() {
    const input = state.input;
    const value = state.items[Math.max(0, state.index)];
    close();
    if (!input || value === undefined) return;
    input.value = value;
    state.quiet = true;  // the input event below is ours: no new list for it
    input.dispatchEvent(new Event("input", { bubbles: true }));  // app.js counts it, saves the draft, checks
    state.quiet = false;
    input.setSelectionRange(value.length, value.length);
  }

  document.addEventListener("keydown", (e) => {
    const input = e.target;
    if (e.isComposing || e.keyCode === 229 || !input || input.tagName !== "INPUT" || !input.name) return;
    const f = fieldOf(input.name);
    // The book's year prefilled alone in a date: the day and month typed go before it.
    if (f && f.book && /^\d{4}$/.test(input.value) && input.value === f.book && /^[\d/]$/.test(e.key) &&
        !e.ctrlKey && !e.metaKey && !e.altKey && input.selectionStart === 0 && input.selectionEnd === input.value.length) {
      input.setSelectionRange(0, 0);
    }
    if (!completable(input)) return;
    const open = !list.hidden && state.input === input && state.items.length > 0;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (!open) {
      if (e.key === "ArrowDown") { e.preventDefault(); fetchFor(input); }
      return;
    }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const n = state.items.length;
      state.index = e.key === "ArrowDown" ? (state.index + 1) % n : (state.index <= 0 ? n - 1 : state.index - 1);
      render();
    } else if ((e.key === "Tab" && !e.shiftKey) || (e.key === "Enter" && state.index >= 0)) {
      accept();
    } else if (e.key === "Enter") {
      close();
      return;  // nothing chosen: Enter goes on to the next field (app.js)
    } else if (e.key === "Escape") {
      close();
    } else {
      return;  // every other key is the keyer's (and the input method's)
    }
    e.preventDefault();
    e.stopPropagation();
  }, true);

  // The date field that holds a whole registration date and the book-year check run after app.js's own checks.
  document.addEventListener("input", (e) => {
    const input = e.target;
    if (!input || input.tagName !== "INPUT" || !input.name) return;
    bookChecks();
    if (state.quiet || !completable(input)) return;
    clearTimeout(state.timer);
    if (!input.value.trim()) { close(); return; }
    state.timer = setTimeout(() => fetchFor(input), 60);
  });
  document.addEventListener("compositionend", (e) => { if (completable(e.target)) fetchFor(e.target); });
  document.addEventListener("focusout", (e) => { if (e.target === state.input) close(); });

  /** Warnings that need the book: app.js has already set its own; these only add to an empty one. */
  function bookChecks() {
    const task = currentTask();
    if (!task) return;
    for (const f of task.fields) {
      const input = document.getElementById(`f-${f.name}`);
      const warn = document.getElementById(`f-${f.name}-warn`);
      if (!input || !warn || warn.textContent || !f.check) continue;
      const v = input.value.trim();
      let said = "";
      const date = /^\d{2}\/\d{2}\/(\d{4})$/.exec(v) || /^(\d{4})$/.exec(v);
      if (f.check.kind === "date" && f.check.year && date && +date[1] !== f.check.year) said = `Sổ năm ${f.check.year}: ngày đăng ký năm khác`;
      if (f.check.kind === "id" && f.check.provinces && /^\d{12}$/.test(v) && !f.check.provinces.includes(+v.slice(0, 3))) said = "Ba số đầu không phải mã tỉnh nào";
      if (said) { warn.textContent = said; input.classList.add("invalid"); }
    }
  }

  /** The book's commune and year above the fields, once per task shown. */
  function showContext() {
    const task = currentTask();
    const line = document.getElementById("entry-context");
    if (!line) return;
    const c = task && task.context;
    const parts = [];
    if (c && c.commune) parts.push(`${c.commune_kind || "xã"} ${c.commune}`);
    if (c && c.district) parts.push(`${c.district_kind || "huyện"} ${c.district}`);
    if (c && c.province) parts.push(`tỉnh ${c.province}`);
    if (c && c.year) parts.push(`năm ${c.year}`);
    line.textContent = parts.length ? `Sổ của ${parts.join(", ")} (${c.source === "book" ? "theo lưu trữ viên" : "theo đầu trang"}): ` +
      "đã điền sẵn; gợi ý địa danh theo địa giới thời đó." : "";
    for (const f of task ? task.fields : []) {
      const input = document.getElementById(`f-${f.name}`);
      if (!input || !f.complete) continue;
      input.removeAttribute("list");  // app.js's datalist would open a second list over this one
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-controls", "complete-list");
      input.setAttribute("aria-expanded", "false");
    }
    bookChecks();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("entry-fields");
    if (box) new MutationObserver(() => { close(); showContext(); }).observe(box, { childList: true });
  });
})();
