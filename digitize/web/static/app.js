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
  ngay_ban_hanh: "Ngày ban hành", loai_van_ban: "Loại văn bản", trich_yeu: "Trích yếu", dia_danh: "Địa danh",
  noi_nhan: "Nơi nhận", chuc_vu_nguoi_ky: "Chức vụ người ký", nam_sinh: "Năm sinh", ngay_sinh_chong: "Ngày sinh chồng",
  ngay_sinh_vo: "Ngày sinh vợ", dan_toc_chong: "Dân tộc chồng", dan_toc_vo: "Dân tộc vợ", quoc_tich_chong: "Quốc tịch chồng",
  quoc_tich_vo: "Quốc tịch vợ", noi_cu_tru_chong: "Nơi cư trú chồng", noi_cu_tru_vo: "Nơi cư trú vợ",
  ho_chieu: "Số hộ chiếu", ho_chieu_chong: "Hộ chiếu chồng", ho_chieu_vo: "Hộ chiếu vợ", nguoi_khai: "Người khai",
  quan_he: "Quan hệ với người được khai", thoi_diem_chet: "Thời điểm chết",
};
const TYPES = { khai_sinh: "Khai sinh", ket_hon: "Kết hôn", khai_tu: "Khai tử", so_ho_tich: "Sổ hộ tịch",
  van_ban: "Văn bản" };
const ROLES = { intake: "Cán bộ một cửa", reviewer: "Người kiểm tra", archivist: "Lưu trữ viên",
  external: "Hệ thống ngoài", admin: "Quản trị" };

// ------------------------------------------------------------------ errors, in Vietnamese
// The API answers {"error": "<English sentence>", "code": "<stable name>"}; pages show
// the code's Vietnamese message, never the English sentence.

const ERRORS = {
  unauthenticated: "Bạn chưa đăng nhập hoặc phiên đăng nhập đã hết hạn; hãy đăng nhập lại.",
  invalid_token: "Mã truy cập (token) không hợp lệ hoặc đã bị thu hồi.",
  forbidden: "Vai trò của bạn không được làm việc này.",
  csrf: "Mã chống giả mạo không khớp; hãy tải lại trang rồi thử lại.",
  cross_origin: "Yêu cầu gửi từ trang khác bị từ chối.",
  not_owner: "Chỉ đơn vị sở hữu mới được làm việc này.",
  read_only: "Kết quả này được chia sẻ chỉ để xem; chỉ đơn vị sở hữu được sửa.",
  not_found: "Không tìm thấy (không có, hoặc bạn không có quyền xem).",
  not_located: "Không định vị được giá trị này trên trang.",
  empty_book: "Quyển sổ này chưa có mục nào của đơn vị.",
  method_not_allowed: "Thao tác không được hỗ trợ.",
  conflict: "Dữ liệu vừa thay đổi; hãy tải lại trang.",
  stale_version: "Kết quả vừa được người khác sửa (đã có phiên bản mới hơn); hãy tải lại trang rồi sửa lại.",
  user_exists: "Tên đăng nhập này đã có.",
  file_too_large: "Tệp vượt quá dung lượng cho phép{limit}.",
  too_large: "Dữ liệu gửi lên quá lớn.",
  too_many_pages: "Tài liệu có quá nhiều trang{limit}.",
  page_too_large: "Trang quá lớn (quá nhiều điểm ảnh) để xử lý; hãy quét ở độ phân giải thấp hơn.",
  unsupported_type: "Loại tệp không được hỗ trợ; chỉ nhận PNG, JPEG, TIFF hoặc PDF.",
  empty_file: "Tệp rỗng (0 byte).",
  encrypted_pdf: "Tệp PDF được đặt mật khẩu (mã hóa); hãy gửi bản không có mật khẩu.",
  corrupt_file: "Tệp bị hỏng hoặc không đọc được.",
  invalid: "Dữ liệu nhập không hợp lệ{field}.",
  bad_request: "Yêu cầu không hợp lệ.",
  bad_dossier_code: "Mã hồ sơ chỉ gồm chữ, số và các ký tự . / _ - (tối đa 64 ký tự).",
  bad_agency: "Mã đơn vị chỉ gồm chữ không dấu, số, _ và - (tối đa 64 ký tự).",
  bad_so_dinh_danh: "Số định danh gồm 12 chữ số (hoặc số CMND cũ 9 chữ số).",
  unknown_agency: "Không có đơn vị này trong hệ thống.",
  own_agency: "Không thể chia sẻ cho chính đơn vị sở hữu.",
  throttled: "Quá nhiều lần thử; hãy thử lại sau ít phút.",
  busy: "Máy chủ đang nhận nhiều tệp cùng lúc; hãy thử lại sau giây lát.",
  unavailable: "Kho lưu trữ tạm thời không truy cập được; hãy thử lại sau.",
  internal: "Lỗi hệ thống; hãy thử lại hoặc báo quản trị viên.",
  interrupted: "Việc xử lý bị gián đoạn do máy chủ khởi động lại; hãy tải tệp lên lại.",
  processing_failed: "Không xử lý được tệp này.",
  network: "Không kết nối được máy chủ; hãy kiểm tra mạng rồi thử lại.",
};
const STATUS_CODES = { 400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
  405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_type", 422: "invalid",
  429: "throttled", 500: "internal", 502: "unavailable", 503: "unavailable", 504: "unavailable" };
const INPUT_NAMES = { name: "tên đăng nhập", agency: "đơn vị", role: "vai trò", month: "tháng", book: "quyển sổ",
  result_id: "mã kết quả", ma_ho_so: "mã hồ sơ", q: "nội dung tìm", so_dinh_danh: "số định danh", value: "giá trị",
  file: "tệp", doc_type: "loại giấy tờ", version: "phiên bản", since: "từ ngày", until: "đến ngày", field: "trường",
  record: "bản ghi", changes: "thay đổi", write: "quyền sửa", format: "định dạng" };

function megabytes(n) {
  return (n / 1048576).toLocaleString("vi-VN", { maximumFractionDigits: 1 }) + " MB";
}

