"""The campaign admin: ready-to-paste links on the change page, the dashboard column, and the
import form's defaults and error summary."""
import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotate.models import Campaign, CampaignStatus
from tests.annotate.factories import campaign_make

pytestmark = pytest.mark.django_db

GOOD = json.dumps({"prompt": "P", "candidates": ["a", "b"]}) + "\n"
FORM = {"slug": "adm", "title": "", "overlap": 3, "lease_s": 1800, "gold_rate": 0, "quota": 0,
        "item_order": "CLOSEST_FIRST", "status": "ACTIVE", "questions": "", "instructions": ""}  # fmt: skip


def _import(admin_client, name: str, text: str, **fields):
    upload = SimpleUploadedFile(name, text.encode())
    return admin_client.post("/admin/annotate/campaign/import/", {**FORM, **fields, "file": upload})


def _errornote(response) -> str:
    page = response.content.decode()
    return html.unescape(page[page.index('class="errornote"') : page.index("</div>", page.index('class="errornote"'))])


def test_change_page_shows_the_crowd_and_invitation_links_and_the_pages(admin_client):
    campaign = campaign_make(slug="links", n_items=1)
    page = html.unescape(admin_client.get(f"/admin/annotate/campaign/{campaign.pk}/change/").content.decode())
    invite = f"http://testserver/annotate/links/join/{campaign.invite_token}/"
    assert f'value="{invite}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}&SESSION_ID={{{{%SESSION_ID%}}}}"' in page
    assert f'value="{invite}"' in page and "readonly" in page
    assert 'href="/annotate/links/dashboard/"' in page and 'href="/annotate/links/"' in page


def test_the_crowd_link_works_with_ids_filled_in(admin_client, client):
    campaign = campaign_make(slug="paste", n_items=1)
    page = html.unescape(admin_client.get(f"/admin/annotate/campaign/{campaign.pk}/change/").content.decode())
    start = page.index('id="crowd-link"')
    link = page[page.index('value="', start) + 7 : page.index('"', page.index('value="', start) + 7)]
    # what Prolific does: replace each placeholder with the participant's ids
    filled = link.replace("{{%PROLIFIC_PID%}}", "pid123").replace("{{%STUDY_ID%}}", "st1").replace("{{%SESSION_ID%}}", "se1")
    response = client.get(filled.removeprefix("http://testserver"))
    assert response.status_code == 302 and response["Location"] == "/annotate/paste/"


def test_campaign_list_links_each_dashboard(admin_client):
    campaign_make(slug="listed", n_items=1)
    page = admin_client.get("/admin/annotate/campaign/").content.decode()
    assert 'href="/annotate/listed/dashboard/"' in page


def test_import_form_defaults_to_active_like_the_command_line(admin_client):
    page = admin_client.get("/admin/annotate/campaign/import/").content.decode()
    assert '<option value="ACTIVE" selected>' in page
    assert '"Creating a campaign"' in page  # the README section's real title


def test_bad_rows_are_counted_as_rows(admin_client):
    response = _import(admin_client, "c.jsonl", GOOD + '{"prompt": 3}\n' + '{"prompt": 4}\n')
    note = _errornote(response)
    assert note.startswith('class="errornote">Nothing was imported (2 bad rows):')
    assert "line 2: prompt must be text" in note and note.count("nothing was imported") == 0
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "name, text",
    [
        ("c.txt", GOOD),  # unknown format
        ("c.jsonl", "\n\n"),  # no items
        ("c.csv", "prompt,response_a\nP,a\n"),  # a missing column
    ],
)
def test_file_problems_are_not_called_bad_rows(admin_client, name, text):
    note = _errornote(_import(admin_client, name, text))
    assert note.startswith('class="errornote">Nothing was imported:') and "bad row" not in note


def test_an_existing_slug_is_not_a_bad_row(admin_client):
    campaign_make(slug="adm", n_items=1)
    note = _errornote(_import(admin_client, "c.jsonl", GOOD))
    assert note.startswith('class="errornote">Nothing was imported:') and "already exists" in note and "bad row" not in note
    assert Campaign.objects.get(slug="adm").status == CampaignStatus.ACTIVE
