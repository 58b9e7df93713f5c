"""A person in a real browser: sign in, start a battle, watch it stream, vote by keyboard, see the reveal."""
import pytest

from tests.arena.helpers import assert_no_identity
from tests.support.server import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Counts how often each side's text grew while the side was still streaming.
WATCH_STREAM = """() => {
  window.__growth = {A: 0, B: 0};
  new MutationObserver((records) => {
    for (const r of records) {
      const side = r.target.closest && r.target.closest('[data-side]');
      const box = side && side.querySelector('.text.streaming');
      if (box) window.__growth[side.dataset.side] += 1;
    }
  }).observe(document.getElementById('conversation'), {childList: true, subtree: true});
}"""


def test_sign_in_battle_stream_vote_reveal(browser, output_dir, user, contenders):
    from django.contrib.auth.hashers import make_password

    user.password = make_password("pw-alice-123", hasher="pbkdf2_sha256")  # the server uses production hashers
    user.save()
    # Longer answers so streaming is visible; still a tiny model.
    for c in contenders:
        c.generation = {"max_new_tokens": 200, "temperature": 0.9}
        c.save()
    with asgi_server(output_dir / "e2e-server.log") as url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        frames = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
        page.goto(url + "/arena/")
        assert "/accounts/login/" in page.url
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice-123")
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/arena/")
        assert_no_identity(page.content(), contenders)

        page.evaluate(WATCH_STREAM)
        page.fill("#prompt", "Write a short story about a lighthouse.")
        page.keyboard.press("Enter")
        page.wait_for_selector("#vote:not([hidden])", timeout=60_000)
        growth = page.evaluate("window.__growth")
        assert max(growth.values()) > 1, f"text arrived in one piece, not streamed: {growth}"
        assert_no_identity(page.content() + "\n".join(frames), contenders)
        page.screenshot(path=str(output_dir / "arena-before-vote.png"), full_page=True)

        # keyboard only: once both answers are in, focus has left the prompt box by itself
        page.keyboard.press("e")  # strength: much better
        page.keyboard.press("1")  # A is better
        page.wait_for_selector("#reveal:not([hidden])")
        names = page.locator(".side-name").all_inner_texts()
        assert set(names) == {c.display_name for c in contenders}
        page.screenshot(path=str(output_dir / "arena-revealed.png"), full_page=True)
        page.keyboard.press("/")  # back to the prompt for the next battle
        assert page.evaluate("document.activeElement.id") == "prompt"

        page.set_viewport_size({"width": 390, "height": 844})  # phone-sized: sides stack
        boxes = [page.locator(".side").nth(i).bounding_box() for i in range(2)]
        assert boxes[1]["y"] > boxes[0]["y"] and boxes[0]["width"] < 390
        page.screenshot(path=str(output_dir / "arena-phone.png"), full_page=True)

    from arena.models import Vote

    vote = Vote.objects.get()
    assert (vote.winner, vote.strength) == ("LEFT", "STRONG")