function errorMessage(code, data, status) {
  const key = ERRORS[code] ? code : STATUS_CODES[status];
  if (!key) return `Có lỗi xảy ra (mã ${status || "?"}); hãy thử lại.`;
  const d = data || {};
  let limit = "";
  if (key === "file_too_large" && d.limit) limit = ` (tối đa ${megabytes(d.limit)})`;
  if (key === "too_many_pages" && d.limit) limit = ` (${d.pages ? d.pages + " trang; " : ""}tối đa ${d.limit} trang)`;
  let field = "";
  if (key === "invalid" && Array.isArray(d.problems) && d.problems.length) {
    const loc = d.problems[0].loc || [];
    const name = INPUT_NAMES[loc[loc.length - 1]];
    if (name) field = `: ${name}`;
  }
  return ERRORS[key].replace("{limit}", limit).replace("{field}", field);
}

function apiError(code, data, status) {
  const err = new Error(errorMessage(code, data, status));
  err.status = status;
  err.code = ERRORS[code] ? code : (STATUS_CODES[status] || "error");
  err.detail = data && data.error;  // the English sentence, for the console only
  return err;
}

function flash(message, kind) {
  const box = $("#flash");
  if (!box) return;
  box.textContent = message || "";
  box.className = message ? (kind || "info") : "";
}

async function send(path, opts) {
  try {
    return await fetch(path, opts);
  } catch (e) {
    throw apiError("network", null, 0);
  }
}

async function failure(response) {
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return apiError(data && data.code, data, response.status);
}

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin", headers: {} }, options || {});
  opts.headers = Object.assign({ "X-CSRF-Token": CSRF, Accept: "application/json" }, opts.headers);
  if (opts.json !== undefined) {
    opts.body = JSON.stringify(opts.json);
    opts.headers["Content-Type"] = "application/json";
    delete opts.json;
  }
  const response = await send(path, opts);
  if (!response.ok) throw await failure(response);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  return { status: response.status, data: data };
}

/** GET a file and hand it to the browser as a download (errors stay on the page, in Vietnamese). */
async function download(path, fallbackName) {
  const response = await send(path, { credentials: "same-origin", headers: { Accept: "*/*" } });
  if (!response.ok) throw await failure(response);
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="?([^";]+)"?/.exec(disposition);
  const name = match ? match[1] : fallbackName;
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name: name, size: blob.size };
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

/** The first empty required input of a form: named in Vietnamese and focused. */
function missing(form) {
  for (const input of form.querySelectorAll("[required]")) {
    if (input.value.trim()) continue;
    const label = input.closest("label");
    const name = label && label.firstChild ? label.firstChild.textContent.trim() : "";
    flash(`Hãy điền ${name ? name.toLowerCase() : "ô bắt buộc"}.`, "error");
    input.focus();
    return true;
  }
  return false;
}

/** "2025-12-02…" (ISO, as stored) as dd/mm/yyyy; values already written the Vietnamese way stay. */
function viDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value || "");
  return m ? `${m[3]}/${m[2]}/${m[1]}` : (value || "");
}

function viDateTime(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(value || "");
  return m ? `${m[3]}/${m[2]}/${m[1]} ${m[4]}:${m[5]}` : viDate(value);
}

function viMonth(value) {
  const m = /^(\d{4})-(\d{2})$/.exec(value || "");
  return m ? `${m[2]}/${m[1]}` : (value || "");
}

function percent(rate) {
  return (rate * 100).toLocaleString("vi-VN", { maximumFractionDigits: 1 }) + "%";
}

let me = null;
async function whoami() {
  if (!me) me = (await api("/api/me")).data;
  return me;
}

function dossierPath(ma) {
  // Each segment encoded on its own: a code "HS/2025/01" stays a path (the API
  // route takes slashes), which proxies that refuse an encoded "/" pass too.
  return "/api/dossiers/" + ma.split("/").map(encodeURIComponent).join("/");
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
  view.words = null;
  $("#boxes").replaceChildren();
  img.src = `${base}/image?version=${r.version}`;
  const pager = $("#pager");
  if (pager) pager.hidden = r.pages.length <= 1;
  const pageNo = $("#page-no");
  if (pageNo) pageNo.textContent = `Trang ${view.page}/${r.pages.length}`;
  const prev = $("#prev-page"), next = $("#next-page");
  if (prev) prev.disabled = view.page <= 1;
  if (next) next.disabled = view.page >= r.pages.length;
  const text = $("#page-text");
  if (text) text.textContent = r.pages[view.page - 1].text;
  const shown = view.page;
  let words = null;
  try { words = (await api(`${base}/words?version=${r.version}`)).data; } catch (e) { words = null; }
  if (view.result === r && view.page === shown) {
    view.words = words;
    drawBoxes();
  }
}

function initPager() {
  $("#prev-page").addEventListener("click", () => showPage(view.page - 1));
  $("#next-page").addEventListener("click", () => showPage(view.page + 1));
}

