// Leaderboard page: controls apply at once; a new fit replaces the board without a reload.
(() => {
  "use strict";
  const form = document.getElementById("lb-controls");
  const board = document.getElementById("board");
  form.addEventListener("change", () => form.submit());

  async function refresh() {
    const res = await fetch(board.dataset.partial + location.search, { credentials: "same-origin" });
    if (res.ok) board.innerHTML = await res.text(); // server-rendered, escaped template
  }

  let retry = 1000;
  function connect() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(proto + location.host + "/ws/leaderboard/");
    socket.onmessage = (m) => {
      let ev = {};
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev.type === "leaderboard.updated" && String(ev.leaderboard) === board.dataset.board) refresh();
    };
    socket.onopen = () => {
      retry = 1000;
      // A fit queued by this page's own request may have finished before the socket opened.
      if (board.querySelector("[data-pending-fit]")) refresh();
    };
    socket.onclose = (e) => { if (e.code !== 4401) { setTimeout(connect, retry); retry = Math.min(retry * 2, 30000); } };
  }
  connect();
})();
