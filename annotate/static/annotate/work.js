// Annotation work view: one leased item at a time from the JSON API, everything by keyboard.
// Responses arrive as server-sanitised HTML (arena/markdown.py); anything else is inserted as
// text. The answer in progress is a draft: kept in localStorage at once and POSTed (debounced)
// to the server, which also renews the lease, so a reload or a closed tab loses nothing.
(() => {
  "use strict";
  const root = document.getElementById("work");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const API = root.dataset.api, DONE_URL = root.dataset.done, SLUG = root.dataset.slug;
  const STRENGTH_KEYS = ["q", "w", "e", "y", "u", "o", "p"]; // "i" is the instructions
  const DRAFT_DELAY_MS = 800;
  // The item went back (time ran out) or was skipped in another tab: offer the next one.
  const GONE = ["lease_expired", "item_skipped"];
  const task = $("task"), rationale = $("rationale"), skipPanel = $("skip-panel"), skipReason = $("skip-reason");

  let current = null; // {assignment, item, questions, progress} from the API
  let answer = null; // the answer in progress, in display positions
  let busy = false, started = false, nextOffered = false;
  let spentBefore = 0, visibleSince = null; // time on this item: earlier visits + this one
  let draftTimer = null, lastActivity = Date.now(), lastRenew = Date.now();

  // ---------- plumbing ----------
  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  class ApiError extends Error {
    constructor(code, message, status) { super(message); this.code = code; this.status = status; }
  }

  async function api(method, path, body, extra) {
    let res;
    try {
      res = await fetch(API + path, {
        method, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: body === undefined ? undefined : JSON.stringify(body),
        ...(extra || {}),
      });
    } catch (e) { throw new ApiError("offline", "Could not reach the server. Check your connection; your draft is kept in this browser."); }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON: CSRF failure or server error page */ }
    if (!res.ok) {
      if (!data && res.status === 403) throw new ApiError("csrf", "Your page is out of date. Reload it (your draft is kept).", 403);
      throw new ApiError((data && data.error) || "server", (data && data.message) || "The server did not answer properly.", res.status);
    }
    return data || {};
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("data-") || k.startsWith("aria-") || ["role", "type", "tabindex", "for", "id", "name"].includes(k)) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const kbd = (k) => el("kbd", { text: k });
  const pretty = (name) => name.replace(/_/g, " ");
  const title = (name) => { const p = pretty(name); return p.charAt(0).toUpperCase() + p.slice(1); };

  // The notice sits above the item; a message about one question sits just above that question
  // (`near`), so it never covers the text and shows where the cursor goes.
  const notice = $("notice"), noticeHome = document.createComment("notice");
  notice.before(noticeHome);

  function say(text, action, near) {
    $("notice-text").textContent = text || "";
    notice.hidden = !text;
    const button = $("notice-action");
    button.hidden = !action;
    nextOffered = !!(action && action.next);
    if (action) { button.replaceChildren(action.label, " ", kbd(action.key || "n")); button.onclick = action.run; }
    if (near && text) (near.closest(".rate-row, .q, .skip-panel") || near).before(notice);
    else if (notice.previousSibling !== noticeHome) noticeHome.after(notice);
  }

  // Show a problem with one answer: the message just above it, the cursor on it, both in view.
  function point(text, target) {
    say(text, null, target);
    if (!target) return;
    notice.scrollIntoView({ block: "nearest" });
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "nearest" });
  }

  // ---------- time on item ----------
  function spentMs() { return spentBefore + (visibleSince === null ? 0 : Date.now() - visibleSince); }
  function timerPause() { if (visibleSince !== null) { spentBefore += Date.now() - visibleSince; visibleSince = null; } }
  function timerResume() { if (visibleSince === null && current && started && document.visibilityState === "visible") visibleSince = Date.now(); }

  // ---------- the answer ----------
  const n = () => current.item.candidates.length;
  const q = () => current.questions;
  const rankingMode = () => q().ranking && n() > 2;

  function blankAnswer() {
    const aspects = {};
    for (const a of q().aspects) aspects[a.name] = a.kind === "scale" ? Array(n()).fill(null) : null;
    return { verdict: null, choice: null, ranking: [], strength: null, aspects, flags: [], rationale: "" };
  }

  // A draft may come from an older page; keep only what still fits this item's questions.
  function restore(saved) {
    const a = blankAnswer();
    if (!saved || typeof saved !== "object") return a;
    const pos = (v) => Number.isInteger(v) && v >= 0 && v < n();
    if (["CANDIDATE", "TIE", "BOTH_BAD"].includes(saved.verdict)) a.verdict = saved.verdict;
    if (pos(saved.choice)) a.choice = saved.choice;
    if (Array.isArray(saved.ranking)) a.ranking = [...new Set(saved.ranking.filter(pos))];
    if (Number.isInteger(saved.strength) && saved.strength >= 1 && saved.strength <= q().strength_labels.length) a.strength = saved.strength;
    for (const asp of q().aspects) {
      const v = saved.aspects && saved.aspects[asp.name];
      if (asp.kind === "scale" && Array.isArray(v) && v.length === n())
        a.aspects[asp.name] = v.map((s) => (Number.isInteger(s) && s >= asp.low && s <= asp.high ? s : null));
      if (asp.kind === "pairwise" && (v === "TIE" || pos(v))) a.aspects[asp.name] = v;
    }
    if (Array.isArray(saved.flags)) a.flags = saved.flags.filter((f) => q().flags.includes(f));
    if (typeof saved.rationale === "string") a.rationale = saved.rationale;
    if (a.verdict === "CANDIDATE" && a.choice === null) a.verdict = null;
    return a;
  }

  function toSubmit() {
    const body = { flags: answer.flags, rationale: answer.rationale, time_spent_ms: Math.round(spentMs()), aspects: {} };
    if (rankingMode()) {
      if (answer.verdict === "TIE" || answer.verdict === "BOTH_BAD") body.verdict = answer.verdict;
      else { body.verdict = "RANKED"; body.ranking = answer.ranking; }
    } else if (q().choice) {
      body.verdict = answer.verdict;
      if (answer.verdict === "CANDIDATE") { body.choice = answer.choice; body.strength = answer.strength; }
    }
    for (const asp of q().aspects) body.aspects[asp.name] = answer.aspects[asp.name];
    return body;
  }

  // What's missing, checked here too so the cursor can go straight to it.
  function missing() {
    if (rankingMode()) {
      if (!["TIE", "BOTH_BAD"].includes(answer.verdict) && answer.ranking.length !== n())
        return ["Rank every response, best first: press their numbers in order.", document.querySelector("#q-verdict button")];
    } else if (q().choice && !answer.verdict) {
      return ["Choose the better response first (1, 2, …).", document.querySelector("#q-verdict button")];
    }
    for (const row of document.querySelectorAll(".rate-row")) {
      const v = rowValue(row);
      if (v === null || v === undefined) return [`Rate ${row.getAttribute("aria-label")}.`, row];
    }
    const min = Math.max(q().rationale === "required" ? 1 : 0, q().rationale_min_chars);
    const len = answer.rationale.trim().length;
    if (q().rationale !== "off" && (q().rationale === "required" || len > 0) && len < min)
      return [`Write a rationale of at least ${min} characters.`, rationale];
    return null;
  }

  // ---------- rendering ----------
  function renderItem() {
    const conv = $("conversation");
    conv.replaceChildren();
    for (const m of current.item.messages) {
      const body = el("div", { class: "md" });
      body.innerHTML = m.html; // sanitised server-side
      conv.append(el("div", { class: "message", "data-role": m.role }, el("div", { class: "role", text: m.role }), body));
    }
    const box = $("candidates");
    box.replaceChildren();
    box.dataset.count = String(n());
    current.item.candidates.forEach((c, p) => {
      const body = el("div", { class: "md" });
      body.innerHTML = c.html; // sanitised server-side
      box.append(el("article", { class: "candidate", "data-position": String(p), "aria-label": c.label },
        el("h2", { class: "candidate-label" }, c.label, " ", kbd(String(p + 1))), body));
    });
    renderQuestions();
  }

  function optionButton(label, key, onPick, data) {
    const b = el("button", { type: "button", class: "opt", ...data }, label, key ? " " : null, key ? kbd(key) : null);
    b.addEventListener("click", onPick);
    return b;
  }

  function renderQuestions() {
    const host = $("questions");
    host.replaceChildren();
    const labels = current.item.candidates.map((c) => c.label);
    const allBad = n() > 2 ? "All are bad" : "Both are bad";
    if (rankingMode()) {
      const fs = el("fieldset", { class: "q", id: "q-verdict" }, el("legend", { text: "Rank the responses, best first" }));
      const row = el("div", { class: "opts" });
      labels.forEach((l, p) => row.append(optionButton(l, String(p + 1), () => rankAdd(p), { "data-rank": String(p) })));
      row.append(optionButton("Undo", "⌫", rankUndo, { id: "rank-undo" }));
      if (q().allow_tie) row.append(optionButton("All equally good", "t", () => setVerdict("TIE"), { "data-verdict": "TIE" }));
      if (q().allow_both_bad) row.append(optionButton(allBad, "x", () => setVerdict("BOTH_BAD"), { "data-verdict": "BOTH_BAD" }));
      fs.append(row, el("ol", { id: "ranking", class: "ranking", "aria-live": "polite" }));
      host.append(fs);
    } else if (q().choice) {
      const fs = el("fieldset", { class: "q", id: "q-verdict" }, el("legend", { text: "Which response is better?" }));
      const row = el("div", { class: "opts" });
      labels.forEach((l, p) => row.append(optionButton(`${l} is better`, String(p + 1), () => choose(p), { "data-choice": String(p) })));
      if (q().allow_tie) row.append(optionButton("Tie", "t", () => setVerdict("TIE"), { "data-verdict": "TIE" }));
      if (q().allow_both_bad) row.append(optionButton(allBad, "x", () => setVerdict("BOTH_BAD"), { "data-verdict": "BOTH_BAD" }));
      fs.append(row);
      host.append(fs);
      if (q().strength) {
        const sf = el("fieldset", { class: "q", id: "q-strength" }, el("legend", { text: "How much better? (optional)" }));
        const srow = el("div", { class: "opts" });
        q().strength_labels.forEach((l, i) => srow.append(optionButton(l, STRENGTH_KEYS[i], () => setStrength(i + 1), { "data-strength": String(i + 1) })));
        sf.append(srow);
        host.append(sf);
      }
    }
    if (q().aspects.length) {
      const fs = el("fieldset", { class: "q", id: "q-aspects" }, el("legend", {}, "Rate each aspect ", kbd("a")));
      for (const asp of q().aspects) {
        const name = asp.label || title(asp.name);
        if (asp.kind === "scale") {
          fs.append(el("div", { class: "aspect-name", text: `${name} (${asp.low} = worst, ${asp.high} = best)` }));
          labels.forEach((l, p) => fs.append(rateRow(asp, `${name} of ${l}`, l, p)));
        } else {
          fs.append(el("div", { class: "aspect-name", text: `${name}: which response is better?` }));
          fs.append(rateRow(asp, `${name}: which is better`, "Better", null));
        }
      }
      host.append(fs);
    }
    const rq = q().rationale;
    $("q-rationale").hidden = rq === "off";
    const min = q().rationale_min_chars;
    $("rationale-label").replaceChildren(
      rq === "required" ? `Why? Required${min ? `, at least ${min} characters` : ""} ` : `Why? (optional${min ? `; if given, at least ${min} characters` : ""}) `, kbd("r"));
    rationale.required = rq === "required";
    $("q-flags").hidden = !q().flags.length;
    $("flags").replaceChildren(...q().flags.map((f) => {
      const box = el("input", { type: "checkbox", name: "flags", value: f });
      box.addEventListener("change", () => { answer.flags = [...document.querySelectorAll("#flags input:checked")].map((x) => x.value); changed(); });
      return el("label", { class: "flag" }, box, " ", pretty(f));
    }));
  }

  // One row of a rating: a scale for one response, or a pairwise pick. Focusable as a whole;
  // the buttons inside are for the mouse, the row takes the keys.
  function rateRow(asp, aria, label, position) {
    const row = el("div", { class: "rate-row", role: "radiogroup", tabindex: "0", "aria-label": aria, "data-aspect": asp.name });
    if (position !== null) row.dataset.position = String(position);
    const opts = el("div", { class: "pips" });
    const values = asp.kind === "scale"
      ? Array.from({ length: asp.high - asp.low + 1 }, (_, i) => asp.low + i)
      : [...current.item.candidates.map((_, p) => p), "TIE"];
    for (const v of values) {
      const text = asp.kind === "scale" ? String(v) : v === "TIE" ? "Tie" : current.item.candidates[v].label;
      const b = el("button", { type: "button", class: "pip", tabindex: "-1", role: "radio", "data-value": String(v), text });
      b.addEventListener("click", () => { rowSet(row, v); row.focus(); });
      opts.append(b);
    }
    row.append(el("span", { class: "row-label", text: label }), opts);
    return row;
  }

  function rowAspect(row) { return q().aspects.find((a) => a.name === row.dataset.aspect); }
  function rowValue(row) {
    const v = answer.aspects[row.dataset.aspect];
    return row.dataset.position === undefined ? v : v[Number(row.dataset.position)];
  }
  function rowSet(row, value) {
    if (row.dataset.position === undefined) answer.aspects[row.dataset.aspect] = value;
    else answer.aspects[row.dataset.aspect][Number(row.dataset.position)] = value;
    changed();
  }

  function paint() {
    if (!current) return;
    const press = (b, on) => { b.setAttribute("aria-pressed", on ? "true" : "false"); b.classList.toggle("on", !!on); };
    document.querySelectorAll("[data-choice]").forEach((b) => press(b, answer.verdict === "CANDIDATE" && answer.choice === Number(b.dataset.choice)));
    document.querySelectorAll("[data-verdict]").forEach((b) => press(b, answer.verdict === b.dataset.verdict));
    document.querySelectorAll("[data-strength]").forEach((b) => press(b, answer.verdict === "CANDIDATE" && answer.strength === Number(b.dataset.strength)));
    document.querySelectorAll("[data-rank]").forEach((b) => press(b, answer.ranking.includes(Number(b.dataset.rank))));
    const strength = $("q-strength");
    if (strength) strength.classList.toggle("muted", answer.verdict !== "CANDIDATE");
    const ranking = $("ranking");
    if (ranking) ranking.replaceChildren(...answer.ranking.map((p) => el("li", { text: current.item.candidates[p].label })));
    document.querySelectorAll(".candidate").forEach((c) => {
      const p = Number(c.dataset.position);
      c.classList.toggle("picked", answer.verdict === "CANDIDATE" && answer.choice === p || (rankingMode() && answer.ranking[0] === p));
    });
    document.querySelectorAll(".rate-row").forEach((row) => {
      const v = rowValue(row);
      row.classList.toggle("filled", v !== null && v !== undefined);
      row.querySelectorAll(".pip").forEach((b) => {
        const on = v !== null && v !== undefined && String(v) === b.dataset.value;
        b.classList.toggle("on", on); b.setAttribute("aria-checked", on ? "true" : "false");
      });
    });
    document.querySelectorAll("#flags input").forEach((b) => { b.checked = answer.flags.includes(b.value); });
    if (rationale.value !== answer.rationale) rationale.value = answer.rationale;
    const len = answer.rationale.trim().length, min = q().rationale_min_chars;
    $("rationale-count").textContent = min ? `${len} / at least ${min} characters` : `${len} characters`;
  }

  function showProgress(p) {
    const bar = $("progress");
    bar.max = Math.max(p.total, 1); bar.value = Math.min(p.done, p.total);
    $("progress-text").textContent = p.quota ? `${p.done} of ${p.total} done` : `${p.done} done · ${p.total} item${p.total === 1 ? "" : "s"} in this campaign`;
  }

  // ---------- actions ----------
  function choose(p) {
    if (p >= n()) return;
    answer.verdict = "CANDIDATE"; answer.choice = p; changed();
  }
  function setVerdict(v) {
    answer.verdict = v; answer.choice = null;
    if (rankingMode()) answer.ranking = [];
    changed();
  }
  // How much better only means something once a response is chosen.
  function setStrength(s) {
    if (s > q().strength_labels.length) return;
    if (answer.verdict !== "CANDIDATE") { point("Choose the better response first; then say how much better.", document.querySelector("#q-verdict button")); return; }
    answer.strength = s; changed();
  }
  function rankAdd(p) {
    if (p >= n() || answer.ranking.includes(p)) return;
    if (answer.verdict === "TIE" || answer.verdict === "BOTH_BAD") answer.verdict = null;
    answer.ranking.push(p);
    if (answer.ranking.length === n() - 1) answer.ranking.push([...Array(n()).keys()].find((x) => !answer.ranking.includes(x)));
    changed();
  }
  function rankUndo() { answer.ranking.pop(); changed(); }

  function changed() { if (!nextOffered) say(""); paint(); draftSoon(); }

  // ---------- drafts ----------
  const localKey = () => `annotate:${SLUG}:${current.assignment.id}`;
  function draftBody() { return { answer, time_spent_ms: Math.round(spentMs()), saved_at: Date.now() }; }

  function draftSoon() {
    if (!current) return;
    try { localStorage.setItem(localKey(), JSON.stringify(draftBody())); } catch (e) { /* private mode: server copy only */ }
    $("draft-status").textContent = "Saving draft…";
    clearTimeout(draftTimer);
    draftTimer = setTimeout(draftSend, DRAFT_DELAY_MS);
  }

  async function draftSend(keepalive) {
    clearTimeout(draftTimer); draftTimer = null;
    if (!current) return;
    const id = current.assignment.id;
    lastRenew = Date.now();
    try {
      await api("POST", `assignments/${id}/draft`, { draft: draftBody() }, keepalive ? { keepalive: true } : undefined);
      if (current && current.assignment.id === id) $("draft-status").textContent = "Draft saved";
    } catch (e) {
      if (!current || current.assignment.id !== id) return;
      if (GONE.includes(e.code)) expired(e.message);
      else $("draft-status").textContent = "Draft kept in this browser only: " + e.message;
    }
  }

  // Typing or clicking renews the lease through the draft; reading counts too, so while the
  // page is in use the lease is renewed well before it runs out.
  function keepLeaseAlive() {
    if (!current || document.visibilityState !== "visible" || draftTimer) return;
    const every = Math.min(current.assignment.lease_s / 3, 300) * 1000;
    if (Date.now() - lastRenew > every && Date.now() - lastActivity < every) draftSend();
  }

  // ---------- server round trips ----------
  async function load() {
    try {
      const data = await api("GET", "current");
      current = data;
      const local = (() => { try { return JSON.parse(localStorage.getItem(localKey()) || "null"); } catch (e) { return null; } })();
      const server = data.assignment.draft && data.assignment.draft.answer ? data.assignment.draft : null;
      const draft = local && (!server || (local.saved_at || 0) > (server.saved_at || 0)) ? local : server;
      answer = restore(draft && draft.answer);
      spentBefore = draft && Number.isInteger(draft.time_spent_ms) ? draft.time_spent_ms : 0;
      visibleSince = null; timerResume();
      showProgress(data.progress);
      renderItem(); paint();
      $("draft-status").textContent = draft ? "Draft restored" : "";
      skipClose(); say("");
      task.hidden = !started;
      if (started) { window.scrollTo(0, 0); task.focus({ preventScroll: true }); }
    } catch (e) {
      current = null; task.hidden = true;
      if (e.code === "quota_reached" || e.code === "no_items_left") { location.assign(DONE_URL); return; }
      if (e.code === "campaign_closed") say(e.message, { label: "Check again", key: "n", next: true, run: load });
      else if (e.code === "signed_out") say(e.message);
      else say(e.message, { label: "Try again", key: "n", next: true, run: load });
    }
  }

  function expired(message) {
    $("draft-status").textContent = "";
    say(message, { label: "Take the next item", key: "n", next: true, run: () => { forget(); load(); } });
  }

  function forget() {
    if (current) try { localStorage.removeItem(localKey()); } catch (e) { /* ignore */ }
    clearTimeout(draftTimer); draftTimer = null;
  }

  async function submit(ev) {
    if (ev) ev.preventDefault();
    if (!current || busy || task.hidden) return;
    const problem = missing();
    if (problem) { point(problem[0], problem[1]); return; }
    busy = true;
    clearTimeout(draftTimer); draftTimer = null;
    const before = current.progress;
    try {
      await api("POST", `assignments/${current.assignment.id}/submit`, toSubmit());
      forget(); current = null;
      // That was the last item asked of them (the quota, or every item): straight to the done
      // page rather than ask for another and be told 409 no_items_left / quota_reached.
      if (before.total > 0 && before.done + 1 >= before.total) { location.assign(DONE_URL); return; }
      await load();
    } catch (e) {
      if (GONE.includes(e.code)) expired(e.message);
      else if (e.code === "already_submitted" || e.code === "assignment_not_found") { forget(); await load(); }
      else if (e.code === "quota_reached" || e.code === "no_items_left") location.assign(DONE_URL);
      else { say(e.message); draftSoon(); } // still this item: keep saving what they type
    } finally { busy = false; }
  }

  function skipOpen() { if (!current || task.hidden) return; skipPanel.hidden = false; skipReason.focus(); }
  function skipClose() { skipPanel.hidden = true; skipReason.value = ""; }
  async function skip() {
    const reason = skipReason.value.trim();
    if (!reason) { point("Say briefly why you skip this item.", skipReason); return; }
    if (busy || !current) return;
    busy = true;
    try {
      await api("POST", `assignments/${current.assignment.id}/skip`, { reason });
      forget(); current = null;
      await load();
    } catch (e) {
      if (GONE.includes(e.code)) expired(e.message); else say(e.message);
    } finally { busy = false; }
  }

  function start() {
    started = true;
    $("instructions").open = false;
    try { localStorage.setItem(`annotate:${SLUG}:started`, "1"); } catch (e) { /* ignore */ }
    if (current) { task.hidden = false; task.focus(); timerResume(); }
  }

  // ---------- keyboard ----------
  function rowKeys(e, row) {
    const asp = rowAspect(row);
    const rows = [...document.querySelectorAll(".rate-row")];
    const i = rows.indexOf(row);
    const values = [...row.querySelectorAll(".pip")].map((b) => (b.dataset.value === "TIE" ? "TIE" : Number(b.dataset.value)));
    const cur = values.indexOf(rowValue(row));
    const move = (d) => { const r = rows[i + d]; if (r) r.focus(); };
    let handled = true;
    if (/^[0-9]$/.test(e.key)) {
      const d = Number(e.key);
      const v = asp.kind === "scale" ? d : d - 1;
      if (values.includes(v)) rowSet(row, v); // stays in the row: ↓ moves on (a digit that also moved put "3 ↓ 5" in the wrong row)
    } else if (e.key === "t" && asp.kind === "pairwise") rowSet(row, "TIE");
    else if (e.key === "ArrowRight") rowSet(row, values[Math.min(values.length - 1, cur + 1)]);
    else if (e.key === "ArrowLeft") rowSet(row, values[Math.max(0, cur < 0 ? 0 : cur - 1)]);
    else if (e.key === "ArrowDown" || e.key === "j") move(1);
    else if (e.key === "ArrowUp" || e.key === "k") move(-1);
    else if (e.key === "Escape") task.focus();
    else handled = false;
    return handled;
  }

  document.addEventListener("keydown", (e) => {
    lastActivity = Date.now();
    const active = document.activeElement;
    const typing = active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName) && active.type !== "checkbox");
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!skipPanel.hidden && active === skipReason) skip(); else submit(); return; }
    if (active === skipReason) {
      if (e.key === "Enter") { e.preventDefault(); skip(); } else if (e.key === "Escape") { skipClose(); task.focus(); }
      return;
    }
    if (typing) { if (e.key === "Escape") task.focus(); return; }
    // Esc leaves whatever has the cursor inside the item (a flag, a button) as it leaves a box.
    if (e.key === "Escape" && active && active !== task && task.contains(active)) {
      if (skipPanel.contains(active)) skipClose();
      task.focus(); return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") { e.preventDefault(); const h = $("help"); h.open = !h.open; if (h.open) h.scrollIntoView({ block: "nearest" }); return; }
    if (e.key === "i") { e.preventDefault(); const d = $("instructions"); d.open = !d.open; if (d.open) d.scrollIntoView({ block: "start" }); return; }
    if (!started) { if (e.key === "Enter" && active.tagName !== "SUMMARY") { e.preventDefault(); start(); } return; }
    if (e.key === "n" && nextOffered) { e.preventDefault(); $("notice-action").click(); return; }
    if (!current || task.hidden) return;
    if (active && active.classList.contains("rate-row") && rowKeys(e, active)) { e.preventDefault(); return; }
    const digit = /^[1-9]$/.test(e.key) ? Number(e.key) - 1 : null;
    let handled = true;
    if (digit !== null) { if (rankingMode()) rankAdd(digit); else if (q().choice) choose(digit); }
    else if (e.key === "Backspace" && rankingMode()) rankUndo();
    else if (e.key === "t" && q().allow_tie && (q().choice || rankingMode())) setVerdict("TIE");
    else if (e.key === "x" && q().allow_both_bad && (q().choice || rankingMode())) setVerdict("BOTH_BAD");
    else if (STRENGTH_KEYS.includes(e.key) && q().strength && !rankingMode()) setStrength(STRENGTH_KEYS.indexOf(e.key) + 1);
    else if (e.key === "r" && !$("q-rationale").hidden) rationale.focus();
    else if (e.key === "a") { const rows = [...document.querySelectorAll(".rate-row")]; const r = rows.find((x) => !x.classList.contains("filled")) || rows[0]; if (r) r.focus(); else handled = false; }
    else if (e.key === "f") { const f = document.querySelector("#flags input"); if (f) f.focus(); else handled = false; }
    else if (e.key === "s") skipOpen();
    else handled = false;
    if (handled) e.preventDefault();
  });

  // ---------- wiring ----------
  task.addEventListener("submit", submit);
  rationale.addEventListener("input", () => { answer.rationale = rationale.value; changed(); });
  $("start").addEventListener("click", start);
  $("skip-open").addEventListener("click", skipOpen);
  $("skip-confirm").addEventListener("click", skip);
  $("skip-cancel").addEventListener("click", () => { skipClose(); task.focus(); });
  ["pointerdown", "scroll"].forEach((t) => document.addEventListener(t, () => { lastActivity = Date.now(); }, { passive: true }));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { timerPause(); if (current && draftTimer) draftSend(true); }
    else timerResume();
  });
  window.addEventListener("pagehide", () => { if (current && draftTimer) draftSend(true); });
  setInterval(keepLeaseAlive, 15000);

  try { started = localStorage.getItem(`annotate:${SLUG}:started`) === "1"; } catch (e) { started = false; }
  if (started) $("instructions").open = false;
  else $("start").focus();
  load();
})();