function drawBoxes() {
  const layer = $("#boxes");
  const img = $("#page-img");
  if (!layer || !img) return;
  layer.replaceChildren();
  if (!view.words) return;
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
    const number = rec.fields.so ? ` · số ${rec.fields.so}` : "";
    const set = el("fieldset", { class: "record" },
      el("legend", { text: `${TYPES[rec.doc_type] || rec.doc_type} · trang ${rec.page}` + number +
        (result.records.length > 1 ? ` · bản ghi ${i + 1}/${result.records.length}` : "") }));
    for (const [field, value] of Object.entries(rec.fields)) {
      const flagged = (rec.needs_review || []).includes(field);
      const conf = rec.confidence ? rec.confidence[field] : null;
      const label = LABELS[field] || field;
      const input = el("input", { id: `f-${i}-${field}`, class: "field-input", "data-record": i, "data-field": field,
        "data-original": value, "data-flagged": flagged ? "1" : null, readonly: !editable, spellcheck: "false" });
      input.value = value;
      // Going to a field of another page shows that page.
      input.addEventListener("focus", () => { if (rec.page && rec.page !== view.page) showPage(rec.page); });
      // The field's crop of the page, beside its input (none when the value was not located).
      const crop = value ? el("img", { onerror: (e) => e.target.remove(), class: "field-crop", loading: "lazy",
        alt: `Ảnh cắt: ${label}`, src: `/api/results/${result.id}/records/${i}/fields/${field}/crop?v=${result.version}` })
        : null;
      set.append(el("label", { class: "field" + (flagged ? " flagged" : "") },
        el("span", { class: "name", text: label + (flagged ? " ⚠" : "") }), input,
        el("span", { class: "conf", text: conf === null || conf === undefined ? "" : Math.round(conf * 100) + "%" }),
        crop));
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
    (flagged ? `${flagged} trường cần kiểm tra` : "không còn trường cần kiểm tra") +
    (result.pdf && result.pdf.signer ? ` · ký bởi ${result.pdf.signer}` : "");
  renderFields(result, editable);
  const link = $("#download");
  if (link) {
    link.href = `/api/results/${result.id}/pdf?version=${result.version}`;
    link.setAttribute("download", `${result.id}-v${result.version}.pdf`);
  }
  showPage(Math.min(view.page || 1, result.pages.length) || 1);
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
    $("#download").hidden = false;  // the signed PDF is offered once it has been approved
    flash(`Đã ký phiên bản ${res.data.version}.`, "ok");
    if (document.body.dataset.page === "result") loadVersions();
  } catch (e) {
    flash(e.message, "error");
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ intake

async function loadDossier(ma) {
  const box = $("#dossier"), list = $("#dossier-items");
  box.hidden = true;
  list.replaceChildren();
  if (!ma) return;
  let d;
  try { d = (await api(dossierPath(ma))).data; } catch (e) { return; }
  $("#dossier-code").textContent = `${d.ma_ho_so} · ${d.items.length} giấy tờ` +
    (d.reused ? ` · ${d.reused} lấy từ kho lưu trữ` : "");
  for (const item of d.items) {
    list.append(el("li", {}, el("a", { href: `/results/${item.result_id}`, text: item.result_id.slice(0, 8) + "…" }),
      ` · ${item.kind === "reused" ? "lấy từ kho lưu trữ" : "quét mới"} · ${viDateTime(item.at)} · ${item.by}`));
  }
  box.hidden = false;
}

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
        await api(`${dossierPath(ma)}/reuse`, { method: "POST", json: { result_id: hit.result_id } });
        button.textContent = "Đã đính kèm";
        button.disabled = true;
        loadDossier(ma);
      } catch (e) { flash(e.message, "error"); }
    });
    list.append(el("li", {}, el("a", { href: `/results/${hit.result_id}`, target: "_blank", rel: "noopener",
      text: `${TYPES[hit.doc_type] || hit.doc_type || "?"} · ${hit.name || personName(hit.fields)} · ${hit.matched_so_dinh_danh} · ${hit.agency}` }), " ", button));
  }
}

// pipeline.STAGES, as the job status names them while a file is worked on
const STAGE_LABELS = {ocr: "nhận dạng chữ", fields: "trích xuất trường", pdf: "tạo PDF/A", sign: "ký số",
  store: "lưu trữ", index: "lập chỉ mục"};

async function pollJob(url) {
  for (;;) {
    const job = (await api(url)).data;
    $("#progress").textContent = `Đang xử lý: ${job.pages_done}/${job.pages_total} trang` +
      (job.stage && STAGE_LABELS[job.stage] ? ` · ${STAGE_LABELS[job.stage]}` : "");
    if (job.status === "done") return (await api(job.result_url)).data;
    if (job.status === "failed") throw apiError(job.code || "processing_failed", job, 0);
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

/** No result on screen: before an upload, while one runs, and after an error. */
function clearIntake() {
  view.result = null;
  view.words = null;
  view.page = 1;
  $("#result").hidden = true;
  $("#page-img").removeAttribute("src");
  $("#boxes").replaceChildren();
  $("#fields").replaceChildren();
  $("#download").hidden = true;
  $("#open-result").hidden = true;
  $("#dossier").hidden = true;
  $("#matches").hidden = true;
}

function initIntake() {
  const form = $("#upload-form"), file = $("#file"), drop = $("#drop");
  const limit = Number(document.body.dataset.uploadLimit) || 0;
  let dropped = null;
  const setName = (f) => { $("#file-name").textContent = f ? f.name : ""; };
  clearIntake();
  file.addEventListener("change", () => { dropped = null; setName(file.files[0]); });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { dropped = e.dataTransfer.files[0] || null; setName(dropped); });
  drop.addEventListener("keydown", (e) => {  // the drop zone opens the file chooser from the keyboard
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); file.click(); }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const chosen = dropped || file.files[0];
    if (!chosen) { flash("Chọn hoặc thả một bản quét.", "error"); return; }
    clearIntake();
    if (limit && chosen.size > limit) {  // refused here: the server would drop the connection mid-upload
      flash(errorMessage("file_too_large", { limit }), "error");
      return;
    }
    const ma = $("#ma_ho_so").value.trim();
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    body.append("doc_type", $("#doc_type").value);
    if (ma) body.append("ma_ho_so", ma);
    if ($("#book").value.trim()) body.append("book", $("#book").value.trim());
    $("#upload").disabled = true;
    $("#progress").textContent = "Đang xử lý…";
    flash("");
    const started = performance.now();
    try {
      const res = await api("/api/upload", { method: "POST", body });
      const result = res.status === 202 ? await pollJob(res.data.status_url) : res.data;
      $("#progress").textContent = `Xong trong ${((performance.now() - started) / 1000).toFixed(1)} giây`;
      showResult(result, true);
      const open = $("#open-result");
      open.href = `/results/${result.id}`;
      open.hidden = false;
      loadMatches(result);
      loadDossier(ma);
    } catch (err) {
      clearIntake();
      $("#progress").textContent = "";
      flash(err.message, "error");
    } finally {
      $("#upload").disabled = false;
    }
  });
  $("#approve").addEventListener("click", approve);
  $("#show-words").addEventListener("change", drawBoxes);
  $("#page-img").addEventListener("load", drawBoxes);
  initPager();
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
      ` · ${viDateTime(v.signed_at)}` + (changes ? ` · ${changes}` : "")));
  }
}

async function initResult() {
  const id = document.body.dataset.resultId;
  $("#approve").addEventListener("click", approve);
  $("#show-words").addEventListener("change", drawBoxes);
  $("#page-img").addEventListener("load", drawBoxes);
  initPager();
  window.addEventListener("resize", drawBoxes);
  try {
    const result = (await api(`/api/results/${id}`)).data;
    showResult(result, true);
    loadVersions().catch((e) => flash(e.message, "error"));
  } catch (e) { flash(e.message, "error"); return; }
  try {
    if ((await whoami()).permissions.includes("share")) {
      const link = $("#share-link");
      link.href = `/shares?result=${id}`;
      link.hidden = false;
    }
  } catch (e) { /* the link is only a shortcut */ }
}

