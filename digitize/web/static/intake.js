// Dossier intake page (/intake/dossier): upload a whole dossier, see its documents, move a
// boundary, reuse archived results. Uses app.js's helpers ($, el, api, flash, dossierPath, …),
// loaded before this file (both deferred, in document order).
"use strict";

const DOC_TYPES = Object.assign({}, TYPES, { cccd: "Căn cước", to_khai: "Tờ khai", other: "Giấy tờ khác" });
// Fields compared between an archived record and the new reading (same name, same meaning).
const COMPARED = ["ho_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "dan_toc", "quoc_tich"];
const intake = { ma: "", documents: [], reading: null, attached: new Set() };

function pageRange(pages) {
  if (!pages.length) return "";
  return pages.length > 1 ? `trang ${pages[0]}–${pages[pages.length - 1]}` : `trang ${pages[0]}`;
}

function sameValue(a, b) {
  return String(a || "").normalize("NFC").split(/\s+/).join(" ").toLowerCase() ===
    String(b || "").normalize("NFC").split(/\s+/).join(" ").toLowerCase();
}

function idDigits(value) {
  return String(value || "").replace(/[\s.\-]/g, "");
}

// ------------------------------------------------------------------ documents

/** The new reading of the person: the first record of the dossier's scans that gives a số định danh. */
function readingOf(documents) {
  for (const d of documents) {
    if (d.kind !== "scanned") continue;
    for (const r of d.records) {
      const f = r.fields || {};
      if (f.so_dinh_danh) return f;
    }
  }
  return null;
}

/** Where a scan's documents begin: its documents' first pages, in order. Each document is a
 *  result of its own; `scan` is the scan it was split from. */
function startsOf(scanId) {
  return intake.documents.filter((d) => d.scan === scanId && d.kind === "scanned").map((d) => d.pages[0]);
}

async function resplit(doc, starts) {
  try {
    const data = (await api(`${dossierPath(intake.ma)}/split`, { method: "POST",
      json: { result_id: doc.scan, starts: starts, version: doc.scan_version } })).data;
    showDocuments(data);
    flash(data.changed ? "Đã sửa cách tách hồ sơ (không quét lại)." : "Cách tách không đổi.", "ok");
  } catch (e) { flash(e.message, "error"); }
}

function boundaryButtons(doc) {
  const starts = startsOf(doc.scan);
  const k = starts.indexOf(doc.pages[0]);
  const buttons = [];
  const moveTo = (label, title, first) => {
    const next = starts.slice();
    next[k] = first;
    buttons.push(el("button", { type: "button", class: "secondary", text: label, title: title,
      "aria-label": title, onclick: () => resplit(doc, next) }));
  };
  if (k > 0) {
    const prevStart = starts[k - 1], nextStart = k + 1 < starts.length ? starts[k + 1] : null;
    const last = doc.pages[doc.pages.length - 1];
    if (doc.pages[0] - 1 > prevStart) moveTo("◀", `Tài liệu bắt đầu sớm hơn một trang (trang ${doc.pages[0] - 1})`, doc.pages[0] - 1);
    if (doc.pages[0] + 1 <= last && (nextStart === null || doc.pages[0] + 1 < nextStart)) {
      moveTo("▶", `Tài liệu bắt đầu muộn hơn một trang (trang ${doc.pages[0] + 1})`, doc.pages[0] + 1);
    }
    buttons.push(el("button", { type: "button", class: "secondary", text: "Gộp với tài liệu trước",
      onclick: () => resplit(doc, starts.filter((_, i) => i !== k)) }));
  }
  for (const p of doc.pages.slice(1)) {
    buttons.push(el("button", { type: "button", class: "secondary", text: `Tách từ trang ${p}`,
      onclick: () => resplit(doc, starts.concat([p]).sort((a, b) => a - b)) }));
  }
  return buttons;
}

function documentItem(doc) {
  const first = doc.records[0] || { fields: {} };
  const f = first.fields || {};
  const who = f.ho_ten || f.ho_ten_chong || f.trich_yeu || "";
  const origin = doc.kind === "reused"
    ? `lấy từ kho lưu trữ (bản ${doc.version}, số hóa ${viDate(doc.created_at)}) · ${doc.by} · ${viDateTime(doc.at)}`
    : `quét mới · ${doc.by} · ${viDateTime(doc.at)}`;
  const item = el("li", { class: "dossier-document", "data-doc-type": doc.doc_type, "data-kind": doc.kind },
    el("strong", { class: "doc-type", text: DOC_TYPES[doc.doc_type] || doc.doc_type }), " · ",
    el("span", { class: "doc-pages", text: pageRange(doc.pages) }),
    who ? ` · ${who}` : "", f.so_dinh_danh ? ` · ${f.so_dinh_danh}` : "",
    doc.needs_review ? el("span", { class: "bad-text", text: ` · ${doc.needs_review} trường cần kiểm tra` }) : null,
    el("br"), el("span", { class: "hint", text: origin }), " ",
    el("a", { href: doc.links.page, text: "mở" }));
  if (doc.kind === "scanned") {
    const buttons = boundaryButtons(doc);
    if (buttons.length) item.append(el("div", { class: "actions boundary" }, ...buttons));
  }
  return item;
}

function showDocuments(data) {
  intake.documents = data.documents;
  intake.attached = new Set(data.documents.map((d) => d.result_id));
  $("#documents").hidden = false;
  $("#documents-code").textContent = data.ma_ho_so;
  const scans = new Set(data.documents.filter((d) => d.kind === "scanned").map((d) => d.scan)).size;
  $("#documents-meta").textContent = `${data.documents.length} giấy tờ · ${scans} lần quét` +
    (data.reused ? ` · ${data.reused} lấy từ kho lưu trữ` : "");
  $("#document-list").replaceChildren(...data.documents.map(documentItem));
  $("#pending-list").replaceChildren(...data.pending.map((j) => el("li", {
    text: j.status === "failed" ? `${j.name}: không xử lý được (${j.error || ""})`
      : `${j.name}: đang xử lý ${j.pages_done}/${j.pages_total} trang` })));
  const reading = readingOf(data.documents);
  if (reading && !intake.reading) {
    intake.reading = reading;
    if (!$("#person-id").value.trim()) $("#person-id").value = reading.so_dinh_danh;
    findPerson();
  } else if ($("#reuse-list").children.length) {
    markAttached();
  }
}

async function loadDocuments() {
  if (!intake.ma) return;
  try { showDocuments((await api(`${dossierPath(intake.ma)}/documents`)).data); }
  catch (e) { if (e.status !== 404) flash(e.message, "error"); }
}

// ------------------------------------------------------------------ reuse

function differences(hit) {
  const out = [];
  const seen = new Set();
  for (const [name, d] of Object.entries(hit.differs || {})) {
    out.push([name, d.archived, d.given]);
    seen.add(name);
  }
  const reading = intake.reading || {};
  for (const name of COMPARED) {
    const archived = (hit.fields || {})[name], read = reading[name];
    if (seen.has(name) || !archived || !read || sameValue(archived, read)) continue;
    out.push([name, archived, read]);
  }
  return out;
}

function markAttached() {
  for (const button of document.querySelectorAll("#reuse-list button[data-result]")) {
    if (intake.attached.has(button.dataset.result)) {
      button.textContent = "Đã có trong hồ sơ";
      button.disabled = true;
    }
  }
}

async function attach(hit, button) {
  const ma = $("#ma").value.trim();
  if (!ma) { flash("Nhập mã hồ sơ trước khi đính kèm.", "error"); $("#ma").focus(); return; }
  intake.ma = ma;
  button.disabled = true;
  try {
    await api(`${dossierPath(ma)}/reuse`, { method: "POST", json: { result_id: hit.result_id } });
    flash(`Đã đính kèm ${DOC_TYPES[hit.doc_type] || hit.doc_type} từ kho lưu trữ vào hồ sơ ${ma}.`, "ok");
    await loadDocuments();
    markAttached();
  } catch (e) {
    button.disabled = false;
    flash(e.message, "error");
  }
}

function reuseItem(hit) {
  const f = hit.fields || {};
  const button = el("button", { type: "button", class: "secondary", text: "Đính kèm vào hồ sơ",
    "data-result": hit.result_id });
  button.addEventListener("click", () => attach(hit, button));
  const warnings = differences(hit).map(([name, archived, read]) => el("li", { class: "bad-text",
    text: `${LABELS[name] || name}: kho lưu trữ ghi “${archived}”, bản mới đọc “${read}”` }));
  return el("li", { class: "reuse-hit", "data-result": hit.result_id },
    el("strong", { text: DOC_TYPES[hit.doc_type] || hit.doc_type || "?" }),
    ` · ${f.ho_ten || f.ho_ten_chong || f.ho_ten_vo || ""} · ${f.ngay_sinh || ""}`,
    el("br"),
    el("span", { class: "hint reuse-facts", text: `số hóa ${viDate(hit.created_at)} · bản ${hit.version} · ` +
      `${hit.corrections} lần sửa · ${hit.agency}` }), " ",
    el("a", { href: `/results/${hit.result_id}`, target: "_blank", rel: "noopener", text: "xem" }), " ",
    button, warnings.length ? el("ul", { class: "reuse-warnings" }, ...warnings) : null);
}

async function findPerson() {
  const id = idDigits($("#person-id").value);
  if (!/^(\d{9}|\d{12})$/.test(id)) {
    flash(errorMessage("bad_so_dinh_danh"), "error");
    $("#person-id").focus();
    return;
  }
  const params = new URLSearchParams({ so_dinh_danh: id });
  const reading = intake.reading;
  if (reading && reading.ho_ten && reading.ngay_sinh && /^\d{2}\/\d{2}\/\d{4}$/.test(reading.ngay_sinh)) {
    params.set("ho_ten", reading.ho_ten);  // the archive's differences from the new reading come back too
    params.set("ngay_sinh", reading.ngay_sinh);
  }
  let found;
  try { found = (await api(`/api/people?${params}`)).data.results; }
  catch (e) { flash(e.message, "error"); return; }
  $("#reuse").hidden = false;
  $("#reuse-for").textContent = `· số định danh ${id}`;
  const list = $("#reuse-list");
  list.replaceChildren(...found.map(reuseItem));
  if (!found.length) list.append(el("li", { class: "hint", text: "Chưa có giấy tờ nào của người này trong kho." }));
  markAttached();
}

// ------------------------------------------------------------------ upload

async function pollDossierJob(url) {
  for (;;) {
    const job = (await api(url)).data;
    $("#dossier-progress").textContent = `Đang xử lý: ${job.pages_done}/${job.pages_total} trang`;
    if (job.status === "done") return job;
    if (job.status === "failed") throw apiError(job.code || "processing_failed", job, 0);
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

function initDossierIntake() {
  const form = $("#dossier-form"), input = $("#dossier-files"), drop = $("#dossier-drop");
  const limit = Number(document.body.dataset.uploadLimit) || 0;
  let dropped = null;
  const chosen = () => (dropped && dropped.length ? dropped : Array.from(input.files));
  const showNames = () => { $("#dossier-file-names").textContent = chosen().map((f) => f.name).join(", "); };
  input.addEventListener("change", () => { dropped = null; showNames(); });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { dropped = Array.from(e.dataTransfer.files); showNames(); });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
  });
  $("#find-person").addEventListener("click", findPerson);
  $("#person-id").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.isComposing) { e.preventDefault(); findPerson(); }
  });
  $("#ma").addEventListener("change", () => { intake.ma = $("#ma").value.trim(); intake.reading = null; loadDocuments(); });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missing(form)) return;
    const files = chosen();
    if (!files.length) { flash("Chọn hoặc thả bản quét của hồ sơ.", "error"); return; }
    const size = files.reduce((n, f) => n + f.size, 0);
    if (limit && size > limit) { flash(errorMessage("file_too_large", { limit }), "error"); return; }
    intake.ma = $("#ma").value.trim();
    intake.reading = null;
    const body = new FormData();
    for (const f of files) body.append("files", f, f.name);
    body.append("ma_ho_so", intake.ma);
    $("#dossier-upload").disabled = true;
    $("#dossier-progress").textContent = "Đang tải lên…";
    flash("");
    try {
      const res = await api("/api/dossiers", { method: "POST", body });
      if (res.status === 202) await pollDossierJob(res.data.status_url);
      $("#dossier-progress").textContent = "Đã tiếp nhận.";
      await loadDocuments();
    } catch (err) {
      $("#dossier-progress").textContent = "";
      flash(err.message, "error");
      loadDocuments();
    } finally {
      $("#dossier-upload").disabled = false;
    }
  });
  intake.ma = $("#ma").value.trim();
  loadDocuments();
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page === "intake-dossier") initDossierIntake();
});
