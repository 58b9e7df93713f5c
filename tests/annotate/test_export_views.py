"""Dataset exports over HTTP: who may see, create and download them (staff pages, the admin, the
EXPORT-scope token API), what the form and the API refuse, progress JSON, and downloads that
stream exactly the snapshot's files and nothing else."""
import hashlib
import json
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from annotate import views_exports
from annotate.exports.config import export_config_from_json
from annotate.models import ExportSnapshot, ExportStatus
from arena.models import ApiToken, Contender
from arena.tokens import token_create
from tests.annotate.factories import campaign_make
from tests.conftest import wait_for

TRAIN = b'{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."}\n'
README = b"# hh-clean\n\nLicence: CC-BY-4.0\n"


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


def _file(name: str, content: bytes) -> dict:
    return {"name": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest(), "rows": content.count(b"\n")}


def snapshot_make(status=ExportStatus.PENDING, *, name="hh-clean", files: dict[str, bytes] | None = None, export_dir=None, listed=None, **fields):
    """A snapshot in `status`; `files` are written under EXPORT_DIR/<id>/ and listed in its row
    (`listed` overrides the row's list, to list a name with no file or a file that is not listed)."""
    files = files or {}
    config = export_config_from_json({"name": name, "campaigns": ["c"], "arena": True}).to_json()
    snapshot = ExportSnapshot.objects.create(
        name=config["name"], config=config, status=status,
        files=listed if listed is not None else [_file(n, c) for n, c in files.items()], **fields,
    )  # fmt: skip
    for name, content in files.items():
        path = export_dir / str(snapshot.pk) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return snapshot


def form_data(**overrides) -> dict:
    data = {
        "name": "hh-clean", "campaigns": ["c"], "min_item_agreement": "0", "min_gold_accuracy": "0", "unit": "judgment",
        "aggregation": "majority", "formats": ["jsonl", "parquet"], "form": "text", "test_fraction": "0", "licence": "CC-BY-4.0",
    }  # fmt: skip
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def export_token(admin_user) -> str:
    return token_create(user=admin_user, name="nightly", scopes=[ApiToken.Scope.EXPORT])[1]


@pytest.fixture
def api() -> Client:
    """A script: no session, and CSRF enforced as for any client without a token exemption."""
    return Client(enforce_csrf_checks=True)


# --- who may see what ---------------------------------------------------------------------------


def _staff_urls(snapshot) -> list[str]:
    return [
        "/annotate/exports/", "/annotate/exports/new/", f"/annotate/exports/{snapshot.pk}/",
        f"/annotate/exports/{snapshot.pk}/status.json", f"/annotate/exports/{snapshot.pk}/files/train.jsonl",
    ]  # fmt: skip


@pytest.mark.django_db
def test_staff_pages_send_visitors_to_login_refuse_non_staff_and_open_for_staff(client, user, admin_user, export_dir):
    snapshot = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN}, export_dir=export_dir)
    for url in _staff_urls(snapshot):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/?next="), url
    client.force_login(user)
    for url in _staff_urls(snapshot):
        assert client.get(url).status_code == 403, url
    assert client.post("/annotate/exports/new/", form_data()).status_code == 403
    client.force_login(admin_user)
    for url in _staff_urls(snapshot):
        assert client.get(url).status_code == 200, url
    assert ExportSnapshot.objects.count() == 1


@pytest.mark.django_db
def test_list_shows_sources_progress_files_and_errors(staff, export_dir):
    running = snapshot_make(ExportStatus.RUNNING, rows_done=40, rows_total=100, name="running-one")
    pending = snapshot_make(name="pending-one")
    ready = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN, "README.md": README}, export_dir=export_dir, rows_done=1)
    snapshot_make(ExportStatus.FAILED, error="campaign 'c' has no judgments", name="failed-one")
    response = staff.get("/annotate/exports/")
    html = response.content.decode()
    assert response.status_code == 200
    for s in (running, pending):  # unfinished ones poll their status
        assert f'data-status-url="/annotate/exports/{s.pk}/status.json"' in html
    assert f'data-status-url="/annotate/exports/{ready.pk}/status.json"' not in html
    assert '<progress class="export-progress" max="1" value="0.4000">' in html and "40 / 100 (40%)" in html
    assert '<progress class="export-progress" max="1">' in html  # pending: indeterminate
    assert f'href="/annotate/exports/{ready.pk}/files/train.jsonl"' in html and f'href="/annotate/exports/{ready.pk}/files/README.md"' in html
    assert hashlib.sha256(TRAIN).hexdigest()[:12] in html and f"{len(TRAIN)}\xa0bytes" in html
    assert "campaign &#x27;c&#x27; has no judgments" in html
    assert '<span class="chip">c</span><span class="chip">arena votes</span>' in html
    assert "/static/annotate/export.js" in html
    # strict CSP: no inline script or style anywhere on the page
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