// ------------------------------------------------------------------ search

function initSearch() {
  $("#search-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const params = new URLSearchParams();
    if ($("#q").value.trim()) params.set("q", $("#q").value.trim());
    if ($("#so_dinh_danh").value.trim()) params.set("so_dinh_danh", $("#so_dinh_danh").value.trim());
    if (!params.toString()) { flash("Nhập họ tên, nội dung hoặc số định danh.", "error"); $("#q").focus(); return; }
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
          el("td", { text: viDate(f.ngay_sinh || f.ngay_sinh_chong || "") }),
          el("td", { text: f.so_dinh_danh || f.so_dinh_danh_chong || f.so_dinh_danh_vo || "" }),
          el("td", { class: "file", text: h.source_name || "" }),
          el("td", { class: "num", text: h.version ? `v${h.version}` : "" }),
          el("td", { text: (h.dossiers || []).join(", ") }),
          el("td", { text: h.agency || "" }),
          el("td", { text: viDate(h.created_at) })));
      }
      $("#hits-count").textContent = `${hits.length} kết quả`;
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

function entryLabel(item) {
  const parts = [];
  if (item.so) parts.push(`Mục số ${item.so}`);
  parts.push(`bản ghi ${item.record + 1}/${item.records || 1}`);
  if (item.book) parts.push(`quyển ${item.book}`);
  return parts.join(" · ");
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
  $("#item-meta").textContent = `${item.source} · ${TYPES[item.doc_type] || item.doc_type} · trang ${item.page}` +
    (item.pages > 1 ? `/${item.pages}` : "");
  $("#item-entry").textContent = entryLabel(item);
  $("#item-link").href = `/results/${item.result_id}`;
  $("#item-field").textContent = LABELS[item.field] || item.field;
  $("#item-conf").textContent = item.confidence === null || item.confidence === undefined ? "?" : Math.round(item.confidence * 100) + "%";
  const context = $("#item-context");
  context.replaceChildren();
  for (const [field, value] of Object.entries(item.fields || {})) {
    if (field === item.field || !value) continue;
    context.append(el("dt", { text: LABELS[field] || field }), el("dd", { text: value }));
  }
  $("#item-row").hidden = !context.childElementCount;
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
    // Enter on a link, button or summary does what it says there; elsewhere it accepts.
    const own = e.target.closest && e.target.closest("a, button, summary, select, textarea");
    if (e.key === "Enter" && !own) { e.preventDefault(); decide(true); }
    else if (e.key === "Escape") { e.preventDefault(); decide(false); }
    else if (e.key === "s" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); flushBatch(); }
  });
  window.addEventListener("beforeunload", (e) => { if (queue.batch && queue.batch.changes.length) { e.preventDefault(); e.returnValue = ""; } });
}

// ------------------------------------------------------------------ sharing (archivists, admins)

const ACCESS = { read: "chỉ xem", write: "xem và sửa" };

async function initShares() {
  let owner = document.body.dataset.agency;
  const params = new URLSearchParams(location.search);
  if (params.get("result")) $("#share-result").value = params.get("result");
  let admin = false;
  try { admin = (await whoami()).permissions.includes("admin"); } catch (e) { flash(e.message, "error"); }
  $("#owner-form").hidden = !admin;
  $("#share-all-form").hidden = !admin;

  async function revoke(row, button) {
    button.disabled = true;
    const grantee = encodeURIComponent(row.grantee_agency);
    const path = row.result_id === "*"
      ? `/api/agencies/${encodeURIComponent(row.owner_agency)}/share/${grantee}`
      : `/api/results/${row.result_id}/share/${grantee}`;
    try {
      await api(path, { method: "DELETE" });
      flash(`Đã thu hồi quyền của đơn vị ${row.grantee_agency}.`, "ok");
      await load();
    } catch (e) { flash(e.message, "error"); button.disabled = false; }
  }

  async function load() {
    const data = (await api(`/api/shares?agency=${encodeURIComponent(owner)}`)).data;
    owner = data.agency;
    $("#owner-label").textContent = owner;
    for (const node of document.querySelectorAll(".owner-name")) node.textContent = owner;
    const body = $("#shares tbody");
    body.replaceChildren();
    for (const row of data.shares) {
      const button = el("button", { type: "button", class: "secondary revoke", text: "Thu hồi",
        "aria-label": `Thu hồi quyền của ${row.grantee_agency}` });
      button.addEventListener("click", () => revoke(row, button));
      body.append(el("tr", { "data-result": row.result_id, "data-grantee": row.grantee_agency },
        el("td", {}, row.result_id === "*" ? el("strong", { text: "Tất cả kết quả" })
          : el("a", { href: `/results/${row.result_id}`, text: row.result_id })),
        el("td", { text: row.grantee_agency }),
        el("td", { text: ACCESS[row.access] || row.access }),
        el("td", { text: row.granted_by }),
        el("td", { text: viDateTime(row.at) }),
        el("td", {}, button)));
    }
    $("#shares").hidden = !data.shares.length;
    $("#no-shares").hidden = !!data.shares.length;
  }

  $("#owner-form").addEventListener("submit", (e) => {
    e.preventDefault();
    owner = $("#owner").value.trim() || document.body.dataset.agency;
    load().catch((err) => flash(err.message, "error"));
  });
  $("#share-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missing(e.target)) return;
    const id = $("#share-result").value.trim().toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(id)) { flash("Mã kết quả gồm 32 ký tự 0-9, a-f.", "error"); $("#share-result").focus(); return; }
    const agency = $("#share-agency").value.trim();
    try {
      await api(`/api/results/${id}/share`, { method: "POST", json: { agency, write: $("#share-write").checked } });
      flash(`Đã chia sẻ kết quả cho đơn vị ${agency}.`, "ok");
      $("#share-agency").value = "";
      await load();
    } catch (err) { flash(err.message, "error"); }
  });
  $("#share-all-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missing(e.target)) return;
    const agency = $("#share-all-agency").value.trim();
    try {
      await api(`/api/agencies/${encodeURIComponent(owner)}/share`, { method: "POST",
        json: { agency, write: $("#share-all-write").checked } });
      flash(`Đã chia sẻ mọi kết quả của ${owner} cho đơn vị ${agency}.`, "ok");
      $("#share-all-agency").value = "";
      await load();
    } catch (err) { flash(err.message, "error"); }
  });
  try { await load(); } catch (e) { flash(e.message, "error"); }
}

