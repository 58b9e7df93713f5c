"""The annotators' JSON API over HTTP: the happy path, every error, other people's items, CSRF,
and nothing secret (models, candidate meta, gold) in any response.

The shared links and helpers are in links.py."""
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from annotate.models import (
    Annotation,
    Annotator,
    AnnotatorStatus,
    Assignment,
    AssignmentState,
    Campaign,
    CampaignStatus,
)
from tests.annotate.factories import PICK_FIRST, annotators_make, campaign_make
from tests.annotate.links import PID, SECRET_META, SECRET_MODEL, SESSION, STUDY, act, api, crowd_join, post, secrets_plant

pytestmark = pytest.mark.django_db

FORBIDDEN_KEYS = ('"model"', '"meta"', '"gold"', '"is_gold"', '"index"', '"order"', '"pseudonym"', '"annotator"')


def assert_nothing_secret(text: str) -> None:
    """Models, candidate meta, gold answers and internal ids stay on the server."""
    for needle in (SECRET_MODEL, SECRET_META, PID, STUDY, SESSION, *FORBIDDEN_KEYS):
        assert needle not in text, f"{needle!r} reached the annotator"


def current(client, campaign, status=200) -> dict:
    res = client.get(api(campaign))
    assert res.status_code == status, res.content
    return res.json()


def error_of(res, status: int, code: str) -> None:
    assert res.status_code == status, res.content
    assert res.json()["error"] == code and res.json()["message"]


@pytest.fixture
def campaign(db):
    c = campaign_make(slug="study", n_items=3, overlap=2, quota=2, completion_code="C0DE42")
    secrets_plant(c)
    return c


@pytest.fixture
def crowd(client, campaign):
    crowd_join(client, campaign)
    return client


# ---------- the happy path ----------


def test_current_submit_next_in_display_order(crowd, campaign):
    # given a crowd annotator's first item
    first = current(crowd, campaign)
    assignment = Assignment.objects.get(pk=first["assignment"]["id"])
    # then the candidates come in the assignment's order, labelled by position only
    texts = [c["html"] for c in first["item"]["candidates"]]
    assert [c["label"] for c in first["item"]["candidates"]] == ["Response 1", "Response 2"]
    for position, index in enumerate(assignment.order):
        assert f"Answer {index} to prompt {assignment.item.position}" in texts[position]
    assert first["item"]["messages"] == [{"role": "User", "html": f"<p>Prompt {assignment.item.position}</p>\n"}]
    assert first["questions"]["choice"] is True and first["progress"] == {"done": 0, "total": 2, "quota": 2, "percent": 0}
    # asking again returns the live lease, not a new item
    assert current(crowd, campaign)["assignment"]["id"] == assignment.pk
    # when they pick Response 1
    res = post(crowd, act(campaign, assignment.pk, "submit"), PICK_FIRST)
    assert res.status_code == 201, res.content
    # then it is stored as the candidate shown first, with the client's timing
    annotation = Annotation.objects.get()
    assert (annotation.choice, annotation.strength, annotation.time_spent_ms) == (assignment.order[0], 2, 1234)
    # and the next item is another one, progress counted
    second = current(crowd, campaign)
    assert second["assignment"]["id"] != assignment.pk and second["progress"]["done"] == 1


def test_draft_is_saved_renews_the_lease_and_comes_back(crowd, campaign):
    item = current(crowd, campaign)
    lease = Assignment.objects.get(pk=item["assignment"]["id"])
    draft = {"answer": {"verdict": "TIE", "rationale": "half-way thro"}, "time_spent_ms": 5000}
    res = post(crowd, act(campaign, lease.pk, "draft"), {"draft": draft})
    assert res.status_code == 200, res.content
    lease.refresh_from_db()
    assert lease.expires_at.isoformat() == res.json()["expires_at"]
    again = current(crowd, campaign)
    assert again["assignment"]["id"] == lease.pk and again["assignment"]["draft"] == draft


