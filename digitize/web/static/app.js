// digitize web pages: small vanilla JS over the JSON API (no build step).
"use strict";

const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
const $ = (sel, root) => (root || document).querySelector(sel);

const LABELS = {
  so: "Số", quyen_so: "Quyển số", ho_ten: "Họ, chữ đệm, tên", ngay_sinh: "Ngày sinh",
  ngay_sinh_bang_chu: "Ngày sinh (bằng chữ)", gioi_tinh: "Giới tính", dan_toc: "Dân tộc", quoc_tich: "Quốc tịch",
  noi_sinh: "Nơi sinh", que_quan: "Quê quán", so_dinh_danh: "Số định danh cá nhân", ho_ten_me: "Họ tên mẹ",
  nam_sinh_me: "Năm sinh mẹ", dan_toc_me: "Dân tộc mẹ", quoc_tich_me: "Quốc tịch mẹ", noi_cu_tru_me: "Nơi cư trú mẹ",
  ho_ten_cha: "Họ tên cha", nam_sinh_cha: "Năm sinh cha", dan_toc_cha: "Dân tộc cha", quoc_tich_cha: "Quốc tịch cha",
  noi_cu_tru_cha: "Nơi cư trú cha", noi_cu_tru: "Nơi cư trú", nguoi_di_khai: "Người đi khai",
  noi_dang_ky: "Nơi đăng ký", ngay_dang_ky: "Ngày đăng ký", nguoi_ky: "Người ký", ghi_chu: "Ghi chú",
  ho_ten_chong: "Họ tên chồng", ho_ten_vo: "Họ tên vợ", so_dinh_danh_chong: "Số định danh chồng",
  so_dinh_danh_vo: "Số định danh vợ", ngay_chet: "Ngày chết", noi_chet: "Nơi chết", gio_chet: "Giờ chết",
  nguyen_nhan_chet: "Nguyên nhân chết", co_quan_ban_hanh: "Cơ quan ban hành", so_ky_hieu: "Số, ký hiệu",
  ngay_ban_hanh: "Ngày ban hành", loai_van_ban: "Loại văn bản", trich_yeu: "Trích yếu",
};
const TYPES = { khai_sinh: "Khai sinh", ket_hon: "Kết hôn", khai_tu: "Khai tử", so_ho_tich: "Sổ hộ tịch",
  van_ban: "Văn bản" };

function flash(message, kind) {
  const box = $("#flash");
  if (!box) return;
  box.textContent = message || "";
  box.className = message ? (kind || "info") : "";
}

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  opts.headers = Object.assign({ "X-CSRF-Token": CSRF, Accept: "application/json" }, opts.headers);
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers["Content-Type"] = "application/json";
    delete opts.json;
  }
  const response = await fetch(path, opts);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const err = new Error((data && data.error) || ("HTTP " + response.status));
    err.status = response.status;
    throw err;
  }
  return { status: response.status, data: data };
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// ------------------------------------------------------------------ result view (intake + result page)

const view = { result: null, page: 1, words: null };

function personName(fields) {
  return fields.ho_ten || fields.ho_ten_chong || fields.trich_yeu || "";
}

async function showPage(number) {
  const r = view.result;
  if (!r || !r.pages.length) return;
  view.page = Math.max(1, Math.min(number, r.pages.length));
  const img = $("#page-img");
  const base = `/api/results/${r.id}/pages/${view.page}`;
  img.src = `${base}/image?version=${r.version}`;
  const pageNo = $("#page-no");
  if (pageNo) pageNo.textContent = `Trang ${view.page}/${r.pages.length}`;
  const text = $("#page-text");
  if (text) text.textContent = r.pages[view.page - 1].text;
  try {
    view.words = (await api(`${base}/words?version=${r.version}`)).data;
  } catch (e) { view.words = null; }
  drawBoxes();
}