// ------------------------------------------------------------------ MoJ export (archivists, admins)

function initExport() {
  $("#export-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missing(e.target)) return;
    const book = $("#book").value.trim();
    const status = $("#export-status");
    const button = $("#export");
    button.disabled = true;
    status.textContent = "Đang tạo gói…";
    flash("");
    try {
      const got = await download(`/api/export/moj?book=${encodeURIComponent(book)}`, "so-ho-tich.zip");
      status.textContent = "";
      flash(`Đã tải ${got.name} (${megabytes(got.size)}).`, "ok");
    } catch (err) {
      status.textContent = "";
      flash(err.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}

// ------------------------------------------------------------------ reuse report (admins)

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Horizontal bars, one per agency and month: SVG built here (the CSP allows no inline styles). */
function drawReuseChart(rows) {
  const figure = $("#chart");
  for (const old of figure.querySelectorAll("svg")) old.remove();
  figure.hidden = !rows.length;
  if (!rows.length) return;
  const bar = 22, gap = 8, labelWidth = 200, plot = 440, valueWidth = 150, axis = 22;
  const width = labelWidth + plot + valueWidth, height = rows.length * (bar + gap) + axis;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": "Biểu đồ tỷ lệ hồ sơ có tái sử dụng giấy tờ, theo đơn vị và tháng" });
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = labelWidth + t * plot;
    root.append(svg("line", { class: "axis", x1: x, x2: x, y1: 0, y2: height - axis + 4 }),
      svg("text", { class: "tick", x, y: height - 6, "text-anchor": "middle" }, percent(t)));
  }
  rows.forEach((row, i) => {
    const y = i * (bar + gap) + 2;
    const rate = Math.max(0, Math.min(1, Number(row.reuse_rate) || 0));
    const label = `${row.agency} · ${viMonth(row.month)}`;
    const group = svg("g", { class: "row", "data-agency": row.agency, "data-month": row.month || "" });
    group.append(svg("title", {}, `${label}: ${row.reused}/${row.dossiers} hồ sơ (${percent(rate)})`),
      svg("text", { class: "label", x: labelWidth - 8, y: y + bar * 0.7, "text-anchor": "end" }, label),
      svg("rect", { class: "track", x: labelWidth, y, width: plot, height: bar }),
      svg("rect", { class: "bar", x: labelWidth, y, width: (rate * plot).toFixed(1), height: bar }),
      svg("text", { class: "value", x: labelWidth + plot + 8, y: y + bar * 0.7 },
        `${percent(rate)} (${row.reused}/${row.dossiers})`));
    root.append(group);
  });
  figure.prepend(root);
}

function initReports() {
  const form = $("#report-form");
  async function load() {
    const params = new URLSearchParams();
    if ($("#month").value) params.set("month", $("#month").value);
    if ($("#agency").value.trim()) params.set("agency", $("#agency").value.trim());
    flash("");
    try {
      const rows = (await api(`/api/reports/reuse?${params}`)).data.rows;
      const body = $("#report tbody");
      body.replaceChildren();
      for (const row of rows) {
        body.append(el("tr", {}, el("td", { text: row.agency }), el("td", { text: viMonth(row.month) }),
          el("td", { class: "num", text: row.dossiers }), el("td", { class: "num", text: row.reused }),
          el("td", { class: "num", text: percent(row.reuse_rate) })));
      }
      $("#report").hidden = !rows.length;
      $("#no-rows").hidden = !!rows.length;
      drawReuseChart(rows);
    } catch (err) { flash(err.message, "error"); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
}

// ------------------------------------------------------------------ users (admins)

function initUsers() {
  async function load() {
    const users = (await api("/api/users")).data.users;
    const body = $("#users tbody");
    body.replaceChildren();
    for (const u of users) {
      body.append(el("tr", { "data-name": u.name }, el("td", { text: u.name }), el("td", { text: ROLES[u.role] || u.role }),
        el("td", { text: u.agency }), el("td", { text: u.disabled ? "Đã khóa" : "Đang dùng" }),
        el("td", { text: viDateTime(u.created_at) })));
    }
  }
  $("#user-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (missing(e.target)) return;
    const body = { name: $("#user-name").value.trim(), role: $("#user-role").value, agency: $("#user-agency").value.trim() };
    try {
      const user = (await api("/api/users", { method: "POST", json: body })).data;
      const token = user.role === "external";
      $("#secret-title").textContent = token ? `Mã truy cập API cho ${user.name}` : `Mật khẩu tạm thời của ${user.name}`;
      $("#secret-label").textContent = token ? "Mã truy cập (token)" : "Mật khẩu";
      const value = $("#secret-value");
      value.value = token ? user.token : user.password;
      $("#secret").hidden = false;
      value.focus();
      value.select();
      flash(`Đã thêm ${user.name} (${ROLES[user.role] || user.role}, ${user.agency}).`, "ok");
      $("#user-name").value = "";
      await load();
    } catch (err) { flash(err.message, "error"); }
  });
  $("#hide-secret").addEventListener("click", () => {  // shown once: gone from the page for good
    $("#secret-value").value = "";
    $("#secret").hidden = true;
    $("#user-name").focus();
  });
  load().catch((err) => flash(err.message, "error"));
}

// ------------------------------------------------------------------ audit log (admins)

function nextDay(date) {
  const d = new Date(date + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

function initAudit() {
  async function verify() {
    const out = $("#chain");
    out.className = "";
    out.textContent = "Đang kiểm tra…";
    try {
      const r = (await api("/api/audit/verify")).data;
      out.className = r.ok ? "ok-text" : "bad-text";
      out.textContent = r.ok ? `Nhật ký nguyên vẹn: đã kiểm tra ${r.rows} dòng.`
        : `Nhật ký KHÔNG nguyên vẹn: dòng số ${r.first_bad} bị sửa hoặc mất dòng trước nó (đã kiểm tra ${r.rows} dòng).`;
    } catch (err) { out.textContent = ""; flash(err.message, "error"); }
  }
  $("#verify-chain").addEventListener("click", verify);
  $("#audit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const params = new URLSearchParams({ format: $("#audit-format").value });
    if ($("#since").value) params.set("since", $("#since").value);
    if ($("#until").value) params.set("until", nextDay($("#until").value));
    if ($("#audit-result").value.trim()) params.set("result_id", $("#audit-result").value.trim());
    const button = $("#audit-export");
    button.disabled = true;
    try {
      const got = await download(`/api/audit?${params}`, `audit.${params.get("format")}`);
      flash(`Đã tải ${got.name} (${megabytes(got.size)}).`, "ok");
    } catch (err) { flash(err.message, "error"); }
    finally { button.disabled = false; }
  });
  verify();
}

// ------------------------------------------------------------------ API reference (/docs)

const TAG_LABELS = { service: "Dịch vụ", results: "Kết quả", review: "Kiểm tra", search: "Tra cứu",
  dossiers: "Hồ sơ", signatures: "Chữ ký số", admin: "Quản trị", other: "Khác" };
const PLACES = { path: "đường dẫn", query: "tham số truy vấn", header: "tiêu đề", cookie: "cookie" };

function schemaName(schema, spec, depth) {
  if (!schema) return "";
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    if (depth > 0) return name;
    return schemaName(spec.components.schemas[name], spec, depth + 1) || name;
  }
  for (const key of ["anyOf", "oneOf"]) {
    if (schema[key]) return schema[key].map((s) => schemaName(s, spec, depth + 1)).join(" | ");
  }
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.type === "array") return `mảng ${schemaName(schema.items, spec, depth + 1)}`;
  if (schema.type === "object" && schema.properties && depth === 0) {
    return "{" + Object.keys(schema.properties).join(", ") + "}";
  }
  return schema.format ? `${schema.type} (${schema.format})` : (schema.type || "");
}

function propertiesTable(schema, spec) {
  const target = schema && schema.$ref ? spec.components.schemas[schema.$ref.split("/").pop()] : schema;
  if (!target || !target.properties) return null;
  const required = new Set(target.required || []);
  const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "Trường" }), el("th", { text: "Kiểu" }),
    el("th", { text: "Bắt buộc" }), el("th", { text: "Mô tả" }))));
  const body = el("tbody");
  for (const [name, prop] of Object.entries(target.properties)) {
    body.append(el("tr", {}, el("td", {}, el("code", { text: name })), el("td", { text: schemaName(prop, spec, 1) }),
      el("td", { text: required.has(name) ? "có" : "" }), el("td", { text: prop.description || "" })));
  }
  table.append(body);
  return table;
}