@pytest.mark.django_db
def test_status_json_reports_progress(staff):
    snapshot = snapshot_make(ExportStatus.RUNNING, rows_done=250, rows_total=1000)
    data = staff.get(f"/annotate/exports/{snapshot.pk}/status.json").json()
    assert data == {"id": str(snapshot.pk), "status": "RUNNING", "rows_done": 250, "rows_total": 1000, "progress": 0.25}
    pending = snapshot_make()
    assert staff.get(f"/annotate/exports/{pending.pk}/status.json").json()["progress"] is None
    assert staff.get(f"/annotate/exports/{uuid.uuid4()}/status.json").status_code == 404


@pytest.mark.django_db
def test_detail_shows_manifest_summary_files_and_settings(staff, export_dir):
    manifest = {"code_version": "abc123", "counts": {"rows": 1, "train": 1, "test": 0}, "schema": [{"name": "prompt"}]}
    snapshot = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN}, export_dir=export_dir, manifest=manifest)
    html = staff.get(f"/annotate/exports/{snapshot.pk}/").content.decode()
    assert "abc123" in html and "rows: 1, test: 0, train: 1" in html and "Full manifest" in html
    assert "No row matched" not in html
    assert hashlib.sha256(TRAIN).hexdigest() in html and f'href="/annotate/exports/{snapshot.pk}/files/train.jsonl"' in html
    assert "<dt>licence</dt><dd><code>&quot;CC-BY-4.0&quot;</code></dd>" in html and "<dt>arena</dt><dd><code>true</code></dd>" in html
    assert staff.get(f"/annotate/exports/{uuid.uuid4()}/").status_code == 404


# --- the form -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_form_offers_campaigns_and_models(staff):
    campaign_make(slug="hh", n_items=2)
    Contender.objects.create(slug="llama-tiny", display_name="Llama", model="/models/llama")
    html = staff.get("/annotate/exports/new/").content.decode()
    assert 'name="campaigns" value="hh"' in html
    assert 'name="contenders" value="llama-tiny"' in html  # a contender
    assert 'name="contenders_other"' in html  # other models (e.g. the candidates' m0, m1) are typed
    assert 'name="contenders" value="m0"' not in html  # the candidates' models aren't read on each view
    assert 'name="licence"' in html and 'value="other"' in html and 'name="csrfmiddlewaretoken"' in html
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


