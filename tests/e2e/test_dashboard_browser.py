"""Staff in a real browser: the campaign dashboard on realistic crowd data updates by itself
when a judgment is submitted; a lowest-consensus link opens the item page. Screenshots go to
test-output/."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotate.leasing import assignment_next
from annotate.models import Annotator, AnnotatorStatus
from annotate.services import annotation_submit
from tests.annotate.bulk import J, judgments_bulk
from tests.annotate.factories import annotators_make, campaign_make
from tests.support.server import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REASONS = [
    "The {w} response is more accurate and explains each step with an example.",
    "Response {W} answers the actual question; the other one drifts off topic after the first paragraph.",
    "{W} is clearer and shorter, and it does not invent a citation like the other one does.",
    "Both are fine but the {w} one handles the edge case the prompt mentions.",
]


def crowd_campaign(rng):
    """300 regular + 12 gold items, 3 judgments each (ten items 2), 12 annotators: experts, average, one who
    always clicks left, one spammer; a scale and a pairwise aspect; 30 hours of work."""
    questions = {"aspects": [{"name": "helpfulness", "label": "Helpfulness", "low": 1, "high": 5},
                             {"name": "safer", "label": "Safer", "kind": "pairwise"}]}  # fmt: skip
    campaign = campaign_make(slug="crowd", n_items=300, n_gold=12, overlap=3, gold_min_accuracy=0.6, questions=questions)
    skill = {f"expert{i}": 0.9 for i in range(3)} | {f"crowd{i}": 0.7 for i in range(7)} | {"lefty": 0.5, "spammer": 0.33}
    names = list(skill)
    truth = rng.integers(0, 3, 312)
    start = timezone.now() - timedelta(hours=30)
    judgments = []
    for i in range(312):
        for name in rng.choice(names, 2 if 290 <= i < 300 else 3, replace=False):  # ten items still open
            order = (0, 1) if rng.random() < 0.5 else (1, 0)
            label = truth[i] if i >= 300 or rng.random() < skill[name] else rng.integers(0, 3)
            label = 0 if i >= 300 and rng.random() < skill[name] else label  # gold answer is candidate 0
            if name == "lefty":
                label = order[0]
            kind = {"verdict": "TIE"} if label == 2 else {"choice": int(label), "strength": int(rng.integers(1, 4))}
            side = {"w": "first" if order[0] == label else "second", "W": "A" if order[0] == label else "B"}
            text = "" if rng.random() < 0.3 else ("good" if name == "spammer" else rng.choice(REASONS).format(**side))
            score = [int(rng.integers(1, 6)), int(rng.integers(1, 6))]
            aspects = {"helpfulness": {"0": score[0], "1": score[1]}, "safer": "TIE" if label == 2 else int(label)}
            at = start + timedelta(hours=30 * (i / 312) ** 0.7, minutes=int(rng.integers(0, 50)))
            judgments.append(J(i + 1, name, order=order, rationale=text, aspects=aspects, time_ms=int(rng.gamma(3, 9000)), created_at=at, **kind))
    judgments_bulk(campaign, judgments)
    Annotator.objects.filter(pseudonym="spammer").update(status=AnnotatorStatus.PAUSED, paused_reason="gold accuracy 25% on 8 items, below 60%")
    return campaign


def test_dashboard_updates_live_and_links_to_items(browser, output_dir, admin_user, settings):
    from django.contrib.auth.hashers import make_password

    admin_user.password = make_password("pw-admin-123", hasher="pbkdf2_sha256")
    admin_user.save()
    campaign = crowd_campaign(np.random.default_rng(3))
    # The submit below runs in this process: server and test share the Redis channel layer.
    with asgi_server(output_dir / "e2e-dashboard-server.log", REDIS_URL=settings.REDIS_URL) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/annotate/crowd/dashboard/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "pw-admin-123")
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/annotate/crowd/dashboard/")
        page.wait_for_selector("#live[data-state=on]")
        before = page.locator(".card.stat .big").nth(1).inner_text()
        page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)

        (annotator,) = annotators_make(campaign, 1, prefix="worker")
        lease = assignment_next(annotator_id=annotator.pk)
        annotation_submit(annotator_id=annotator.pk, assignment_id=lease.pk, answer={
            "verdict": "CANDIDATE", "choice": 0, "aspects": {"helpfulness": [4, 2], "safer": 0}})  # fmt: skip
        page.wait_for_function(
            "(before) => document.querySelectorAll('.card.stat .big')[1].textContent !== before", arg=before, timeout=15_000
        )
        assert int(page.locator(".card.stat .big").nth(1).inner_text()) == int(before) + 1

        page.locator("#board a[href*='/items/']").first.click()
        page.wait_for_selector(".judgment")
        assert page.locator(".judgment").count() >= 2
        page.screenshot(path=str(output_dir / "dashboard-item.png"), full_page=True)
        # the position-bias chart's pseudonyms fit in their column (none starts left of the picture)
        page.goto(url + "/annotate/crowd/dashboard/")
        lefts = page.eval_on_selector_all(
            "svg[aria-label^='Share of choices'] text[text-anchor=end]", "els => els.map(e => e.getBBox().x)"
        )
        assert lefts and min(lefts) >= 0, lefts
        for path in ("/annotate/crowd/dashboard/", "/annotate/crowd/items/1/", "/annotate/"):
            for width in (390, 360):
                page.set_viewport_size({"width": width, "height": 844})
                page.goto(url + path)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (path, width)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(url + "/annotate/crowd/dashboard/")
        page.screenshot(path=str(output_dir / "dashboard-phone.png"), full_page=False)