def test_skip_needs_a_reason_and_the_item_does_not_come_back(crowd, campaign):
    lease_id = current(crowd, campaign)["assignment"]["id"]
    error_of(post(crowd, act(campaign, lease_id, "skip"), {"reason": "  "}), 400, "skip_reason_missing")
    res = post(crowd, act(campaign, lease_id, "skip"), {"reason": "I can't judge this"})
    assert res.status_code == 200, res.content
    skipped = Assignment.objects.get(pk=lease_id)
    assert (skipped.state, skipped.skip_reason) == (AssignmentState.SKIPPED, "I can't judge this")
    assert current(crowd, campaign)["assignment"]["id"] != lease_id


# ---------- every error ----------


def test_incomplete_answer_is_refused_and_nothing_is_stored(crowd, campaign):
    lease_id = current(crowd, campaign)["assignment"]["id"]
    error_of(post(crowd, act(campaign, lease_id, "submit"), {"rationale": "no choice"}), 400, "answer_invalid")
    error_of(post(crowd, act(campaign, lease_id, "submit"), {"verdict": "CANDIDATE", "choice": 7}), 400, "answer_invalid")
    assert not Annotation.objects.exists()
    assert Assignment.objects.get(pk=lease_id).state == AssignmentState.LEASED


def test_double_submit_is_refused(crowd, campaign):
    lease_id = current(crowd, campaign)["assignment"]["id"]
    assert post(crowd, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    error_of(post(crowd, act(campaign, lease_id, "submit"), PICK_FIRST), 409, "already_submitted")
    assert Annotation.objects.count() == 1


def test_expired_lease_refuses_submit_and_draft_then_offers_another_item(crowd, campaign):
    lease_id = current(crowd, campaign)["assignment"]["id"]
    Assignment.objects.filter(pk=lease_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    error_of(post(crowd, act(campaign, lease_id, "submit"), PICK_FIRST), 409, "lease_expired")
    error_of(post(crowd, act(campaign, lease_id, "draft"), {"draft": {}}), 409, "lease_expired")
    error_of(post(crowd, act(campaign, lease_id, "skip"), {"reason": "late"}), 409, "lease_expired")
    assert not Annotation.objects.exists()
    assert current(crowd, campaign)["assignment"]["id"] != lease_id


def test_an_item_skipped_in_another_tab_is_refused_as_skipped_not_expired(crowd, campaign):
    # given an item skipped in a second tab while the first still shows it
    lease_id = current(crowd, campaign)["assignment"]["id"]
    assert post(crowd, act(campaign, lease_id, "skip"), {"reason": "not my topic"}).status_code == 200
    # when the first tab submits, saves a draft or skips again
    # then each is refused as skipped (not "your time ran out") and nothing is stored
    error_of(post(crowd, act(campaign, lease_id, "submit"), PICK_FIRST), 409, "item_skipped")
    error_of(post(crowd, act(campaign, lease_id, "draft"), {"draft": {}}), 409, "item_skipped")
    error_of(post(crowd, act(campaign, lease_id, "skip"), {"reason": "again"}), 409, "item_skipped")
    assert not Annotation.objects.exists()
    assert current(crowd, campaign)["assignment"]["id"] != lease_id


def test_quota_reached(crowd, campaign):
    for _ in range(2):
        lease_id = current(crowd, campaign)["assignment"]["id"]
        assert post(crowd, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    error_of(crowd.get(api(campaign)), 409, "quota_reached")
    assert Annotator.objects.get().status == AnnotatorStatus.DONE


def test_no_items_left(client):
    campaign = campaign_make(slug="tiny", n_items=1, overlap=1)
    crowd_join(client, campaign)
    lease_id = current(client, campaign)["assignment"]["id"]
    assert post(client, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    error_of(client.get(api(campaign)), 409, "no_items_left")


def test_paused_campaign_and_paused_annotator(crowd, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED)
    error_of(crowd.get(api(campaign)), 409, "campaign_closed")
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.ACTIVE)
    Annotator.objects.update(status=AnnotatorStatus.PAUSED)
    error_of(crowd.get(api(campaign)), 403, "annotator_paused")


def test_draft_too_large_and_body_too_large(crowd, campaign):
    lease_id = current(crowd, campaign)["assignment"]["id"]
    error_of(post(crowd, act(campaign, lease_id, "draft"), {"draft": {"r": "x" * 30_000}}), 400, "draft_too_large")
    error_of(post(crowd, act(campaign, lease_id, "draft"), {"draft": "not an object"}), 400, "draft_too_large")
    error_of(post(crowd, act(campaign, lease_id, "submit"), {"rationale": "x" * 70_000}), 400, "bad_request")
    res = crowd.post(act(campaign, lease_id, "submit"), data="{not json", content_type="application/json")
    error_of(res, 400, "bad_request")


def test_methods_are_fixed(crowd, campaign):
    lease_id = current(crowd, campaign)["assignment"]["id"]
    assert crowd.post(api(campaign)).status_code == 405
    assert crowd.get(act(campaign, lease_id, "submit")).status_code == 405


# ---------- who may call it ----------


def test_someone_elses_assignment_is_not_found(crowd, campaign):
    (other,) = annotators_make(campaign, 1, prefix="mallory")
    theirs = Assignment.objects.create(
        item=campaign.items.first(), annotator=other, order=[1, 0], leased_at=timezone.now(),
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    for action, body in (("submit", PICK_FIRST), ("skip", {"reason": "x"}), ("draft", {"draft": {"a": 1}})):
        error_of(post(crowd, act(campaign, theirs.pk, action), body), 404, "assignment_not_found")
    theirs.refresh_from_db()
    assert (theirs.state, theirs.draft) == (AssignmentState.LEASED, {})


def test_a_campaign_not_joined_is_not_found(crowd, campaign):
    campaign_make(slug="elsewhere", n_items=1)
    error_of(crowd.get("/annotate/elsewhere/api/current"), 404, "campaign_not_found")
    error_of(post(crowd, "/annotate/elsewhere/api/assignments/1/submit", PICK_FIRST), 404, "campaign_not_found")


def test_anonymous_callers_are_told_to_sign_in(client, campaign):
    error_of(client.get(api(campaign)), 401, "signed_out")
    error_of(post(client, act(campaign, 1, "submit"), PICK_FIRST), 401, "signed_out")


def test_posts_need_the_csrf_token(campaign):
    # given a browser-like client that enforces CSRF, joined through the study link
    browser = Client(enforce_csrf_checks=True)
    crowd_join(browser, campaign)
    page = browser.get(f"/annotate/{campaign.slug}/")
    assert page.status_code == 200
    lease_id = current(browser, campaign)["assignment"]["id"]
    # when it posts without the token, it is refused and nothing is stored
    assert post(browser, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 403
    assert post(browser, act(campaign, lease_id, "draft"), {"draft": {"a": 1}}).status_code == 403
    assert not Annotation.objects.exists() and Assignment.objects.get(pk=lease_id).draft == {}
    # and with the token from the page's cookie it goes through
    token = browser.cookies["csrftoken"].value
    assert post(browser, act(campaign, lease_id, "submit"), PICK_FIRST, HTTP_X_CSRFTOKEN=token).status_code == 201


# ---------- nothing secret leaves ----------


def test_models_meta_and_gold_never_reach_the_annotator(client):
    # given a campaign that hands out its gold items first, whose candidates carry model names and meta
    campaign = campaign_make(slug="checks", n_items=3, n_gold=3, overlap=3, gold_rate=1.0, n_candidates=3)
    secrets_plant(campaign)
    crowd_join(client, campaign)
    seen, gold_seen = [], 0
    # when the annotator works through every item, using each endpoint on the way
    while True:
        res = client.get(api(campaign))
        seen.append(res.content.decode())
        if res.status_code != 200:
            break
        lease = Assignment.objects.select_related("item").get(pk=res.json()["assignment"]["id"])
        gold_seen += lease.item.is_gold
        for action, body in (("draft", {"draft": {"answer": {"ranking": [0]}}}), ("submit", {"verdict": "RANKED", "ranking": [2, 0, 1]})):
            reply = post(client, act(campaign, lease.pk, action), body)
            assert reply.status_code in (200, 201), reply.content
            seen.append(reply.content.decode())
    # then gold items were among them, and no response named a model, meta, gold or index
    assert gold_seen == 3 and Annotation.objects.count() == 6
    assert json.loads(seen[-1])["error"] == "no_items_left"
    for text in seen:
        assert_nothing_secret(text)
    assert_nothing_secret(client.get(f"/annotate/{campaign.slug}/").content.decode())