function drawBoxes() {
  const layer = $("#boxes");
  const img = $("#page-img");
  if (!layer || !img || !view.words) return;
  layer.replaceChildren();
  const width = view.words.width || img.naturalWidth || 1;
  const scale = (img.clientWidth || img.naturalWidth || width) / width;
  const place = (node, box) => {
    node.style.left = box[0] * scale + "px";
    node.style.top = box[1] * scale + "px";
    node.style.width = Math.max(1, box[2] - box[0]) * scale + "px";
    node.style.height = Math.max(1, box[3] - box[1]) * scale + "px";
    layer.append(node);
  };
  const showWords = $("#show-words") && $("#show-words").checked;
  if (showWords) {
    for (const w of view.words.words) place(el("div", { class: "word-box", title: w.text }), w.box);
  }
  for (const f of view.words.fields) {
    const node = el("div", { class: "field-box" + (f.needs_review ? " flagged" : ""), title: LABELS[f.field] || f.field,
      onclick: () => { const input = document.getElementById(`f-${f.record}-${f.field}`); if (input) input.focus(); } });
    place(node, f.box);
  }
}

function renderFields(result, editable) {
  const form = $("#fields");
  form.replaceChildren();
  result.records.forEach((rec, i) => {
    const set = el("fieldset", { class: "record" },
      el("legend", { text: `${TYPES[rec.doc_type] || rec.doc_type} · trang ${rec.page}` + (result.records.length > 1 ? ` · bản ghi ${i + 1}` : "") }));
    for (const [field, value] of Object.entries(rec.fields)) {
      const flagged = (rec.needs_review || []).includes(field);
      const conf = rec.confidence ? rec.confidence[field] : null;
      const input = el("input", { id: `f-${i}-${field}`, class: "field-input", "data-record": i, "data-field": field,
        "data-original": value, "data-flagged": flagged ? "1" : null, readonly: !editable, spellcheck: "false" });
      input.value = value;
      set.append(el("label", { class: "field" + (flagged ? " flagged" : "") },
        el("span", { class: "name", text: (LABELS[field] || field) + (flagged ? " ⚠" : "") }), input,
        el("span", { class: "conf", text: conf === null || conf === undefined ? "" : Math.round(conf * 100) + "%" })));
    }
    form.append(set);
  });
  if (!result.records.length) form.append(el("p", { class: "hint", text: "Không trích xuất được trường nào; văn bản nhận dạng vẫn được lưu và tra cứu được." }));
}

function showResult(result, editable) {
  view.result = result;
  $("#result").hidden = false;
  const first = result.records[0] || { fields: {} };
  $("#result-title").textContent = `${personName(first.fields) || result.source.name}`;
  const flagged = result.records.reduce((n, r) => n + (r.needs_review || []).length, 0);
  $("#result-meta").textContent = `${result.source.name} · ${result.pages.length} trang · phiên bản ${result.version} · ` +
    (flagged ? `${flagged} trường cần kiểm tra` : "không còn trường cần kiểm tra") + ` · ký bởi ${result.pdf ? result.pdf.signer : "?"}`;
  renderFields(result, editable);
  const link = $("#download");
  if (link) {
    link.href = `/api/results/${result.id}/pdf?version=${result.version}`;
    link.setAttribute("download", `${result.id}-v${result.version}.pdf`);
  }
  showPage(1);
}

function collectChanges() {
  const changes = [];
  for (const input of document.querySelectorAll("#fields .field-input")) {
    const record = Number(input.dataset.record), field = input.dataset.field;
    if (input.value.trim() !== input.dataset.original) changes.push({ record, field, value: input.value });
    else if (input.dataset.flagged) changes.push({ record, field, value: null });
  }
  return changes;
}

