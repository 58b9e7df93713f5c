"""A crowd participant in a real browser: study link, instructions, several items by keyboard
only, a reload mid-item that keeps the draft, a skip, and the completion code at the end."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotate.models import Annotation, Assignment, AssignmentState
from tests.annotate.factories import campaign_make
from tests.annotate.links import PID, SECRET_MODEL, secrets_plant, study_link
from tests.support.server import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUESTIONS = {
    "aspects": [{"name": "helpfulness", "kind": "scale", "low": 1, "high": 5}],
    "rationale": "required",
    "rationale_min_chars": 10,
}
INSTRUCTIONS = "Compare the **two responses** and say which is better.\n\n- Rate *helpfulness* 1–5.\n- Explain why."
ANSWER = "Answer {index}:\n\n```python\nprint({position})\n```\n\n- a **bold** point"


def progress_is(page, text: str) -> None:
    expect(page.locator("#progress-text")).to_contain_text(text)


def test_crowd_participant_works_by_keyboard_and_loses_nothing_on_reload(browser, output_dir):
    campaign = campaign_make(
        slug="e2e", n_items=4, quota=3, overlap=1, completion_code="E2E-DONE-42",
        questions=QUESTIONS, instructions=INSTRUCTIONS, prompt_format="Explain item **{position}** briefly.",
        answer_format=ANSWER,
    )  # fmt: skip
    secrets_plant(campaign)
    with asgi_server(output_dir / "e2e-annotate-server.log") as url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors, console, conflicts = [], [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)  # a 404 favicon, a 409
        page.on("response", lambda r: conflicts.append(r.url) if r.status >= 400 else None)
        # given a participant arriving from the crowd platform
        page.goto(url + study_link(campaign))
        assert page.url == f"{url}/annotate/e2e/", "the participant id must leave the address bar"
        assert "two responses" in page.inner_text("#instructions")
        # the instructions come first; Enter starts
        page.keyboard.press("Enter")
        page.wait_for_selector("#task:not([hidden]) .candidate")
        progress_is(page, "0 of 3")

        # an empty submit: the message sits above the question it is about, covering nothing
        page.keyboard.press("Control+Enter")
        expect(page.locator("#notice")).to_contain_text("Choose the better response first")
        notice, prompt_box = page.locator("#notice").bounding_box(), page.locator("#conversation").bounding_box()
        assert notice["y"] >= prompt_box["y"] + prompt_box["height"], "the notice covers the prompt"
        assert page.evaluate("document.activeElement.dataset.choice") == "0"
        page.keyboard.press("Escape")
        # a strength key before a choice does nothing
        page.keyboard.press("w")
        assert page.locator("[data-strength][aria-pressed=true]").count() == 0

        # item 1: Response 1, much better, helpfulness 4 and (a row down) 2, a rationale, Ctrl+Enter
        for key in ("1", "e", "a", "4", "ArrowDown", "2", "r"):
            page.keyboard.press(key)
        page.keyboard.type("The first is clearer.")
        assert page.get_attribute("[data-choice='0']", "aria-pressed") == "true"
        page.screenshot(path=str(output_dir / "annotate-work.png"), full_page=True)
        page.keyboard.press("Control+Enter")
        progress_is(page, "1 of 3")

        # item 2: half an answer, then reloads
        prompt = page.inner_text("#conversation")
        for key in ("2", "a", "3", "ArrowDown", "3", "r"):
            page.keyboard.press(key)
        page.keyboard.type("Second is bett")
        expect(page.locator("#draft-status")).to_have_text("Draft saved")
        page.reload()
        page.wait_for_selector("#task:not([hidden]) .candidate")
        assert page.inner_text("#conversation") == prompt and page.input_value("#rationale") == "Second is bett"
        # the server's copy alone brings it back too (another device, cleared storage)
        page.evaluate("localStorage.clear()")
        page.reload()
        page.keyboard.press("Enter")  # instructions again: this browser forgot it had started
        page.wait_for_selector("#task:not([hidden]) .candidate")
        assert page.inner_text("#conversation") == prompt and page.input_value("#rationale") == "Second is bett"
        assert page.get_attribute("[data-choice='1']", "aria-pressed") == "true"
        assert page.inner_text("#draft-status") == "Draft restored"
        page.keyboard.press("r")
        page.keyboard.press("End")
        page.keyboard.type("er explained.")
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Enter")
        progress_is(page, "2 of 3")

        # item 3: skipped with a reason
        skipped_prompt = page.text_content("#conversation")
        page.keyboard.press("s")
        page.keyboard.type("I can't judge this topic")
        page.keyboard.press("Enter")
        expect(page.locator("#conversation")).not_to_have_text(skipped_prompt)

        # item 4: a tie, then a strength key: nothing is chosen for "how much better"
        for key in ("1", "w", "t", "e"):
            page.keyboard.press(key)
        assert page.get_attribute("[data-verdict='TIE']", "aria-pressed") == "true"
        assert page.locator("[data-strength][aria-pressed=true]").count() == 0
        # a digit sets a rating row and stays there: 5 then 2 leaves the first row at 2
        for key in ("a", "5", "2"):
            page.keyboard.press(key)
        assert page.evaluate("document.activeElement.dataset.position") == "0"
        assert page.locator(".rate-row").nth(1).get_attribute("class") == "rate-row"  # second row still empty
        # both bad, the second row, a flag by keyboard and Esc out of the flags, rationale
        for key in ("Escape", "x", "a", "1", "f", "Space", "Escape"):
            page.keyboard.press(key)
        assert page.evaluate("document.activeElement.id") == "task", "Esc leaves the flags"
        page.keyboard.press("r")
        page.keyboard.type("Neither answers the question.")
        for width in (390, 360):
            page.set_viewport_size({"width": width, "height": 844})
            boxes = [page.locator(".candidate").nth(i).bounding_box() for i in range(2)]
            assert boxes[1]["y"] > boxes[0]["y"] and boxes[0]["width"] < width, "phone: one column"
            assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page is wider than the phone"
            signout = page.get_by_role("button", name="Sign out").bounding_box()
            assert signout["x"] + signout["width"] <= width
        page.screenshot(path=str(output_dir / "annotate-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1200, "height": 900})
        html = page.content()
        page.keyboard.press("Control+Enter")

        # then the done page shows the completion code
        page.wait_for_url(f"{url}/annotate/e2e/done/")
        assert page.inner_text("#completion-code") == "E2E-DONE-42"
        page.screenshot(path=str(output_dir / "annotate-done.png"), full_page=True)
        assert not errors, errors
        assert not console and not conflicts, (console, conflicts)  # the last submit goes straight to the done page
        assert SECRET_MODEL not in html and PID not in html

    annotations = list(Annotation.objects.order_by("created_at").select_related("assignment"))
    assert [a.verdict for a in annotations] == ["CANDIDATE", "CANDIDATE", "BOTH_BAD"]
    first, second, last = annotations
    assert (first.choice, first.strength) == (first.assignment.order[0], 3)
    assert first.aspects == {"helpfulness": {str(first.assignment.order[0]): 4, str(first.assignment.order[1]): 2}}
    assert second.choice == second.assignment.order[1] and second.rationale == "Second is better explained."
    assert last.flags == ["unsafe"] and last.rationale == "Neither answers the question."
    assert last.aspects == {"helpfulness": {str(last.assignment.order[0]): 2, str(last.assignment.order[1]): 1}}
    assert last.strength is None
    assert all(a.time_spent_ms > 0 for a in annotations)
    skipped = Assignment.objects.get(state=AssignmentState.SKIPPED)
    assert skipped.skip_reason == "I can't judge this topic"
    assert re.fullmatch(r"crowd-[0-9a-f]{16}", first.assignment.annotator.user.username)


def first_item(browser, link: str):
    """A participant's page through `link`, past the instructions: (page, its item's text)."""
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(link)
    page.keyboard.press("Enter")
    page.wait_for_selector("#task:not([hidden]) .candidate")
    return page, page.text_content("#conversation")


def test_an_item_skipped_in_another_tab_is_explained_and_n_takes_the_next_item(browser, output_dir):
    campaign = campaign_make(slug="twotabs", n_items=3, questions={"rationale": "off"})
    with asgi_server(output_dir / "e2e-annotate-twotabs-server.log") as url:
        page, first = first_item(browser, url + study_link(campaign))
        # given the same item skipped in a second tab
        other = browser.new_page(viewport={"width": 1000, "height": 800})
        other.context.add_cookies(page.context.cookies())
        other.goto(url + "/annotate/twotabs/")
        other.keyboard.press("Enter")  # a new browser context: the instructions come first
        other.wait_for_selector("#task:not([hidden]) .candidate")
        other.keyboard.press("s")
        other.keyboard.type("not my topic")
        other.keyboard.press("Enter")
        other.wait_for_function("(first) => document.querySelector('#conversation').textContent !== first", arg=first)
        # when the first tab submits
        page.keyboard.press("1")
        page.keyboard.press("Control+Enter")
        # then it says the item was skipped (not that time ran out), and n takes the next one
        expect(page.locator("#notice")).to_contain_text("You skipped this item")
        page.keyboard.press("n")
        expect(page.locator("#notice")).to_be_hidden()
        expect(page.locator("#conversation")).not_to_have_text(first)
    assert Assignment.objects.filter(state=AssignmentState.SKIPPED).count() == 1 and not Annotation.objects.exists()


def test_an_expired_lease_is_explained_and_n_takes_the_next_item(browser, output_dir):
    campaign = campaign_make(slug="late", n_items=3, questions={"rationale": "off"})
    with asgi_server(output_dir / "e2e-annotate-late-server.log") as url:
        page, first = first_item(browser, url + study_link(campaign))
        # given the lease ran out while the page was open
        Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        page.keyboard.press("1")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#notice")).to_contain_text("ran out")
        page.screenshot(path=str(output_dir / "annotate-expired.png"))
        # when they press n, another item comes
        page.keyboard.press("n")
        expect(page.locator("#notice")).to_be_hidden()
        expect(page.locator("#conversation")).not_to_have_text(first)
    assert not Annotation.objects.exists()
