"""The staff dashboard over HTTP and WebSocket, the item page, the resume action and the
campaign_stats command."""
import json
import re
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.test import Client

from annotate.leasing import assignment_next
from annotate.models import Annotator, AnnotatorStatus
from annotate.services import annotation_submit
from annotate.stats import campaign_stats
from config.asgi import application
from tests.annotate.bulk import J, judgments_bulk
from tests.annotate.factories import annotators_make, campaign_make

COPIED = "The second response lists every step in order and gives a worked example at the end."


def _campaign():
    """Four items judged by three annotators (one paused), a gold item, flagged rationales."""
    campaign = campaign_make(slug="demo", n_items=4, n_gold=1, overlap=3, gold_min_accuracy=0.7)
    judgments_bulk(campaign, [
        J(1, "alice0000", choice=0, strength=3, rationale="First is correct and complete, the second has an error."),
        J(1, "bob000000", choice=0, strength=2, order=(1, 0), rationale=COPIED),
        J(1, "carol0000", choice=1, strength=1, rationale="ok"),
        J(2, "alice0000", choice=1, rationale=COPIED),
        J(2, "bob000000", verdict="TIE"),
        J(2, "carol0000", verdict="BOTH_BAD"),
        J(3, "alice0000", choice=0, order=(0, 1), rationale="Response B is much better, it answers the whole question."),
        J(5, "alice0000", choice=0),
        J(5, "carol0000", choice=1, order=(1, 0)),
    ])  # fmt: skip
    Annotator.objects.filter(pseudonym="carol0000").update(status=AnnotatorStatus.PAUSED, paused_reason="gold accuracy 0% on 5 items, below 70%")
    return campaign


