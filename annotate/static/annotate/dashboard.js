// Campaign dashboard: a campaign.changed event re-fetches the server-rendered board, at most
// once per DEBOUNCE_MS (a busy campaign sends several events a second); stale figures (being
// recomputed elsewhere) are fetched again a little later.
(() => {
  "use strict";
  const board = document.getElementById("board");
  const live = document.getElementById("live");
  const DEBOUNCE_MS = 1500;
  const STALE_RETRY_MS = 5000;
  let timer = null;
  let inFlight = false;
  let again = false;

  function schedule(delay) {
    if (timer === null) timer = setTimeout(refresh, delay);
  }

  async function refresh() {
    timer = null;
    if (inFlight) { again = true; return; }
    inFlight = true;
    try {
      const res = await fetch(board.dataset.partial, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (res.ok) {
        board.innerHTML = await res.text(); // server-rendered, escaped template
        const inner = board.querySelector(".board-inner");
        if (inner && inner.dataset.stale === "1") schedule(STALE_RETRY_MS);
      }
    } finally {
      inFlight = false;
      if (again) { again = false; schedule(DEBOUNCE_MS); }
    }
  }

  function setLive(on, text) {
    live.dataset.state = on ? "on" : "off";
    live.textContent = text;
  }

  let retry = 1000;
  function connect() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(proto + location.host + "/ws/annotate/" + board.dataset.campaign + "/");
    socket.onopen = () => { retry = 1000; setLive(true, "live"); };
    socket.onmessage = (m) => {
      let ev = {};
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev.type === "campaign.changed" && String(ev.campaign) === board.dataset.campaign) schedule(DEBOUNCE_MS);
    };
    socket.onclose = (e) => {
      if (e.code === 4401) { setLive(false, "not live (sign in as staff)"); return; }
      setLive(false, "reconnecting…");
      setTimeout(() => { connect(); schedule(0); }, retry); // catch up on what was missed
      retry = Math.min(retry * 2, 30000);
    };
  }
  const first = board.querySelector(".board-inner");
  if (first && first.dataset.stale === "1") schedule(STALE_RETRY_MS);
  connect();
})();