function operationBlock(path, method, op, spec) {
  const body = el("div", { class: "body" });
  if (op.description) body.append(el("p", { class: "desc", text: op.description }));
  const params = op.parameters || [];
  if (params.length) {
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "Tham số" }), el("th", { text: "Ở" }),
      el("th", { text: "Kiểu" }), el("th", { text: "Bắt buộc" }), el("th", { text: "Mô tả" }))));
    const rows = el("tbody");
    for (const p of params) {
      rows.append(el("tr", {}, el("td", {}, el("code", { text: p.name })), el("td", { text: PLACES[p.in] || p.in }),
        el("td", { text: schemaName(p.schema, spec, 1) }), el("td", { text: p.required ? "có" : "" }),
        el("td", { text: p.description || (p.schema && p.schema.description) || "" })));
    }
    table.append(rows);
    body.append(el("h4", { text: "Tham số" }), table);
  }
  if (op.requestBody) {
    body.append(el("h4", { text: "Nội dung gửi" }));
    for (const [type, media] of Object.entries(op.requestBody.content || {})) {
      body.append(el("p", {}, el("code", { text: type }), " ", schemaName(media.schema, spec, 1)));
      const table = propertiesTable(media.schema, spec);
      if (table) body.append(table);
    }
  }
  const responses = el("ul");
  for (const [status, res] of Object.entries(op.responses || {})) {
    const types = Object.keys(res.content || {}).join(", ");
    responses.append(el("li", {}, el("code", { text: status }), ` ${res.description || ""}` + (types ? ` · ${types}` : "")));
  }
  body.append(el("h4", { text: "Trả về" }), responses);
  const secured = (op.security || spec.security || []).length > 0;
  if (secured) body.append(el("p", { class: "hint", text: "Cần xác thực: Authorization: Bearer <token>, hoặc phiên đăng nhập." }));
  return el("details", { class: "op", id: op.operationId ? `op-${op.operationId}` : null },
    el("summary", {}, el("span", { class: `method ${method}`, text: method }), el("span", { class: "path", text: path }),
      el("span", { class: "hint", text: op.summary || "" })), body);
}

async function initDocs() {
  const box = $("#operations");
  let spec;
  try {
    const response = await send("/openapi.json", { headers: { Accept: "application/json" } });
    if (!response.ok) throw await failure(response);
    spec = await response.json();
  } catch (e) { box.replaceChildren(); flash(e.message, "error"); return; }
  $("#api-version").textContent = `${spec.info.title} ${spec.info.version}`;
  $("#api-description").textContent = spec.info.description || "";
  const groups = new Map();
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operationBlock(path, method, op, spec));
    }
  }
  box.replaceChildren();
  const nav = $("#api-tags");
  for (const [tag, blocks] of groups) {
    const title = TAG_LABELS[tag] || tag;
    nav.append(el("a", { href: `#tag-${tag}`, text: `${title} (${blocks.length})` }));
    box.append(el("section", { id: `tag-${tag}` }, el("h2", { text: title }), ...blocks));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const init = { intake: initIntake, review: initReview, search: initSearch, result: initResult, shares: initShares,
    export: initExport, reports: initReports, users: initUsers, audit: initAudit, docs: initDocs, keying: initKeying,
    arbitrate: initArbitrate, "keying-progress": initKeyingProgress }[document.body.dataset.page];
  if (init) init();
});

// ------------------------------------------------------------------ double keying (keyboard-first)
// No plain-letter shortcut anywhere: Telex and VNI type through the OS input method,
// so only Enter, Tab, arrows and Ctrl combinations are bound, and never while an
// input method is composing (e.isComposing).

const DATE_RE = /^(\d{2})\/(\d{2})\/(\d{4})$/;