@pytest.mark.django_db
def test_form_creates_a_pending_snapshot_with_the_settings_and_queues_its_build(staff, admin_user, django_capture_on_commit_callbacks):
    campaign_make(slug="c", n_items=2)
    Contender.objects.create(slug="m0", display_name="M0", model="/models/m0")  # ticked; gpt-x and m1 are typed
    data = form_data(
        arena="on", since="2026-01-01", until="2026-06-30", contenders=["m0"], contenders_other="gpt-x, m1",
        categories="coding, math", min_item_agreement="0.6", min_gold_accuracy="0.8", exclude_ties="on",
        exclude_flagged="on", unit="item", aggregation="competence", formats=["parquet"], form="conversational",
        kto="on", test_fraction="0.1", scrub_pii="on", licence="other", licence_other="CC-BY-NC-SA-4.0",
    )  # fmt: skip
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post("/annotate/exports/new/", data)
    assert response.status_code == 302 and response.url == "/annotate/exports/"
    snapshot = ExportSnapshot.objects.get()
    assert snapshot.status == ExportStatus.PENDING and snapshot.created_by == admin_user and snapshot.name == "hh-clean"
    expected = export_config_from_json({
        "name": "hh-clean", "campaigns": ["c"], "arena": True, "since": "2026-01-01", "until": "2026-06-30",
        "contenders": ["gpt-x", "m0", "m1"], "categories": ["coding", "math"], "min_item_agreement": 0.6,
        "min_gold_accuracy": 0.8, "exclude_ties": True, "exclude_flagged": True, "unit": "item",
        "aggregation": "competence", "formats": ["parquet"], "form": "conversational", "kto": True,
        "test_fraction": 0.1, "scrub_pii": True, "licence": "CC-BY-NC-SA-4.0",
    })  # fmt: skip
    assert snapshot.config == json.loads(json.dumps(expected.to_json()))
    assert len(callbacks) == 1  # the build, queued on commit
    assert "Export “hh-clean” queued." in staff.get(response.url).content.decode()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"campaigns": None}, "Choose at least one source: campaigns and/or arena."),
        ({"since": "2026-05-01", "until": "2026-04-01"}, "Must be on or after since (2026-05-01)."),
        ({"min_item_agreement": "1.5"}, "Ensure this value is less than or equal to 1."),
        ({"test_fraction": "1"}, "Must be below 1 (something must be left to train on)."),
        ({"formats": None}, "This field is required."),
        ({"licence": "other"}, "Name the licence"),
        ({"campaigns": ["nope"]}, "Select a valid choice. nope is not one of the available choices."),
        ({"unit": "row"}, "Select a valid choice."),
        ({"name": ""}, "This field is required."),
        ({"since": "yesterday"}, "Enter a valid date."),
    ],
)
@pytest.mark.django_db
def test_form_shows_errors_and_creates_nothing(staff, overrides, message):
    campaign_make(slug="c", n_items=2)
    response = staff.post("/annotate/exports/new/", form_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not ExportSnapshot.objects.exists()


@pytest.mark.django_db
def test_form_shows_a_settings_error_at_the_field_it_names(staff):
    campaign_make(slug="c", n_items=2)
    form = staff.post("/annotate/exports/new/", form_data(since="2026-05-01", until="2026-04-01")).context["form"]
    assert form.errors == {"until": ["Must be on or after since (2026-05-01)."]}
    form = staff.post("/annotate/exports/new/", form_data(test_fraction="1")).context["form"]
    assert form.errors == {"test_fraction": ["Must be below 1 (something must be left to train on)."]}
    form = staff.post("/annotate/exports/new/", form_data(campaigns=None)).context["form"]
    assert form.errors == {"__all__": ["Choose at least one source: campaigns and/or arena."]}


@pytest.mark.django_db
def test_form_says_so_when_a_campaign_is_deleted_before_the_export_is_created(staff, monkeypatch):
    campaign = campaign_make(slug="c", n_items=2)
    create = views_exports.export_create

    def deleted_meanwhile(**kwargs):
        campaign.delete()  # after the form checked its choices
        return create(**kwargs)

    monkeypatch.setattr(views_exports, "export_create", deleted_meanwhile)
    response = staff.post("/annotate/exports/new/", form_data())
    assert response.status_code == 400
    assert response.context["form"].errors == {"campaigns": ["No campaign with slug c."]}
    assert not ExportSnapshot.objects.exists()


@pytest.mark.django_db
def test_form_creations_are_rate_limited(staff, monkeypatch):
    monkeypatch.setattr(views_exports, "CREATIONS_PER_HOUR", 1)
    campaign_make(slug="c", n_items=2)
    assert staff.post("/annotate/exports/new/", form_data()).status_code == 302
    response = staff.post("/annotate/exports/new/", form_data())
    assert response.status_code == 400 and views_exports.RateLimited.message in response.content.decode().replace("&#x27;", "'")
    assert ExportSnapshot.objects.count() == 1


@pytest.mark.django_db
def test_form_needs_csrf(admin_user):
    campaign_make(slug="c", n_items=2)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.post("/annotate/exports/new/", form_data()).status_code == 403
    assert not ExportSnapshot.objects.exists()


# --- downloads ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_download_streams_the_file_as_an_attachment(staff, export_dir):
    snapshot = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN, "README.md": README}, export_dir=export_dir)
    response = staff.get(f"/annotate/exports/{snapshot.pk}/files/train.jsonl")
    assert response.status_code == 200 and response.streaming
    assert b"".join(response.streaming_content) == TRAIN
    assert response["Content-Disposition"] == 'attachment; filename="train.jsonl"'
    assert int(response["Content-Length"]) == len(TRAIN)
    readme = staff.get(f"/annotate/exports/{snapshot.pk}/files/README.md")
    assert b"".join(readme.streaming_content) == README


