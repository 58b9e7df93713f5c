"""Staff in a real browser: the exports page moves a running export's progress bar by itself,
shows the download links when it finishes, and downloads the file; the new-export form creates
an export. Screenshots go to test-output/."""
import hashlib

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from annotate.exports.config import export_config_from_json
from annotate.models import ExportSnapshot, ExportStatus
from tests.annotate.factories import campaign_make
from tests.support.server import asgi_server

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TRAIN = b'{"prompt": "Name a prime.", "chosen": "7", "rejected": "8"}\n' * 3


def _snapshot(name: str, status: str, **fields) -> ExportSnapshot:
    config = export_config_from_json({"name": name, "campaigns": ["hh"], "arena": True, "unit": "item"}).to_json()
    return ExportSnapshot.objects.create(name=name, config=config, status=status, **fields)


def test_exports_page_shows_live_progress_then_downloads(browser, output_dir, admin_user, tmp_path):
    admin_user.password = make_password("pw-admin-123", hasher="pbkdf2_sha256")
    admin_user.save()
    campaign_make(slug="hh", n_items=3)
    export_dir = tmp_path / "exports"
    digest = hashlib.sha256(TRAIN).hexdigest()
    _snapshot("hh-nightly", ExportStatus.READY, rows_done=3, rows_total=3,
              files=[{"name": "train.jsonl", "bytes": len(TRAIN), "sha256": digest, "rows": 3}])  # fmt: skip
    _snapshot("broken", ExportStatus.FAILED, error="campaign 'gone' does not exist")
    running = _snapshot("hh-by-item", ExportStatus.RUNNING, rows_done=1200, rows_total=4800)
    with asgi_server(output_dir / "e2e-export-server.log", EXPORT_DIR=str(export_dir)) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/annotate/exports/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "pw-admin-123")
        page.keyboard.press("Enter")
        page.wait_for_url(url + "/annotate/exports/")
        row = page.locator(f'tr[data-export="{running.pk}"]')
        expect(row.locator(".progress-text")).to_contain_text("1,200 / 4,800 (25%)")

        # the build moves on: the bar follows without a reload
        ExportSnapshot.objects.filter(pk=running.pk).update(rows_done=3600)
        expect(row.locator(".progress-text")).to_contain_text("75%", timeout=10_000)
        assert row.locator("progress").evaluate("el => el.value") == 0.75
        page.screenshot(path=str(output_dir / "exports.png"), full_page=True)

        # it finishes: the page shows its files
        (export_dir / str(running.pk)).mkdir(parents=True)
        (export_dir / str(running.pk) / "train.jsonl").write_bytes(TRAIN)
        ExportSnapshot.objects.filter(pk=running.pk).update(
            status=ExportStatus.READY, rows_done=4800, files=[{"name": "train.jsonl", "bytes": len(TRAIN), "sha256": digest, "rows": 3}]
        )
        link = page.locator(f'tr[data-export="{running.pk}"] a[href$="/files/train.jsonl"]')
        expect(link).to_be_visible(timeout=10_000)
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "train.jsonl"
        assert open(download.value.path(), "rb").read() == TRAIN
        page.click(f'a[href="/annotate/exports/{running.pk}/"]')
        expect(page.locator("code.sha")).to_have_text(digest)
        page.screenshot(path=str(output_dir / "export-detail.png"), full_page=True)

        page.goto(url + "/annotate/exports/new/")
        expect(page.locator("#id_aggregation")).to_be_disabled()
        page.check('input[name=unit][value="item"]')
        expect(page.locator("#id_aggregation")).to_be_enabled()
        expect(page.locator(".field-licence_other")).to_be_hidden()
        page.check('input[name=campaigns][value="hh"]')
        page.fill("#id_name", "from-the-form")
        page.select_option("#id_aggregation", "competence")
        page.screenshot(path=str(output_dir / "export-new.png"), full_page=True)
        page.click(".export-form button[type=submit]")  # (the first submit button on the page signs out)
        page.wait_for_url(url + "/annotate/exports/")
        expect(page.locator(".notice")).to_contain_text("from-the-form")
        created = ExportSnapshot.objects.get(name="from-the-form")
        assert created.config["unit"] == "item" and created.config["aggregation"] == "competence" and created.created_by == admin_user

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(url + "/annotate/exports/")
        page.screenshot(path=str(output_dir / "exports-phone.png"), full_page=False)
        assert errors == []