@pytest.mark.django_db
def test_staff_sees_progress_agreement_annotators_and_flags(admin_client):
    campaign = _campaign()
    response = admin_client.get("/annotate/demo/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    stats = campaign_stats(campaign=campaign)
    assert f'data-campaign="{campaign.pk}"' in html and "/annotate/demo/dashboard/board/" in html
    assert str(stats["agreement"]["choice"]["alpha"]) in html
    for name in ("alice0000", "bob000000", "carol0000"):
        assert name in html
    assert "gold accuracy 0% on 5 items" in html and "/annotate/demo/annotators/" in html  # resume button
    assert 'href="/annotate/demo/items/1/"' in html  # lowest consensus item linked
    assert re.search(r'href="/annotate/demo/items/3/#a\d+"', html)  # the contradicting rationale
    assert "<svg" in html  # throughput and consensus plots
    # strict CSP: no inline script or style anywhere on the page
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    # model names stay off the dashboard (they are on the item page)
    assert "m0" not in re.sub(r"<[^>]+>", " ", html).split()


@pytest.mark.django_db
def test_partial_and_json_match_the_selector(admin_client):
    campaign = _campaign()
    board = admin_client.get("/annotate/demo/dashboard/board/")
    assert board.status_code == 200 and b"<html" not in board.content and b"board-inner" in board.content
    data = admin_client.get("/annotate/demo/dashboard.json").json()
    stats = campaign_stats(campaign=campaign)
    assert data["agreement"] == stats["agreement"] and data["progress"]["judgments"] == 7


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/annotate/demo/dashboard/", "/annotate/demo/dashboard/board/", "/annotate/demo/dashboard.json", "/annotate/demo/items/1/"])
def test_non_staff_are_refused_and_signed_out_sent_to_login(client, user, path):
    _campaign()
    response = client.get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(user)
    assert client.get(path).status_code == 403


@pytest.mark.django_db
def test_a_campaign_without_judgments_renders(admin_client):
    campaign_make(slug="empty", n_items=3)
    html = admin_client.get("/annotate/empty/dashboard/").content.decode()
    assert "No judgments yet" in html and "Nobody has joined yet" in html
    assert admin_client.get("/annotate/nothing-here/dashboard/").status_code == 404


@pytest.mark.django_db
def test_item_page_shows_models_gold_and_every_judgment(admin_client):
    _campaign()
    html = admin_client.get("/annotate/demo/items/1/").content.decode()
    assert "Prompt 1" in html and "Answer 0 to prompt 1" in html and "<code>m0</code>" in html
    for name in ("alice0000", "bob000000", "carol0000"):
        assert name in html
    assert "Candidate 1 (m0)" in html and "(strong)" in html
    assert "candidate 2 → 1" in html and "chose the one shown second" in html  # bob: order (1, 0), chose 0
    assert "copied" in html and "short" in html
    gold = admin_client.get("/annotate/demo/items/5/").content.decode()
    assert "gold answer: <strong>Candidate 1 (m0)</strong>" in gold and "✓ gold" in gold and "✗ gold" in gold
    assert admin_client.get("/annotate/demo/items/99/").status_code == 404


@pytest.mark.django_db
def test_item_page_says_an_imported_judgments_display_order_is_unknown(admin_client):
    campaign = campaign_make(slug="imp", n_items=1, overlap=3)
    judgments_bulk(campaign, [
        J(1, "fromfile1", choice=1, time_ms=0, source="IMPORTED"),  # stored order: the identity
        J(1, "here00000", choice=0, order=(1, 0), flags=["needs_expertise"]),
    ])  # fmt: skip
    html = admin_client.get("/annotate/imp/items/1/").content.decode()
    # the imported one: no made-up position or time
    assert html.count("imported; display order unknown") == 1 and "time spent unknown" in html
    assert html.count("chose the one shown") == 1 and "chose the one shown second" in html  # the one submitted here
    # flags read as on the work page
    assert "needs expertise" in html and "needs_expertise" not in html


@pytest.mark.django_db
def test_dashboard_of_imported_judgments_only_says_none_were_submitted_here(admin_client):
    campaign = campaign_make(slug="imponly", n_items=2, overlap=2)
    judgments_bulk(campaign, [J(i, f"file{k}", choice=0, time_ms=0, source="IMPORTED") for i in (1, 2) for k in (1, 2)])
    html = admin_client.get("/annotate/imponly/dashboard/").content.decode()
    assert "No judgments submitted here yet (4 imported with the items" in html
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "0 judgments in the last hour · 0 in 24 h (imported ones not counted)" in text
    assert "0.0 s" not in text  # no median time for judgments without one


@pytest.mark.django_db
def test_dashboard_counts_read_in_the_singular(admin_client):
    campaign = campaign_make(slug="one", n_items=2, overlap=2)
    judgments_bulk(campaign, [J(1, "a", choice=0, rationale="ok"), J(1, "b", choice=0)])
    text = " ".join(re.sub(r"<[^>]+>", " ", admin_client.get("/annotate/one/dashboard/").content.decode()).split())
    assert "1 judgment flagged" in text and "1 item with two or more choices" in text


@pytest.mark.django_db
def test_staff_resume_a_paused_annotator_with_post_and_csrf(admin_user, user):
    campaign = _campaign()
    carol = Annotator.objects.get(pseudonym="carol0000")
    url = f"/annotate/demo/annotators/{carol.pk}/resume/"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403  # no CSRF token
    outsider = Client()
    outsider.force_login(user)
    assert outsider.post(url).status_code == 403
    carol.refresh_from_db()
    assert carol.status == AnnotatorStatus.PAUSED
    # the dashboard's own form carries the token
    page = strict.get("/annotate/demo/dashboard/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = strict.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"].endswith("/annotate/demo/dashboard/#annotators")
    carol.refresh_from_db()
    assert (carol.status, carol.paused_reason) == (AnnotatorStatus.ACTIVE, "")
    assert campaign_stats(campaign=campaign)["annotators"]["rows"][-1]["status"] in ("ACTIVE",)


@pytest.mark.django_db
def test_campaign_stats_command_json_and_text():
    campaign = _campaign()
    out = StringIO()
    call_command("campaign_stats", "demo", "--json", "--fresh", stdout=out)
    data = json.loads(out.getvalue())
    stats = campaign_stats(campaign=campaign, use_cache=False)
    assert data["agreement"] == stats["agreement"] and data["consensus"] == stats["consensus"]
    assert {r["pseudonym"] for r in data["annotators"]["rows"]} == {"alice0000", "bob000000", "carol0000"}
    assert data["rationale_flags"]["counts"] == {"COPIED": 2, "CONTRADICTS": 1, "SHORT": 1}
    text = StringIO()
    call_command("campaign_stats", "demo", stdout=text)
    assert "alpha" in text.getvalue() and "carol0000" in text.getvalue() and "paused" in text.getvalue()
    with pytest.raises(Exception, match="no campaign"):
        call_command("campaign_stats", "missing")


@pytest.fixture
def fresh_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def _socket(user, campaign_id: int):
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        client = Client()
        await sync_to_async(client.force_login)(user)
        headers.append((b"cookie", f"sessionid={client.session.session_key}".encode()))
    comm = WebsocketCommunicator(application, f"/ws/annotate/{campaign_id}/", headers=headers)
    return comm, await comm.connect()


@pytest.mark.django_db(transaction=True)
async def test_socket_is_staff_only_and_hears_a_submit(fresh_layer, admin_user, user):
    campaign = await sync_to_async(campaign_make)(slug="live", n_items=2, overlap=2)
    # refused sockets are ended as a server would (tests/arena/test_consumer.py says why)
    anonymous, (ok, code) = await _socket(None, campaign.pk)
    assert not ok and code == 4401
    await anonymous.disconnect()
    visitor, (ok, code) = await _socket(user, campaign.pk)
    assert not ok and code == 4401
    await visitor.disconnect()
    staff, (ok, _) = await _socket(admin_user, campaign.pk)
    assert ok
    other = await sync_to_async(campaign_make)(slug="other", n_items=1)
    elsewhere, (ok, _) = await _socket(admin_user, other.pk)
    assert ok

    def submit():
        (annotator,) = annotators_make(campaign, 1, prefix="worker")
        lease = assignment_next(annotator_id=annotator.pk)
        annotation_submit(annotator_id=annotator.pk, assignment_id=lease.pk, answer={"verdict": "CANDIDATE", "choice": 1})

    await sync_to_async(submit)()
    assert await staff.receive_json_from(timeout=10) == {"type": "campaign.changed", "campaign": campaign.pk}
    assert await elsewhere.receive_nothing(timeout=0.3)
    await staff.disconnect()
    await elsewhere.disconnect()
