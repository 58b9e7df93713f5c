"""The annotators' pages: study and invitation links, who may open a campaign, the list of
campaigns, the done page; and that a crowd participant's ids are never stored in clear."""
import re

import pytest
from django.contrib.sessions.models import Session
from django.contrib.staticfiles import finders
from django.db import connection

from annotate.models import Annotator, AnnotatorKind, Campaign, CampaignStatus
from tests.annotate.factories import PICK_FIRST, campaign_make
from tests.annotate.links import PID, SESSION, STUDY, act, api, crowd_join, post, study_link

pytestmark = pytest.mark.django_db


def every_row_as_text() -> str:
    """The whole database as text, one row per line, session payloads decoded too."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT t::text FROM "{table}" t')
            rows += [r[0] for r in cursor.fetchall()]
    for session in Session.objects.all():
        rows.append(str(session.get_decoded()))
    return "\n".join(rows)


def test_study_link_signs_in_a_pseudonymous_participant_and_keeps_no_raw_ids(client, django_user_model):
    # given a campaign that plain signed-in users may not join
    campaign = campaign_make(slug="study", n_items=2, allow_signed_in=False)
    # when a participant opens the study link
    crowd_join(client, campaign)
    # then they are signed in as a pseudonymous crowd user, an annotator of the campaign
    annotator = Annotator.objects.select_related("user").get()
    assert annotator.kind == AnnotatorKind.CROWD and annotator.campaign == campaign
    assert re.fullmatch(r"crowd-[0-9a-f]{16}", annotator.user.username)
    assert not annotator.user.has_usable_password()
    assert annotator.platform_study and annotator.platform_session
    # and can open the campaign page and its API (the link admits them though sign-in can't)
    assert client.get(f"/annotate/{campaign.slug}/").status_code == 200
    assert client.get(api(campaign)).status_code == 200
    # and the participant, study and session ids are nowhere in the database
    dump = every_row_as_text()
    for raw in (PID, STUDY, SESSION):
        assert raw not in dump


def test_the_same_participant_comes_back_as_the_same_annotator(client):
    campaign = campaign_make(slug="study", n_items=2)
    crowd_join(client, campaign)
    client.logout()
    crowd_join(client, campaign)
    assert Annotator.objects.count() == 1


def test_wrong_invite_token_is_404(client, alice):
    campaign = campaign_make(slug="study", n_items=2)
    assert client.get(study_link(campaign, token="nope")).status_code == 404
    assert alice.get(f"/annotate/{campaign.slug}/join/nope/").status_code == 404
    assert client.get(study_link(campaign, token=campaign.invite_token[:-1])).status_code == 404
    assert not Annotator.objects.exists()


def test_unreadable_participant_id_is_refused(client):
    campaign = campaign_make(slug="study", n_items=2)
    res = client.get(study_link(campaign, pid="x" * 200))
    assert res.status_code == 400 and b"could not be read" in res.content
    assert not Annotator.objects.exists()


def test_invitation_without_participant_id_needs_sign_in(client, user):
    campaign = campaign_make(slug="invite", n_items=2, allow_signed_in=False)
    link = f"/annotate/{campaign.slug}/join/{campaign.invite_token}/"
    # anonymous: to the login page, coming back to the link
    res = client.get(link)
    assert res.status_code == 302 and res["Location"].startswith("/accounts/login/?next=")
    assert campaign.invite_token in res["Location"]
    # signed in: joined as a user, though plain sign-in would not admit them
    client.force_login(user)
    res = client.get(link)
    assert res.status_code == 302 and res["Location"] == f"/annotate/{campaign.slug}/"
    assert Annotator.objects.get().kind == AnnotatorKind.USER
    assert client.get(res["Location"]).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client):
    campaign = campaign_make(slug="open", n_items=1)
    for url in ("/annotate/", f"/annotate/{campaign.slug}/", f"/annotate/{campaign.slug}/done/"):
        res = client.get(url)
        assert res.status_code == 302 and res["Location"].startswith("/accounts/login/?next="), url


def test_signed_in_users_open_a_campaign_only_where_allowed(alice):
    open_one = campaign_make(slug="open", n_items=1)
    closed_door = campaign_make(slug="shut", n_items=1, allow_signed_in=False)
    draft = campaign_make(slug="draft", n_items=1, status=CampaignStatus.DRAFT)
    page = alice.get(f"/annotate/{open_one.slug}/")
    assert page.status_code == 200 and b"work.js" in page.content
    assert alice.get(f"/annotate/{closed_door.slug}/").status_code == 404
    assert alice.get(f"/annotate/{draft.slug}/").status_code == 404
    assert alice.get("/annotate/nothing-here/").status_code == 404
    assert list(Annotator.objects.values_list("campaign__slug", flat=True)) == ["open"]


def test_a_closed_campaign_says_so(client):
    campaign = campaign_make(slug="over", n_items=1, status=CampaignStatus.CLOSED)
    res = client.get(study_link(campaign))
    assert res.status_code == 409 and b"not taking answers" in res.content


def test_closing_sends_participants_to_the_code_and_pausing_does_not(client):
    campaign = campaign_make(slug="study", n_items=3, completion_code="C0DE42")
    crowd_join(client, campaign)
    lease_id = client.get(api(campaign)).json()["assignment"]["id"]
    assert post(client, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    page, done = f"/annotate/{campaign.slug}/", f"/annotate/{campaign.slug}/done/"
    # paused: the work page stays (it says so), no code yet
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED)
    assert client.get(page).status_code == 200 and client.get(done)["Location"] == page
    # closed: straight to the done page, with the code for the work done
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
    assert client.get(page)["Location"] == done
    html = client.get(done).content.decode()
    assert "has closed" in html and "C0DE42" in html
    assert "Campaign study" in client.get("/annotate/").content.decode()


def test_the_work_page_shows_safe_instructions_and_runs_no_inline_code(alice):
    campaign = campaign_make(slug="open", n_items=1, instructions="# Compare\n\n**Pick** the better <script>alert(1)</script>")
    html = alice.get(f"/annotate/{campaign.slug}/").content.decode()
    assert "<h1>Compare</h1>" in html and "<strong>Pick</strong>" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script on a CSP page"
    assert " style=" not in html


def test_campaign_list_shows_joined_and_joinable(client, alice, user):
    joined = campaign_make(slug="joined", n_items=2, allow_signed_in=False)
    campaign_make(slug="joinable", n_items=2)
    campaign_make(slug="invite-only", n_items=2, allow_signed_in=False)
    alice.get(f"/annotate/{joined.slug}/join/{joined.invite_token}/")
    html = alice.get("/annotate/").content.decode()
    assert "Campaign joined" in html and "Campaign joinable" in html and "Campaign invite-only" not in html
    assert 'href="/annotate/"' in html  # the nav link


def test_item_counts_of_many_campaigns_take_one_count_query_then_none():
    from django.test.utils import CaptureQueriesContext

    from annotate.selectors import campaign_item_counts

    campaigns = [campaign_make(slug=f"count-{n}", n_items=n) for n in (1, 3, 4)]
    empty = Campaign.objects.create(slug="count-empty", title="Empty")
    ids = [c.pk for c in campaigns] + [empty.pk]
    with CaptureQueriesContext(connection) as queries:
        assert campaign_item_counts(ids) == dict(zip(ids, (1, 3, 4, 0)))
    assert len(queries.captured_queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert campaign_item_counts(ids) == dict(zip(ids, (1, 3, 4, 0)))
    assert not queries.captured_queries


def test_the_campaign_list_counts_the_items_of_all_its_campaigns_at_once(django_user_model):
    from django.core.cache import cache
    from django.test.utils import CaptureQueriesContext

    from annotate.selectors import campaigns_for_user

    user = django_user_model.objects.create_user("lister")

    def listed() -> tuple[dict, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            totals = {row["campaign"].slug: row["progress"]["total"] for row in campaigns_for_user(user)}
        return totals, [q["sql"] for q in queries.captured_queries]

    for n in (1, 2):
        campaign_make(slug=f"few-{n}", n_items=n)
    totals, few = listed()
    assert totals == {"few-1": 1, "few-2": 2} and sum("COUNT(" in sql for sql in few) == 1
    cache.clear()
    for n in (3, 4, 5):
        campaign_make(slug=f"more-{n}", n_items=n)
    totals, more = listed()
    assert totals == {"few-1": 1, "few-2": 2, "more-3": 3, "more-4": 4, "more-5": 5}
    assert len(more) == len(few)  # not a query per campaign
    totals, warm = listed()
    assert len(totals) == 5 and not any("COUNT(" in sql for sql in warm)


def test_done_page_gives_the_completion_code_once_earned(client):
    campaign = campaign_make(
        slug="study", n_items=3, quota=1, completion_code="C0DE42", completion_url="https://app.prolific.com/submissions/complete?cc=C0DE42"
    )
    crowd_join(client, campaign)
    done = f"/annotate/{campaign.slug}/done/"
    # before the quota: back to work, no code
    res = client.get(done)
    assert res.status_code == 302 and res["Location"] == f"/annotate/{campaign.slug}/"
    lease_id = client.get(api(campaign)).json()["assignment"]["id"]
    assert post(client, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    # after: the campaign page sends them to the done page, which has the code and the return link
    assert client.get(f"/annotate/{campaign.slug}/")["Location"] == done
    html = client.get(done).content.decode()
    assert "C0DE42" in html and 'data-redirect="https://app.prolific.com/submissions/complete?cc=C0DE42"' in html


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_done_page_says_the_1_item_and_the_quota_lowered_below_the_answers(client, admin_client, admin_user):
    # given a participant who answered the one item asked of them
    campaign = campaign_make(slug="one", n_items=6, quota=1)
    crowd_join(client, campaign)
    lease_id = client.get(api(campaign)).json()["assignment"]["id"]
    assert post(client, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    assert "You have answered the 1 item asked of you" in _text(client.get("/annotate/one/done/"))
    # given staff who answered 4 items before the quota was set to 1
    Campaign.objects.filter(pk=campaign.pk).update(quota=0)
    assert admin_client.get("/annotate/one/").status_code == 200  # joins
    for _ in range(4):
        lease_id = admin_client.get(api(campaign)).json()["assignment"]["id"]
        assert post(admin_client, act(campaign, lease_id, "submit"), PICK_FIRST).status_code == 201
    Campaign.objects.filter(pk=campaign.pk).update(quota=1)
    # then they are told about the quota, not "all 4 items asked of you"
    text = _text(admin_client.get("/annotate/one/done/"))
    assert "You have reached the quota of “Campaign one” (1 item); you answered 4." in text and "asked of you" not in text


def test_staff_see_a_dashboard_link_per_campaign(admin_client, alice):
    campaign_make(slug="listed", n_items=2)
    assert 'href="/annotate/listed/dashboard/"' in admin_client.get("/annotate/").content.decode()
    assert "/dashboard/" not in alice.get("/annotate/").content.decode()


def test_every_page_has_a_favicon(client):
    html = client.get("/accounts/login/").content.decode()
    href = re.search(r'<link rel="icon" href="/static/([^"]+)"', html).group(1)
    assert href.endswith(".svg") and finders.find(href)  # a file of ours: CSP img-src 'self' allows it


def test_done_page_without_any_answer_gives_no_code(client):
    campaign = campaign_make(slug="empty", n_items=1, overlap=1, completion_code="C0DE42")
    other = Campaign.objects.get(pk=campaign.pk)
    crowd_join(client, campaign, pid="someone-else")
    client.get(api(other))  # takes the only slot
    client.logout()
    crowd_join(client, campaign)
    assert client.get(api(campaign)).json()["error"] == "no_items_left"
    html = client.get(f"/annotate/{campaign.slug}/done/").content.decode()
    assert "Nothing to do right now" in html and "C0DE42" not in html


def test_study_link_sign_ups_are_rate_limited_per_address(client, settings):
    # given a limit of two crowd sign-ups per address and hour
    from annotate.models import Annotator
    from tests.annotate.factories import campaign_make

    settings.ANNOTATE = {**settings.ANNOTATE, "JOINS_PER_HOUR": 2}
    campaign = campaign_make(slug="limited")
    link = f"/annotate/limited/join/{campaign.invite_token}/?PROLIFIC_PID="
    # when a third participant id arrives from the same address
    statuses = [client.get(link + pid).status_code for pid in ("p1", "p2", "p3")]
    # then it is refused with a clear message and creates no annotator
    assert statuses[:2] == [302, 302] and statuses[2] == 429
    assert Annotator.objects.filter(campaign=campaign).count() == 2


def test_crowd_link_accounts_cannot_start_arena_battles(client):
    # given a participant who came through a study link
    from tests.annotate.factories import campaign_make

    campaign = campaign_make(slug="crowd-only")
    assert client.get(f"/annotate/crowd-only/join/{campaign.invite_token}/?PROLIFIC_PID=p42").status_code == 302
    # when they open the arena or try to start a battle
    page = client.get("/arena/")
    start = client.post("/arena/api/battles", data={"prompt": "hi"}, content_type="application/json")
    # then both are refused: the account is for annotation only
    assert page.status_code == 403
    assert start.status_code == 403 and start.json()["error"] == "annotation_only"
