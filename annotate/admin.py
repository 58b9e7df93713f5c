"""Campaign admin. A campaign is created by importing a file ("Add campaign" opens the import
form, which runs the same service as `manage.py import_campaign`); items, candidates,
assignments and annotations are records, read-only here (annotations are immutable, DESIGN
invariant 2). Annotators are shown by pseudonym only."""
import json
import re
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import models
from django.shortcuts import redirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from annotate.importing import CampaignImportRejected, CampaignSpec, campaign_import
from annotate.models import (
    Annotation,
    Annotator,
    AnnotatorStatus,
    Assignment,
    Campaign,
    CampaignStatus,
    Candidate,
    Item,
    ItemOrder,
)
from annotate.questions import QuestionsInvalid, questions_from_json
from annotate.services import annotator_resume
from annotate.views_work import CROWD_PARAMS
from arena.admin import ReadOnlyAdmin

# Imports in a request should stay short; bigger files go through `manage.py import_campaign`,
# which reports progress. ~20k two-candidate items import in a few seconds (BENCHMARKS.md).
ADMIN_UPLOAD_MAX_BYTES = 50 * 1024 * 1024

IMPORT_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block content %}
<p>Items in JSONL, CSV or Parquet, optionally with judgments made elsewhere (README, "Creating a campaign").
Every row is checked first; a file with any bad row imports nothing. For files over {{ max_mb }} MB use
<code>manage.py import_campaign</code>.</p>
{% if errors %}<div class="errornote">Nothing was imported{% if summary %} ({{ summary }}){% endif %}:<ul>{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul></div>{% endif %}
<form method="post" enctype="multipart/form-data">{% csrf_token %}
<table>{{ form.as_table }}</table>
<div class="submit-row"><input type="submit" class="default" value="Import"></div>
</form>
{% endblock %}"""
)


class CampaignImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL, CSV or Parquet (by extension).")
    slug = forms.SlugField(max_length=60)
    title = forms.CharField(max_length=200, required=False)
    overlap = forms.IntegerField(min_value=1, max_value=1000, initial=3, help_text="Judgments wanted per item; imported ones count.")
    lease_s = forms.IntegerField(min_value=30, initial=1800, label="Lease (s)")
    gold_rate = forms.FloatField(min_value=0, max_value=1, initial=0.0)
    quota = forms.IntegerField(min_value=0, initial=0, help_text="Items per annotator; 0 = no limit.")
    item_order = forms.ChoiceField(choices=ItemOrder.choices, initial=ItemOrder.CLOSEST_FIRST)
    # Active, as `manage.py import_campaign` and the README: Draft hides it from everyone but staff.
    status = forms.ChoiceField(choices=CampaignStatus.choices, initial=CampaignStatus.ACTIVE)
    questions = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False, help_text="JSON; empty = the default questions.")
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, help_text="Markdown.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > ADMIN_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(f"Files over {ADMIN_UPLOAD_MAX_BYTES // 2**20} MB: use manage.py import_campaign.")
        return upload

    def clean_questions(self):
        text = self.cleaned_data["questions"].strip()
        if not text:
            return None
        try:
            data = json.loads(text)
            questions_from_json(data)
        except (ValueError, QuestionsInvalid) as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def spec(self) -> CampaignSpec:
        data = self.cleaned_data
        return CampaignSpec(
            slug=data["slug"], title=data["title"], overlap=data["overlap"], lease_s=data["lease_s"],
            gold_rate=data["gold_rate"], quota=data["quota"], questions=data["questions"],
            instructions=data["instructions"], item_order=data["item_order"], status=data["status"],
        )  # fmt: skip


# A rejection's reasons start with where they are ("line 7: …", "rows 4–6: …") when they are
# about rows; a problem with the options or the whole file (slug taken, unknown format, a
# missing column) has no such prefix and is no "bad row".
_ROW_REASON = re.compile(r"(?:lines?|rows?) \d")


def import_rejection_summary(exc: CampaignImportRejected) -> str:
    """"3 bad rows" (and how many are listed) when the reasons are about rows; "" otherwise."""
    if not any(_ROW_REASON.match(reason) for reason in exc.errors):
        return ""
    summary = f"{exc.n_bad} bad row{'' if exc.n_bad == 1 else 's'}"
    return summary + (f"; the first {len(exc.errors)} listed" if exc.n_bad > len(exc.errors) else "")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def campaign_links(request, campaign: Campaign) -> dict:
    """Absolute, ready-to-paste links for a campaign's admin page: the invitation, the crowd
    study link with Prolific's placeholders ({{%PROLIFIC_PID%}} …), the dashboard and work page."""
    invite = request.build_absolute_uri(reverse("annotate:work-join", args=[campaign.slug, campaign.invite_token]))
    placeholders = "&".join(f"{name}={{{{%{name}%}}}}" for name in CROWD_PARAMS)
    return {
        "crowd": f"{invite}?{placeholders}",
        "invite": invite,
        "dashboard": reverse("annotate:dashboard", args=[campaign.slug]),
        "work": reverse("annotate:work-campaign", args=[campaign.slug]),
    }


def _upload_import(upload, spec: CampaignSpec):
    """Spool the upload to a named file (the importer reads it twice), keeping its extension."""
    suffix = Path(upload.name).suffix.lower()
    with tempfile.NamedTemporaryFile(suffix=suffix) as spool:
        for chunk in upload.chunks():
            spool.write(chunk)
        spool.flush()
        return campaign_import(path=Path(spool.name), spec=spec)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "overlap", "item_order", "created_at", "dashboard_link")
    list_filter = ("status",)
    search_fields = ("slug", "title")
    # The items' open/closed state was computed with this overlap, and stored answers follow
    # these questions: both are fixed at import.
    readonly_fields = ("overlap", "questions", "invite_token", "created_at", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    change_form_template = "annotate/admin_campaign_change.html"

    @admin.display(description="Dashboard")
    def dashboard_link(self, obj):
        return format_html('<a href="{}">dashboard</a>', reverse("annotate:dashboard", args=[obj.slug]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, unquote(object_id))
        if campaign is not None:
            extra_context = {**(extra_context or {}), "campaign_links": campaign_links(request, campaign)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="annotate_campaign_import")] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:annotate_campaign_import")

    def import_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        errors, summary = [], ""
        form = CampaignImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                report = _upload_import(form.cleaned_data["file"], form.spec())
            except CampaignImportRejected as exc:
                errors, summary = exc.errors, import_rejection_summary(exc)
            else:
                judgments = f" and {_n(report.n_judgments, 'judgment')} by {_n(report.n_annotators, 'annotator')}" if report.n_judgments else ""
                messages.success(request, f"Imported {_n(report.n_items, 'item')} ({report.n_gold} gold){judgments}.")
                return redirect(reverse("admin:annotate_campaign_change", args=[report.campaign_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a campaign",
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "summary": summary,
            "max_mb": ADMIN_UPLOAD_MAX_BYTES // 2**20,
        }
        return TemplateResponse(request, IMPORT_PAGE, context)


class CandidateInline(admin.TabularInline):
    model = Candidate
    extra = 0
    fields = ("index", "model", "text", "meta")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "campaign", "position", "external_id", "is_gold", "n_submitted", "n_leased", "is_open")
    list_filter = ("campaign", "is_gold", "is_open")
    search_fields = ("external_id", "prompt")
    inlines = [CandidateInline]


@admin.register(Annotator)
class AnnotatorAdmin(ReadOnlyAdmin):
    """Pseudonyms only: no user name, no platform ids (even hashed)."""

    list_display = ("pseudonym", "campaign", "kind", "status", "n_submitted", "n_gold", "n_gold_correct", "joined_at")
    list_filter = ("campaign", "kind", "status")
    search_fields = ("pseudonym",)
    fields = ("pseudonym", "campaign", "kind", "status", "paused_reason", "n_submitted", "n_gold", "n_gold_correct", "joined_at")
    readonly_fields = fields
    actions = ["resume"]

    @admin.action(description="Resume paused annotators (gold counters restart)")
    def resume(self, request, queryset):
        paused = queryset.filter(status=AnnotatorStatus.PAUSED)
        for annotator in paused:
            annotator_resume(annotator_id=annotator.pk, campaign_id=annotator.campaign_id)
        self.message_user(request, f"Resumed {_n(len(paused), 'annotator')}.")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "item", "annotator", "state", "leased_at", "expires_at", "ended_at")
    list_filter = ("state",)
    exclude = ("draft",)  # an annotator's unsent typing


@admin.register(Annotation)
class AnnotationAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "verdict", "choice", "strength", "source", "created_at")
    list_filter = ("verdict", "source")
from annotate import admin_exports  # noqa: E402,F401  (ExportSnapshot in the admin)
