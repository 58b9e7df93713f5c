// Arena page: commands over HTTP (CSRF), live tokens over one WebSocket.
// Model text is only ever inserted with textContent while streaming; the final HTML comes
// from the server already sanitised (arena/markdown.py).
(() => {
  "use strict";
  const root = document.getElementById("arena");
  const $ = (id) => document.getElementById(id);
  const conversation = $("conversation"), voteForm = $("vote"), reveal = $("reveal");
  const promptBox = $("prompt"), notice = $("notice");
  let battle = null; // state from the server: {id, status, turns: [...], reveal, vote}
  let busy = false;

  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function api(method, url, body) {
    const res = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { message: "The server did not answer properly." }; }
    if (!res.ok) throw new Error(data.message || "Something went wrong.");
    return data;
  }

  function say(text, kind) {
    notice.textContent = text || "";
    notice.className = "notice" + (kind ? " " + kind : "");
    notice.hidden = !text;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function sideBox(turn, side) {
    return conversation.querySelector(`[data-turn="${turn}"] [data-side="${side}"] .text`);
  }

  function render() {
    conversation.replaceChildren();
    if (!battle) { voteForm.hidden = true; reveal.hidden = true; return; }
    for (const turn of battle.turns) {
      const row = el("article", "turn");
      row.dataset.turn = turn.index;
      row.append(el("div", "user-msg", turn.prompt));
      const grid = el("div", "sides");
      for (const side of ["A", "B"]) {
        const s = turn.sides[side] || { status: "PENDING" };
        const col = el("section", "side");
        col.dataset.side = side;
        col.dataset.status = s.status;
        const name = battle.reveal ? battle.reveal[side] : "Model " + side;
        col.append(el("h2", "side-name", name));
        const text = el("div", "text");
        if (s.status === "DONE") text.innerHTML = s.html; // sanitised server-side
        else if (s.status === "FAILED") text.append(el("p", "failed", s.message));
        else text.append(el("span", "cursor", "…"));
        col.append(text);
        grid.append(col);
      }
      row.append(grid);
      conversation.append(row);
    }
    const ready = battle.status === "READY";
    // Answers just finished: leave the (empty) prompt box so that 1–4, q/w/e and r act as
    // shortcuts instead of being typed into it.
    if (ready && voteForm.hidden && document.activeElement === promptBox && !promptBox.value) promptBox.blur();
    voteForm.hidden = !ready;
    if (battle.status === "FAILED") say("A model failed to answer, so this battle can't be voted on. Press n or New battle to start another.", "error");
    if (battle.reveal) {
      reveal.hidden = false;
      reveal.replaceChildren(
        el("p", "", "Thanks, your vote is saved. Model A was "),
        el("strong", "", battle.reveal.A), el("span", "", " and Model B was "), el("strong", "", battle.reveal.B),
        el("p", "hint", "Press / to type the next prompt (or n for a new battle).")
      );
    } else reveal.hidden = true;
    conversation.lastElementChild && conversation.lastElementChild.scrollIntoView({ block: "end" });
  }

  function sideState(turnIndex, side) {
    const turn = battle && battle.turns.find((t) => t.index === turnIndex);
    return turn ? (turn.sides[side] = turn.sides[side] || { status: "PENDING" }) : null;
  }

  function onEvent(ev) {
    if (!battle || ev.battle !== battle.id) return;
    const s = sideState(ev.turn, ev.side);
    if (!s) return;
    const box = sideBox(ev.turn, ev.side);
    if (ev.type === "battle.token") {
      if (s.status !== "PENDING" || !box) return;
      if (!s.streamed) { box.replaceChildren(); s.streamed = true; }
      box.append(document.createTextNode(ev.text));
      box.classList.add("streaming");
      return;
    }
    if (ev.type === "battle.side_reset") { s.streamed = false; if (box) box.replaceChildren(el("span", "cursor", "…")); return; }
    if (ev.type === "battle.side_done") Object.assign(s, { status: "DONE", html: ev.html });
    if (ev.type === "battle.side_failed") Object.assign(s, { status: "FAILED", message: ev.message });
    battle.status = ev.battle_status;
    render();
  }

  let socket = null, retry = 500;
  function connect() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/arena/");
    socket.onopen = () => { retry = 500; if (battle && battle.status === "GENERATING") refresh(); };
    socket.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { /* ignore malformed */ } };
    socket.onclose = (e) => {
      if (e.code === 4401) { say("Please sign in again.", "error"); return; }
      setTimeout(connect, retry); retry = Math.min(retry * 2, 10000);
    };
  }

  async function refresh() {
    if (!battle) return;
    try { battle = (await api("GET", `/arena/api/battles/${battle.id}`)).battle; render(); } catch (e) { say(e.message, "error"); }
  }

  async function send(ev) {
    if (ev) ev.preventDefault();
    const prompt = promptBox.value.trim();
    if (!prompt) { say("Type a prompt first.", "error"); promptBox.focus(); return; }
    if (busy) return;
    busy = true; say("");
    try {
      const open = battle && battle.status === "READY";
      const url = open ? `/arena/api/battles/${battle.id}/turns` : "/arena/api/battles";
      if (battle && battle.status === "GENERATING") throw new Error("Wait until both answers have finished.");
      battle = (await api("POST", url, { prompt })).battle;
      promptBox.value = "";
      render();
      // Events that arrived before this answer named a battle the page didn't know yet.
      if (battle.status === "GENERATING") refresh();
    } catch (e) { say(e.message, "error"); } finally { busy = false; }
  }

  async function vote(winner) {
    if (!battle || battle.status !== "READY" || busy) return;
    busy = true;
    const strength = (voteForm.querySelector("input[name=strength]:checked") || {}).value || "";
    try {
      const outcome = (await api("POST", `/arena/api/battles/${battle.id}/vote`, { winner, strength, rationale: $("rationale").value })).battle;
      Object.assign(battle, { status: outcome.status, vote: outcome.vote, reveal: outcome.reveal });
      // Focus stays off the prompt box, so n and / act as the README says; / (or a click) types.
      voteForm.reset(); say(""); render();
    } catch (e) { say(e.message, "error"); } finally { busy = false; }
  }

  function newBattle() { battle = null; voteForm.reset(); say(""); render(); promptBox.focus(); }

  $("prompt-form").addEventListener("submit", send);
  promptBox.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
    else if (e.key === "Escape") promptBox.blur();
  });
  $("new-battle").addEventListener("click", newBattle);
  voteForm.querySelectorAll("[data-winner]").forEach((b) => b.addEventListener("click", () => vote(b.dataset.winner)));
  $("rationale").addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); if (e.key === "Escape") e.target.blur(); });

  const keyVote = { 1: "A", 2: "B", 3: "TIE", 4: "BOTH_BAD" }, keyStrength = { q: "slight", w: "clear", e: "strong" };
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "TEXTAREA"].includes(document.activeElement.tagName);
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") { e.preventDefault(); promptBox.focus(); }
    else if (e.key === "n") newBattle();
    else if (!voteForm.hidden && keyVote[e.key]) vote(keyVote[e.key]);
    else if (!voteForm.hidden && keyStrength[e.key]) voteForm.querySelector(`input[value=${keyStrength[e.key]}]`).checked = true;
    else if (!voteForm.hidden && e.key === "r") { e.preventDefault(); $("rationale").focus(); }
  });

  connect();
  api("GET", "/arena/api/battles/current").then((d) => { battle = d.battle; render(); }).catch((e) => say(e.message, "error"));
  promptBox.focus();
})();
