// Done page: copy the completion code; send the annotator back to the study platform.
(() => {
  "use strict";
  const REDIRECT_S = 5;
  const copy = document.getElementById("copy-code");
  if (copy) copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(copy.dataset.code); copy.textContent = "Copied"; }
    catch (e) { copy.textContent = "Select the code and copy it"; }
  });
  const done = document.getElementById("done");
  const target = done && done.dataset.redirect;
  const note = document.getElementById("redirect-note");
  if (!target || !note) return;
  let left = REDIRECT_S;
  const tick = () => {
    if (left <= 0) { location.assign(target); return; }
    note.hidden = false;
    note.textContent = `Returning you to the study platform in ${left} s…`;
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
})();