/** A warning for a value as typed ("" when it looks right); the paper may hold anything, so it never blocks. */
function checkValue(check, value, values) {
  const v = (value || "").trim();
  if (!v || !check) return "";
  if (check.kind === "date") {
    if (/^\d{4}$/.test(v)) return "";
    const m = DATE_RE.exec(v);
    if (!m) return "Ngày viết dd/mm/yyyy (hoặc chỉ năm yyyy)";
    const d = +m[1], mo = +m[2], y = +m[3];
    const date = new Date(Date.UTC(y, mo - 1, d));
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return "Ngày không có thật";
    return "";
  }
  if (check.kind === "year") return /^\d{4}$/.test(v) ? "" : "Năm gồm 4 chữ số";
  if (check.kind === "id") {
    if (!/^\d{12}$/.test(v)) return "Số định danh gồm 12 chữ số";
    const province = +v.slice(0, 3);
    if (province < 1 || province > 96) return "Ba số đầu (mã tỉnh) phải từ 001 đến 096";
    const c = +v[3];
    const sex = values && values.gioi_tinh;
    if (sex && ((c % 2 === 0) !== (sex.trim() === "Nam"))) return "Chữ số thứ 4 không khớp giới tính";
    const birth = values && /(\d{4})$/.exec((values.ngay_sinh || "").trim());
    if (birth && 1900 + 100 * Math.floor(c / 2) + +v.slice(4, 6) !== +birth[1]) return "Chữ số 4–6 không khớp năm sinh";
    return "";
  }
  if (check.kind === "choice") {
    const folded = v.normalize("NFC").toLocaleLowerCase("vi");
    if (check.choices.some((c) => c.toLocaleLowerCase("vi") === folded)) return "";
    return check.choices.length > 5 ? "Không thuộc 54 dân tộc" : `Chỉ: ${check.choices.join(", ")}`;
  }
  return "";
}

/** The entry's band of the page, for context (hidden when it cannot be located). */
function showRowImage(img, task) {
  img.hidden = false;
  img.onerror = () => { img.hidden = true; };
  img.src = task.row_image;
}

function entryTitle(task) {
  const parts = [`${TYPES[task.doc_type] || task.doc_type}`, `trang ${task.page}`,
    task.row >= 0 ? `dòng ${task.row + 1} (chưa đọc được)` : `mục ${task.record + 1}/${task.records}`];
  if (task.book) parts.unshift(`quyển ${task.book}`);
  if (task.blind) parts.push("nhập mù (không gợi ý)");
  return parts.join(" · ");
}

/** One row: label, input (with completion for choices), the warning, the cell's crop. */
function keyRow(f, extra) {
  const id = `f-${f.name}`;
  const input = el("input", { id: id, name: f.name, autocomplete: "off", spellcheck: "false", "aria-describedby": `${id}-warn` });
  input.value = f.value || "";
  const row = el("div", { class: "key-row" + (f.disputed ? " disputed" : ""), "data-field": f.name });
  if (f.check && f.check.kind === "choice") {
    const list = el("datalist", { id: `${id}-list` }, ...f.check.choices.map((c) => el("option", { value: c })));
    input.setAttribute("list", `${id}-list`);
    row.append(list);
  }
  const crop = f.crop ? el("img", { class: "cell-crop", alt: `Ảnh ô ${LABELS[f.name] || f.name}`, src: f.crop }) : el("span", { class: "hint", text: "(không có ảnh ô)" });
  if (f.crop) crop.addEventListener("error", () => crop.replaceWith(el("span", { class: "hint", text: "(không định vị được ô)" })));
  row.append(el("label", { for: id, text: LABELS[f.name] || f.name }), el("div", { class: "key-input" }, input, extra || null,
    el("span", { id: `${id}-warn`, class: "warn", role: "status" })), el("div", { class: "crop" }, crop));
  return { row: row, input: input };
}

function keyValues(box) {
  const out = {};
  for (const input of box.querySelectorAll("input[name]")) out[input.name] = input.value;
  return out;
}

function wireChecks(box, fields) {
  const checks = Object.fromEntries(fields.map((f) => [f.name, f.check]));
  const run = () => {
    const values = keyValues(box);
    for (const input of box.querySelectorAll("input[name]")) {
      const warning = checkValue(checks[input.name], input.value, values);
      $(`#f-${input.name}-warn`, box).textContent = warning;
      input.classList.toggle("invalid", !!warning);
    }
  };
  box.addEventListener("input", run);
  run();
}

/** Enter / Tab to the next input, Ctrl+Enter to submit, Ctrl+S for `save`. */
function wireKeys(form, submit, save) {
  form.addEventListener("keydown", (e) => {
    if (e.isComposing || e.keyCode === 229) return;  // an input method is composing: its keys
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); submit(); return; }
    if (e.key === "s" && (e.ctrlKey || e.metaKey) && save) { e.preventDefault(); save(); return; }
    if (e.key === "Enter" && e.target.tagName === "INPUT") {
      e.preventDefault();
      const inputs = [...form.querySelectorAll("input[name]:not([readonly])")];
      const next = inputs[inputs.indexOf(e.target) + 1];
      if (next) { next.focus(); next.select(); } else $("button[type=submit]", form).focus();
    }
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });
}

const keying = { task: null, keystrokes: 0, timer: null, saving: null };

async function saveDraft() {
  clearTimeout(keying.timer);
  keying.timer = null;
  const task = keying.task;
  if (!task) return;
  try {
    await api(`/api/keying/entries/${task.id}/draft`, { method: "PUT", json: { values: keyValues($("#entry-fields")), keystrokes: keying.keystrokes } });
    $("#draft-status").textContent = "Đã ghi nháp " + new Date().toLocaleTimeString("vi-VN");
  } catch (e) { $("#draft-status").textContent = `Chưa ghi được nháp (${e.message})`; }
}

async function showKeyingTask(task) {
  keying.task = task;
  keying.keystrokes = 0;
  $("#entry").hidden = !task;
  $("#empty").hidden = !!task;
  if (!task) { $("#entry-label").textContent = ""; return; }
  $("#entry-label").textContent = `#${task.id}`;
  $("#entry-meta").textContent = entryTitle(task) + (task.draft ? " · tiếp tục bản nháp" : "");
  $("#entry-image").href = task.image;
  $("#draft-status").textContent = "";
  showRowImage($("#entry-row"), task);
  const box = $("#entry-fields");
  box.replaceChildren(...task.fields.map((f) => keyRow(f).row));
  wireChecks(box, task.fields);
  const first = box.querySelector("input[name]");
  if (first) { first.focus(); first.select(); }
}

async function nextKeying() {
  try { await showKeyingTask((await api("/api/keying/next")).data.task); }
  catch (e) { flash(e.message, "error"); }
}

