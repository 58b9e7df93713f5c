"""Links and requests of the annotators' pages and JSON API, and secrets planted so that a test
can check they never reach an annotator; shared by test_work_api.py, test_work_pages.py and
tests/e2e/test_annotate_browser.py."""
import json

from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat

from annotate.models import Campaign, Candidate

PID = "PIDsecret5f3a9c01"  # distinctive, so a scan of the database can't miss it
STUDY, SESSION = "STUDYsecret77aa", "SESSIONsecret88bb"
SECRET_MODEL = "secret-model-"
SECRET_META = "secret-meta-value"


def secrets_plant(campaign: Campaign) -> None:
    """Give every candidate a model name and meta that must never reach an annotator."""
    Candidate.objects.filter(item__campaign=campaign).update(
        model=Concat(Value(SECRET_MODEL), Cast("index", CharField())), meta={"source": SECRET_META}
    )


def study_link(campaign: Campaign, pid: str = PID, token: str | None = None) -> str:
    token = campaign.invite_token if token is None else token
    return f"/annotate/{campaign.slug}/join/{token}/?PROLIFIC_PID={pid}&STUDY_ID={STUDY}&SESSION_ID={SESSION}"


def crowd_join(client, campaign: Campaign, pid: str = PID):
    res = client.get(study_link(campaign, pid))
    assert res.status_code == 302, res.content
    assert res["Location"] == f"/annotate/{campaign.slug}/"
    return res


def api(campaign: Campaign, tail: str = "current") -> str:
    return f"/annotate/{campaign.slug}/api/{tail}"


def post(client, url: str, body, **extra):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def act(campaign: Campaign, assignment_id: int, action: str) -> str:
    return api(campaign, f"assignments/{assignment_id}/{action}")