@pytest.mark.django_db
def test_download_refuses_unlisted_unfinished_and_escaping_names(staff, export_dir, tmp_path):
    (export_dir).mkdir(parents=True)
    (export_dir / "secret.txt").write_bytes(b"another snapshot's data")
    (tmp_path / "outside.txt").write_bytes(b"not an export")
    snapshot = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN, "extra.jsonl": b"{}\n"}, export_dir=export_dir,
                             listed=[_file("train.jsonl", TRAIN), _file("../secret.txt", b""), _file("../../outside.txt", b"")])  # fmt: skip
    base = f"/annotate/exports/{snapshot.pk}/files/"
    for name in ("extra.jsonl", "../secret.txt", "..%2Fsecret.txt", "../../outside.txt", "%2E%2E/%2E%2E/outside.txt", "missing.jsonl", ""):
        assert staff.get(base + name).status_code == 404, name
    # a listed file of a snapshot that is not READY (a rebuild in progress) is not served either
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(status=ExportStatus.RUNNING)
    assert staff.get(base + "train.jsonl").status_code == 404
    assert staff.get(f"/annotate/exports/{uuid.uuid4()}/files/train.jsonl").status_code == 404


# --- the token API ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_creates_an_export_with_an_export_token(api, export_token, admin_user, django_capture_on_commit_callbacks):
    campaign_make(slug="c", n_items=2)
    body = {"name": "nightly", "campaigns": ["c"], "unit": "item", "aggregation": "strength", "formats": ["jsonl"], "kto": True}
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post("/annotate/api/exports", json.dumps(body), content_type="application/json", **bearer(export_token))
    assert response.status_code == 201, response.content
    data = response.json()
    snapshot = ExportSnapshot.objects.get()
    assert data == {"id": str(snapshot.pk), "status": "PENDING", "status_url": f"http://testserver/annotate/api/exports/{snapshot.pk}"}
    assert response["Location"] == data["status_url"]
    assert snapshot.created_by == admin_user and snapshot.config == json.loads(json.dumps(export_config_from_json(body).to_json()))
    assert len(callbacks) == 1
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_api_refuses_missing_revoked_wrong_scope_and_non_staff_tokens(api, client, admin_user, user, export_token):
    snapshot = snapshot_make()
    board_only = token_create(user=admin_user, name="board", scopes=[ApiToken.Scope.LEADERBOARD_READ])[1]
    revoked_row, revoked = token_create(user=admin_user, name="old", scopes=[ApiToken.Scope.EXPORT])
    revoked_row.revoked_at = timezone.now()
    revoked_row.save(update_fields=["revoked_at"])
    demoted = token_create(user=user, name="demoted", scopes=[ApiToken.Scope.EXPORT])[1]
    body = json.dumps({"campaigns": ["c"]})
    urls = [f"/annotate/api/exports/{snapshot.pk}", f"/annotate/api/exports/{snapshot.pk}/files/train.jsonl"]
    for headers in ({}, bearer(board_only), bearer(revoked), bearer("pfa_" + "x" * 43), {"HTTP_AUTHORIZATION": export_token}):
        response = api.post("/annotate/api/exports", body, content_type="application/json", **headers)
        assert response.status_code == 401 and response.json()["message"] == views_exports.TOKEN_REQUIRED
        assert response["WWW-Authenticate"].startswith("Bearer")
        for url in urls:
            assert api.get(url, **headers).status_code == 401
    response = api.post("/annotate/api/exports", body, content_type="application/json", **bearer(demoted))
    assert response.status_code == 403 and response.json()["message"] == views_exports.TOKEN_NOT_STAFF
    # a staff session is not a token: the API ignores cookies
    client.force_login(admin_user)
    assert client.post("/annotate/api/exports", body, content_type="application/json").status_code == 401
    assert client.get(urls[0]).status_code == 401
    assert ExportSnapshot.objects.count() == 1