async function submitKeying() {
  const task = keying.task;
  if (!task || keying.saving) return;
  clearTimeout(keying.timer);
  keying.saving = true;
  $("#submit").disabled = true;
  try {
    const res = (await api(`/api/keying/entries/${task.id}/submit`, { method: "POST", json: { values: keyValues($("#entry-fields")), keystrokes: keying.keystrokes } })).data;
    const said = { done: `Hai lần nhập khớp nhau: đã ký phiên bản ${res.version}.`, arbitration: "Hai lần nhập khác nhau: đã chuyển đối chiếu.",
      keying: "Đã nộp; chờ người nhập thứ hai.", failed: "Đã nộp, nhưng chưa tạo được phiên bản mới; lưu trữ viên sẽ thử lại." };
    flash(said[res.status] || "Đã nộp.", res.status === "failed" ? "error" : "ok");
    await nextKeying();
  } catch (e) { flash(e.message, "error"); }
  finally { keying.saving = false; $("#submit").disabled = false; }
}

function initKeying() {
  const form = $("#entry");
  wireKeys(form, submitKeying, saveDraft);
  $("#draft").addEventListener("click", saveDraft);
  form.addEventListener("input", () => {
    keying.keystrokes += 1;
    clearTimeout(keying.timer);
    keying.timer = setTimeout(saveDraft, 1500);  // nothing lost if the browser closes
  });
  window.addEventListener("pagehide", () => { if (keying.timer) saveDraft(); });
  nextKeying();
}

const arb = { items: [], task: null };

async function showArbitration() {
  $("#arb-count").textContent = arb.items.length ? `(${arb.items.length})` : "";
  const item = arb.items[0];
  $("#arb").hidden = !item;
  $("#empty").hidden = !!item;
  if (!item) return;
  let task;
  try { task = (await api(`/api/keying/entries/${item.id}/arbitration`)).data; }
  catch (e) { flash(e.message, "error"); arb.items.shift(); return showArbitration(); }
  arb.task = task;
  $("#arb-meta").textContent = `#${task.id} · ` + entryTitle(task);
  $("#arb-image").href = task.image;
  showRowImage($("#arb-row"), task);
  const box = $("#arb-fields");
  box.replaceChildren();
  for (const f of task.fields) {
    const choices = f.disputed ? el("span", { class: "keyed" }, ...f.keyed.map((v, i) => {
      const b = el("button", { type: "button", class: "secondary choice", text: `${i + 1}: ${v || "∅ (trống)"}` });
      b.addEventListener("click", () => { input.value = v; input.dispatchEvent(new Event("input", { bubbles: true })); input.focus(); });
      return b;
    })) : null;
    const made = keyRow(f, choices);
    const input = made.input;
    if (!f.disputed) input.readOnly = true;
    else input.addEventListener("keydown", (e) => {
      if (e.isComposing || e.ctrlKey || e.altKey || e.metaKey) return;
      if (e.key === "ArrowUp" || e.key === "ArrowDown") {
        e.preventDefault();
        input.value = f.keyed[e.key === "ArrowUp" ? 0 : 1] || "";
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
    box.append(made.row);
  }
  wireChecks(box, task.fields);
  const first = box.querySelector("input[name]:not([readonly])");
  if (first) first.focus();
}

async function decideArbitration() {
  const task = arb.task;
  if (!task) return;
  const values = {};
  for (const name of task.disputed) values[name] = $(`#f-${name}`).value;
  $("#decide").disabled = true;
  try {
    const res = (await api(`/api/keying/entries/${task.id}/arbitrate`, { method: "POST", json: { values: values } })).data;
    flash(res.status === "done" ? `Đã quyết định: phiên bản ${res.version} đã ký.` : "Đã quyết định, nhưng chưa tạo được phiên bản mới.",
      res.status === "done" ? "ok" : "error");
    arb.items.shift();
    await showArbitration();
  } catch (e) { flash(e.message, "error"); }
  finally { $("#decide").disabled = false; }
}

async function initArbitrate() {
  wireKeys($("#arb"), decideArbitration, null);
  try { arb.items = (await api("/api/keying/arbitration?limit=200")).data.items; }
  catch (e) { flash(e.message, "error"); return; }
  showArbitration();
}

async function loadKeyingProgress() {
  const data = (await api("/api/keying/progress")).data;
  const books = $("#books tbody");
  books.replaceChildren(...data.books.map((b) => el("tr", {}, el("td", { text: b.agency }), el("td", { text: b.book }),
    ...["entries", "not_started", "keyed_once", "keyed_twice", "in_arbitration", "done", "failed"].map((k) => el("td", { class: "num", text: String(b[k]) })))));
  const keyers = $("#keyers tbody");
  keyers.replaceChildren(...data.keyers.map((k) => el("tr", {}, el("td", { text: k.user }), el("td", { class: "num", text: String(k.entries) }),
    el("td", { class: "num", text: k.seconds_per_entry === null ? "–" : String(k.seconds_per_entry) }),
    el("td", { class: "num", text: String(k.keystrokes) }),
    el("td", { class: "num", text: k.agreement === null ? "–" : percent(k.agreement) }))));
  const share = data.arbitration_share;
  $("#control").textContent = `Tỉ lệ ô phải đối chiếu: có gợi ý OCR ${share.prefilled === null ? "–" : percent(share.prefilled)}, ` +
    `nhập mù ${share.blind === null ? "–" : percent(share.blind)} (nhập mù: ${percent(data.blind_share)} số mục).`;
}

function initKeyingProgress() {
  $("#send-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = $("#send-result").value.trim();
    if (!/^[0-9a-f]{32}$/.test(id)) { flash("Mã kết quả gồm 32 ký tự 0-9, a-f.", "error"); $("#send-result").focus(); return; }
    const body = $("#send-all").checked ? { all: true } : { floor: parseFloat($("#send-floor").value || "0.8") };
    try {
      const res = (await api(`/api/keying/results/${id}/send`, { method: "POST", json: body })).data;
      flash(`Đã gửi ${res.created.length} mục đi nhập liệu` + (res.skipped ? ` (${res.skipped} mục đã gửi trước đó).` : "."), "ok");
      await loadKeyingProgress();
    } catch (err) { flash(err.message, "error"); }
  });
  loadKeyingProgress().catch((e) => flash(e.message, "error"));
}