async function approve() {
  const r = view.result;
  if (!r) return;
  const button = $("#approve");
  button.disabled = true;
  flash("Đang ký…");
  try {
    const changes = collectChanges();
    const res = changes.length
      ? await api(`/api/results/${r.id}/review`, { method: "POST", json: { changes, version: r.version } })
      : await api(`/api/results/${r.id}/approve`, { method: "POST", json: { version: r.version } });
    showResult(res.data, true);
    const link = $("#download");
    link.hidden = false;
    flash(`Đã ký phiên bản ${res.data.version}.`, "ok");
    if (document.body.dataset.page === "result") loadVersions();
  } catch (e) {
    flash(e.message, "error");
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ intake

async function loadMatches(result) {
  const box = $("#matches"), list = $("#match-list");
  list.replaceChildren();
  box.hidden = true;
  const ids = result.records.some((r) => Object.keys(r.fields).some((k) => k.startsWith("so_dinh_danh")));
  if (!ids) return;
  let found;
  try { found = (await api(`/api/results/${result.id}/matches`)).data.matches; } catch (e) { return; }
  if (!found.length) return;
  box.hidden = false;
  for (const hit of found) {
    const button = el("button", { type: "button", class: "secondary", text: "Đính kèm vào hồ sơ" });
    button.addEventListener("click", async () => {
      const ma = $("#ma_ho_so").value.trim();
      if (!ma) { flash("Nhập mã hồ sơ trước khi đính kèm.", "error"); $("#ma_ho_so").focus(); return; }
      try {
        await api(`/api/dossiers/${encodeURIComponent(ma)}/reuse`, { method: "POST", json: { result_id: hit.result_id } });
        button.textContent = "Đã đính kèm";
        button.disabled = true;
      } catch (e) { flash(e.message, "error"); }
    });
    list.append(el("li", {}, el("a", { href: `/results/${hit.result_id}`, target: "_blank", rel: "noopener",
      text: `${TYPES[hit.doc_type] || hit.doc_type || "?"} · ${hit.name || personName(hit.fields)} · ${hit.matched_so_dinh_danh} · ${hit.agency}` }), " ", button));
  }
}

async function pollJob(url) {
  for (;;) {
    const job = (await api(url)).data;
    $("#progress").textContent = `Đang xử lý: ${job.pages_done}/${job.pages_total} trang`;
    if (job.status === "done") return (await api(job.result_url)).data;
    if (job.status === "failed") throw new Error(job.error || "xử lý thất bại");
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

function initIntake() {
  const form = $("#upload-form"), file = $("#file"), drop = $("#drop");
  let dropped = null;
  const setName = (f) => { $("#file-name").textContent = f ? f.name : ""; };
  file.addEventListener("change", () => { dropped = null; setName(file.files[0]); });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { dropped = e.dataTransfer.files[0] || null; setName(dropped); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = dropped || file.files[0];
    if (!chosen) { flash("Chọn hoặc thả một bản quét.", "error"); return; }
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    body.append("doc_type", $("#doc_type").value);
    if ($("#ma_ho_so").value.trim()) body.append("ma_ho_so", $("#ma_ho_so").value.trim());
    $("#upload").disabled = true;
    $("#progress").textContent = "Đang xử lý…";
    flash("");
    $("#download").hidden = true;
    const started = performance.now();
    try {
      const res = await api("/api/upload", { method: "POST", body });
      const result = res.status === 202 ? await pollJob(res.data.status_url) : res.data;
      $("#progress").textContent = `Xong trong ${((performance.now() - started) / 1000).toFixed(1)} giây`;
      showResult(result, true);
      loadMatches(result);
    } catch (err) {
      $("#progress").textContent = "";
      flash(err.message, "error");
    } finally {
      $("#upload").disabled = false;
    }
  });
  $("#approve").addEventListener("click", approve);
  $("#show-words").addEventListener("change", drawBoxes);
  $("#page-img").addEventListener("load", drawBoxes);
  window.addEventListener("resize", drawBoxes);
}

// ------------------------------------------------------------------ result page

async function loadVersions() {
  const r = view.result;
  const data = (await api(`/api/results/${r.id}/versions`)).data;
  const list = $("#versions");
  list.replaceChildren();
  for (const v of data.versions) {
    const changes = v.changes.map((c) => `${LABELS[c.field] || c.field}: ${c.old || "∅"} → ${c.new || "∅"} (${c.by})`).join("; ");
    list.append(el("li", {}, el("a", { href: v.pdf, download: `${r.id}-v${v.version}.pdf`, text: `v${v.version}` }),
      ` · ${v.signed_at || ""}` + (changes ? ` · ${changes}` : "")));
  }
}

async function initResult() {
  const id = document.body.dataset.resultId;
  try {
    const result = (await api(`/api/results/${id}`)).data;
    showResult(result, true);
    loadVersions();
  } catch (e) { flash(e.message, "error"); }
  $("#approve").addEventListener("click", approve);
  $("#show-words").addEventListener("change", drawBoxes);
  $("#page-img").addEventListener("load", drawBoxes);
  $("#prev-page").addEventListener("click", () => showPage(view.page - 1));
  $("#next-page").addEventListener("click", () => showPage(view.page + 1));
  window.addEventListener("resize", drawBoxes);
}

// ------------------------------------------------------------------ search

function initSearch() {
  $("#search-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    if ($("#q").value.trim()) params.set("q", $("#q").value.trim());
    if ($("#so_dinh_danh").value.trim()) params.set("so_dinh_danh", $("#so_dinh_danh").value.trim());
    params.set("limit", "50");
    flash("");
    try {
      const hits = (await api(`/api/search?${params}`)).data.hits;
      const body = $("#hits tbody");
      body.replaceChildren();
      for (const h of hits) {
        const f = h.fields || {};
        body.append(el("tr", {},
          el("td", { text: TYPES[h.doc_type] || h.doc_type || "văn bản" }),
          el("td", {}, el("a", { href: `/results/${h.result_id}`, text: h.name || personName(f) || h.snippet || h.result_id })),
          el("td", { text: f.ngay_sinh || f.ngay_sinh_chong || "" }),
          el("td", { text: f.so_dinh_danh || f.so_dinh_danh_chong || f.so_dinh_danh_vo || "" }),
          el("td", { text: h.agency || "" }),
          el("td", { text: (h.created_at || "").slice(0, 10) })));
      }
      $("#hits").hidden = !hits.length;
      $("#no-hits").hidden = !!hits.length;
    } catch (err) { flash(err.message, "error"); }
  });
}

// ------------------------------------------------------------------ review queue (keyboard-first)

const queue = { items: [], pos: 0, batch: null };

async function flushBatch() {
  const b = queue.batch;
  queue.batch = null;
  if (!b || !b.changes.length) return;
  try {
    const res = await api(`/api/results/${b.result_id}/review`, { method: "POST", json: { changes: b.changes, version: b.version } });
    flash(`Đã ghi ${b.changes.length} trường · phiên bản ${res.data.version} đã ký.`, "ok");
    for (const item of queue.items) if (item.result_id === b.result_id) item.version = res.data.version;
  } catch (e) {
    flash(`Không ghi được (${e.message}); tải lại hàng đợi.`, "error");
  }
}

async function showItem() {
  const item = queue.items[queue.pos];
  $("#queue-count").textContent = queue.items.length ? `(${Math.min(queue.pos + 1, queue.items.length)}/${queue.items.length})` : "";
  if (!item) {
    await flushBatch();
    $("#item").hidden = true;
    $("#empty").hidden = false;
    return;
  }
  if (queue.batch && queue.batch.result_id !== item.result_id) await flushBatch();
  $("#item").hidden = false;
  $("#empty").hidden = true;
  $("#item-meta").textContent = `${item.source} · ${TYPES[item.doc_type] || item.doc_type} · trang ${item.page}`;
  $("#item-field").textContent = LABELS[item.field] || item.field;
  $("#item-conf").textContent = item.confidence === null ? "?" : Math.round(item.confidence * 100) + "%";
  const crop = $("#crop");
  crop.hidden = false;
  $("#no-crop").hidden = true;
  crop.onerror = () => { crop.hidden = true; $("#no-crop").hidden = false; };
  crop.src = `/api/results/${item.result_id}/records/${item.record}/fields/${item.field}/crop?v=${item.version}`;
  const input = $("#item-value");
  input.value = item.value;
  input.focus();
  input.select();
}

function decide(accept) {
  const item = queue.items[queue.pos];
  if (!item) return;
  const value = $("#item-value").value;
  if (accept) {
    if (!queue.batch) queue.batch = { result_id: item.result_id, version: item.version, changes: [] };
    queue.batch.changes.push({ record: item.record, field: item.field, value: value.trim() === item.value ? null : value });
  }
  queue.pos += 1;
  showItem();
}

async function initReview() {
  try {
    queue.items = (await api("/api/review/queue?limit=200")).data.items;
  } catch (e) { flash(e.message, "error"); return; }
  queue.pos = 0;
  showItem();
  $("#accept").addEventListener("click", () => decide(true));
  $("#skip").addEventListener("click", () => decide(false));
  $("#save").addEventListener("click", flushBatch);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); decide(true); }
    else if (e.key === "Escape") { e.preventDefault(); decide(false); }
    else if (e.key === "s" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); flushBatch(); }
  });
  window.addEventListener("beforeunload", (e) => { if (queue.batch && queue.batch.changes.length) { e.preventDefault(); e.returnValue = ""; } });
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "intake") initIntake();
  else if (page === "review") initReview();
  else if (page === "search") initSearch();
  else if (page === "result") initResult();
});