@pytest.mark.django_db
def test_api_rejects_bad_settings_with_the_config_message(api, export_token):
    cases = [
        ({"campaigns": []}, "choose at least one source: campaigns and/or arena"),
        ({"arena": "yes"}, "arena: true or false"),
        ({"arena": True, "since": "soon"}, "since: use a date like 2026-11-30"),
        ({"arena": True, "min_gold_accuracy": 2}, "min_gold_accuracy: a number from 0 to 1"),
        ({"arena": True, "format": "csv"}, "unknown field(s): format"),
        ({"campaigns": ["nope", "c"]}, "campaigns: no campaign with slug nope"),
    ]
    campaign_make(slug="c", n_items=1)
    for body, message in cases:
        response = api.post("/annotate/api/exports", json.dumps(body), content_type="application/json", **bearer(export_token))
        assert response.status_code == 400 and response.json() == {"error": "bad_request", "message": message}, body
    for raw in (b"not json", b"[1, 2]", json.dumps({"arena": True, "name": "x" * 70_000}).encode()):
        response = api.post("/annotate/api/exports", raw, content_type="application/json", **bearer(export_token))
        assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert not ExportSnapshot.objects.exists()


@pytest.mark.django_db
def test_api_rate_limits_creations_per_user(api, export_token, monkeypatch):
    monkeypatch.setattr(views_exports, "CREATIONS_PER_HOUR", 2)
    body = json.dumps({"arena": True})
    codes = [api.post("/annotate/api/exports", body, content_type="application/json", **bearer(export_token)).status_code for _ in range(3)]
    assert codes == [201, 201, 429] and ExportSnapshot.objects.count() == 2


@pytest.mark.django_db
def test_api_status_progress_files_manifest_and_error(api, export_token, export_dir):
    running = snapshot_make(ExportStatus.RUNNING, rows_done=3, rows_total=12)
    data = api.get(f"/annotate/api/exports/{running.pk}", **bearer(export_token)).json()
    assert (data["status"], data["rows_done"], data["rows_total"], data["progress"]) == ("RUNNING", 3, 12, 0.25)
    assert "files" not in data and "manifest" not in data and data["config"]["campaigns"] == ["c"]
    ready = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN}, export_dir=export_dir, manifest={"code_version": "abc"})
    data = api.get(f"/annotate/api/exports/{ready.pk}", **bearer(export_token)).json()
    assert data["status"] == "READY" and data["progress"] == 1.0 and data["manifest"] == {"code_version": "abc"}
    assert data["files"] == [{**_file("train.jsonl", TRAIN), "url": f"http://testserver/annotate/api/exports/{ready.pk}/files/train.jsonl"}]
    failed = snapshot_make(ExportStatus.FAILED, error="disk full")
    assert api.get(f"/annotate/api/exports/{failed.pk}", **bearer(export_token)).json()["error"] == "disk full"
    missing = api.get(f"/annotate/api/exports/{uuid.uuid4()}", **bearer(export_token))
    assert missing.status_code == 404 and missing.json()["error"] == "export_not_found"
    # no listing of all exports for tokens: only GET by (unguessable) id
    assert api.get("/annotate/api/exports", **bearer(export_token)).status_code == 405


@pytest.mark.django_db
def test_api_downloads_ready_files_only(api, export_token, export_dir):
    ready = snapshot_make(ExportStatus.READY, files={"train.jsonl": TRAIN}, export_dir=export_dir)
    response = api.get(f"/annotate/api/exports/{ready.pk}/files/train.jsonl", **bearer(export_token))
    assert response.status_code == 200 and b"".join(response.streaming_content) == TRAIN
    assert response["Content-Disposition"] == 'attachment; filename="train.jsonl"'
    for name in ("test.jsonl", "..%2F..%2Fsettings.py", "../train.jsonl"):
        response = api.get(f"/annotate/api/exports/{ready.pk}/files/{name}", **bearer(export_token))
        assert response.status_code == 404 and response.json()["error"] == "file_not_found", name
    running = snapshot_make(ExportStatus.RUNNING)
    response = api.get(f"/annotate/api/exports/{running.pk}/files/train.jsonl", **bearer(export_token))
    assert response.status_code == 409 and response.json()["error"] == "export_not_ready"


# --- the admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_lists_snapshots_read_only_and_add_opens_the_form(staff, export_dir):
    snapshot = snapshot_make(ExportStatus.RUNNING, rows_done=5, rows_total=10, manifest={"code_version": "abc"})
    changelist = staff.get("/admin/annotate/exportsnapshot/").content.decode()
    assert "hh-clean" in changelist and "5 / 10 (50%)" in changelist and 'href="/annotate/exports/"' in changelist
    change = staff.get(f"/admin/annotate/exportsnapshot/{snapshot.pk}/change/")
    html = change.content.decode()
    assert change.status_code == 200 and "&quot;code_version&quot;: &quot;abc&quot;" in html and 'name="_save"' not in html
    add = staff.get("/admin/annotate/exportsnapshot/add/")
    assert add.status_code == 302 and add.url == "/annotate/exports/new/"
    assert staff.post(f"/admin/annotate/exportsnapshot/{snapshot.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ExportSnapshot.objects.filter(pk=snapshot.pk).exists()
    assert 'href="/admin/annotate/exportsnapshot/add/"' in staff.get("/admin/").content.decode()


# --- end to end, with the engine (the build on a thread, as in the embedded mode) ---------------


@pytest.mark.django_db(transaction=True)
def test_api_export_builds_in_the_background_and_downloads_match_their_checksums(api, export_token, export_dir):
    from tests.annotate.bulk import J, judgments_bulk

    campaign = campaign_make(slug="c", n_items=4, overlap=2)
    judgments_bulk(campaign, [J(1, "ann000001", choice=0), J(1, "ann000002", choice=0), J(2, "ann000001", choice=1), J(3, "ann000002", verdict="TIE")])
    body = {"name": "e2e", "campaigns": ["c"], "formats": ["jsonl", "parquet"]}
    created = api.post("/annotate/api/exports", json.dumps(body), content_type="application/json", **bearer(export_token)).json()

    def finished():
        data = api.get(created["status_url"], **bearer(export_token)).json()
        return data if data["status"] in ("READY", "FAILED") else None

    data = wait_for(finished, timeout=60)
    assert data["status"] == "READY", data.get("error")
    assert data["files"] and data["manifest"]
    for f in data["files"]:
        response = api.get(f["url"], **bearer(export_token))
        content = b"".join(response.streaming_content)
        assert response.status_code == 200 and hashlib.sha256(content).hexdigest() == f["sha256"] and len(content) == f["bytes"]


def test_deleting_an_export_in_the_admin_removes_its_files_and_refuses_one_being_built(
    staff, export_dir, django_capture_on_commit_callbacks
):
    ready = snapshot_make(ExportStatus.READY, files={"preference/train.jsonl": TRAIN, "README.md": README}, export_dir=export_dir)
    running = snapshot_make(ExportStatus.RUNNING, export_dir=export_dir)
    (export_dir / str(running.pk)).mkdir(parents=True)
    url = f"/admin/annotate/exportsnapshot/{ready.pk}/delete/"

    assert staff.get(url).status_code == 200  # the confirmation page
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(url, {"post": "yes"}).status_code == 302

    assert not ExportSnapshot.objects.filter(pk=ready.pk).exists()
    assert not (export_dir / str(ready.pk)).exists()
    assert staff.get(f"/admin/annotate/exportsnapshot/{running.pk}/delete/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/admin/annotate/exportsnapshot/", {"action": "delete_selected", "_selected_action": [str(running.pk)], "post": "yes"})
    assert ExportSnapshot.objects.filter(pk=running.pk).exists() and (export_dir / str(running.pk)).is_dir()
    # from the change page's Delete button: back to the list and its filters, not the admin's index
    other = snapshot_make(ExportStatus.READY, files={"README.md": README}, export_dir=export_dir)
    filtered = "?_changelist_filters=status__exact%3DREADY"
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/admin/annotate/exportsnapshot/{other.pk}/delete/{filtered}", {"post": "yes"})
    assert response.status_code == 302 and response["Location"] == "/admin/annotate/exportsnapshot/?status__exact=READY"
    assert not ExportSnapshot.objects.filter(pk=other.pk).exists()
    assert "was deleted" in staff.get(response["Location"]).content.decode()


def test_export_delete_refuses_a_build_in_progress_and_keeps_its_folder(db, export_dir):
    from annotate.errors import ExportBusy
    from annotate.exports.service import export_delete

    running = snapshot_make(ExportStatus.RUNNING, files={"README.md": README}, export_dir=export_dir)
    with pytest.raises(ExportBusy):
        export_delete(snapshot_id=running.pk)
    assert (export_dir / str(running.pk) / "README.md").is_file()
