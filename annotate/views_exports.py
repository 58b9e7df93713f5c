"""Dataset exports (issue 5) over HTTP: the staff pages (list with live progress, new-export form,
detail, downloads) and the JSON API for scripts (`Authorization: Bearer <token>` with the EXPORT
scope, no session, no CSRF). Every view parses its input, makes one service call or one read of
ExportSnapshot, and shapes the answer; the settings are validated by
`annotate.exports.config.export_config_from_json`, the same as for `manage.py export`."""
import functools
import json
from pathlib import Path, PurePosixPath

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotate.errors import BadRequest, ExportNotFound, ExportNotReady, NoSuchExportFile, RateLimited
from annotate.exports.config import AGGREGATIONS, FORMATS, ExportConfigInvalid, export_config_from_json
from annotate.exports.service import export_create
from annotate.models import Campaign, ExportSnapshot, ExportStatus
from annotate.views_dashboard import staff_only
from arena.http import json_api, json_body
from arena.models import ApiToken, Contender
from arena.ratelimit import rate_limit_hit
from arena.tokens import token_user

PER_PAGE = 50
# A build reads every matching judgment (up to minutes on millions of rows): 30 an hour per user
# is far more than a person or a nightly script needs, and bounds what a leaked token can queue.
CREATIONS_PER_HOUR = 30
OTHER = "other"
LICENCES = [
    ("CC-BY-4.0", "CC BY 4.0"), ("CC-BY-SA-4.0", "CC BY-SA 4.0"), ("CC-BY-NC-4.0", "CC BY-NC 4.0"),
    ("CC0-1.0", "CC0 1.0 (public domain)"), ("ODC-By-1.0", "ODC-By 1.0"), ("CDLA-Permissive-2.0", "CDLA Permissive 2.0"),
    ("Apache-2.0", "Apache 2.0"), ("MIT", "MIT"), (OTHER, "Other…"),
]  # fmt: skip
LIVE = (ExportStatus.PENDING, ExportStatus.RUNNING)


TOKEN_REQUIRED = "Send Authorization: Bearer <token>, a token with the EXPORT scope (manage.py create_api_token USER --scope export)."
TOKEN_NOT_STAFF = "This token's user is no longer staff."


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class ExportForm(forms.Form):
    """The admin's form: its fields map one to one onto ExportConfig (whose docstring explains
    them); `clean` validates through export_config_from_json and leaves the result in `config`."""

    name = forms.CharField(max_length=100, initial="export", help_text="Goes into the manifest and the dataset card.")
    campaigns = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    arena = forms.BooleanField(required=False, label="Arena votes")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Judged on or after.")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Judged on or before.")
    contenders = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, label="Models",
                                           help_text="Rows whose chosen or rejected response came from one of these; none ticked: all.")  # fmt: skip
    contenders_other = forms.CharField(required=False, label="Other models", help_text="Comma-separated, e.g. the models named on imported candidates.")
    categories = forms.CharField(required=False, help_text="Comma-separated: arena categories or the items' meta category; empty: all.")
    min_item_agreement = forms.FloatField(min_value=0, max_value=1, initial=0, help_text="Share of an item's judgments that agree with its majority (0–1).")
    min_gold_accuracy = forms.FloatField(min_value=0, max_value=1, initial=0, help_text="Annotators' accuracy on gold items (0–1); those without gold answers pass.")
    exclude_ties = forms.BooleanField(required=False, label="Exclude ties")
    exclude_both_bad = forms.BooleanField(required=False, label="Exclude “both bad”")
    exclude_gold = forms.BooleanField(required=False, label="Exclude gold items")
    exclude_flagged = forms.BooleanField(required=False, label="Exclude flagged judgments", help_text="Unsafe, personal data, …")
    unit = forms.ChoiceField(widget=forms.RadioSelect, initial="judgment",
                             choices=[("judgment", "One row per judgment"), ("item", "One row per item, aggregated")])  # fmt: skip
    aggregation = forms.ChoiceField(initial="majority", help_text="For one row per item.", choices=[
        ("majority", "Majority vote"), ("strength", "Strength-weighted"), ("competence", "Weighted by annotator competence")])  # fmt: skip
    formats = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, initial=list(FORMATS), choices=[(f, f) for f in FORMATS])
    form = forms.ChoiceField(widget=forms.RadioSelect, initial="text", label="Form", choices=[
        ("text", "Plain text: prompt / chosen / rejected"), ("conversational", "Conversational: messages")])  # fmt: skip
    kto = forms.BooleanField(required=False, label="Also KTO rows", help_text="Unpaired prompt / completion / label; “both bad” gives negatives.")
    test_fraction = forms.FloatField(min_value=0, max_value=1, initial=0, help_text="Share of prompts in the test split, below 1 (no prompt in both); 0: no split.")
    scrub_pii = forms.BooleanField(required=False, label="Scrub personal data", help_text="E-mail addresses, phone numbers and similar in free text.")
    licence = forms.ChoiceField(choices=LICENCES, initial="CC-BY-4.0", help_text="Named in the dataset card.")
    licence_other = forms.CharField(required=False, max_length=100, label="Other licence")

    GROUPS = [
        ("Sources", ["campaigns", "arena"]),
        ("Filters", ["since", "until", "contenders", "contenders_other", "categories", "min_item_agreement", "min_gold_accuracy",
                     "exclude_ties", "exclude_both_bad", "exclude_gold", "exclude_flagged"]),
        ("Unit", ["unit", "aggregation"]),
        ("Files", ["formats", "form", "kto", "test_fraction", "scrub_pii"]),
        ("Dataset card", ["name", "licence", "licence_other"]),
    ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = None
        self.fields["campaigns"].choices = [(slug, f"{slug} — {title}" if title else slug) for slug, title in Campaign.objects.order_by("slug").values_list("slug", "title")]
        # Contender slugs only: the candidates' model names would be a scan of the largest table
        # on every page view; they are typed into contenders_other.
        self.fields["contenders"].choices = [(m, m) for m in Contender.objects.order_by("slug").values_list("slug", flat=True)]
        self.fields["aggregation"].choices = [c for c in self.fields["aggregation"].choices if c[0] in AGGREGATIONS]

    def groups(self) -> list[tuple[str, list]]:
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        licence = data["licence"]
        if licence == OTHER:
            licence = data["licence_other"].strip()
            if not licence:
                self.add_error("licence_other", "Name the licence, e.g. CC-BY-NC-SA-4.0.")
                return data
        payload = {name: data[name] for name in ("name", "arena", "min_item_agreement", "min_gold_accuracy", "exclude_ties",
                                                 "exclude_both_bad", "exclude_gold", "exclude_flagged", "unit", "aggregation",
                                                 "form", "kto", "test_fraction", "scrub_pii")}  # fmt: skip
        payload.update(
            campaigns=list(data["campaigns"]), formats=list(data["formats"]), licence=licence,
            contenders=list(data["contenders"]) + _split(data["contenders_other"]), categories=_split(data["categories"]),
            since=data["since"].isoformat() if data["since"] else None, until=data["until"].isoformat() if data["until"] else None,
        )  # fmt: skip
        try:
            self.config = export_config_from_json(payload)
        except ExportConfigInvalid as exc:
            self.add_config_error(exc)
        return data

    def add_config_error(self, exc: ExportConfigInvalid) -> None:
        """At the field the message names ("until: must be on or after …"), else above the form."""
        name, _, reason = str(exc).partition(": ")
        if name in self.fields and reason:
            self.add_error(name, capfirst(reason) + ".")
        else:
            self.add_error(None, capfirst(str(exc)) + ".")


# --- reading snapshots -------------------------------------------------------------------------


def _progress(snapshot: ExportSnapshot) -> float | None:
    """0–1, or None while the amount of work is unknown."""
    if snapshot.status == ExportStatus.READY:
        return 1.0
    if not snapshot.rows_total:
        return None
    return min(1.0, snapshot.rows_done / snapshot.rows_total)


def _progress_text(snapshot: ExportSnapshot) -> str:
    """As the page's script writes it (export.js render())."""
    if not snapshot.rows_total:
        return "waiting…"
    return f"{snapshot.rows_done:,} / {snapshot.rows_total:,} ({int(100 * _progress(snapshot))}%)"


def _status_json(snapshot: ExportSnapshot) -> dict:
    return {
        "id": str(snapshot.pk), "status": snapshot.status, "rows_done": snapshot.rows_done,
        "rows_total": snapshot.rows_total, "progress": _progress(snapshot),
    }  # fmt: skip


def _sources(config: dict) -> list[str]:
    return list(config.get("campaigns") or []) + (["arena votes"] if config.get("arena") else [])


def _files(snapshot: ExportSnapshot, route: str) -> list[dict]:
    return [{**f, "url": reverse(route, args=[snapshot.pk, f["name"]])} for f in snapshot.files]


def _no_rows(snapshot: ExportSnapshot) -> bool:
    """READY with no data file: nothing matched (the card and manifest have rows None)."""
    return snapshot.status == ExportStatus.READY and not any(f.get("rows") for f in snapshot.files)


def _counts(nested: dict, unit: str = "") -> list[tuple[str, str]]:
    """The manifest's {kind: {split or reason: n}} as ("kind[, unit]", "name: n, …") lines."""
    return [
        (f"{kind}, {unit}" if unit else kind, ", ".join(f"{name}: {n:,}" for name, n in sorted(counts.items())) or "none")
        for kind, counts in sorted(nested.items()) if isinstance(counts, dict)
    ]  # fmt: skip


def _manifest_summary(manifest: dict) -> list[tuple[str, str]]:
    """Top-level scalars, and small objects of scalars on one line; the rest is in the full JSON."""
    summary = []
    for key, value in manifest.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            summary.append((key, str(value)))
        elif isinstance(value, dict) and len(value) <= 20 and all(isinstance(v, (str, int, float, bool)) for v in value.values()):
            summary.append((key, ", ".join(f"{k}: {v}" for k, v in value.items())))
    return summary


def _file_path(snapshot: ExportSnapshot, name: str) -> Path | None:
    """The file `name` of a READY snapshot, or None. The engine's lookup refuses unlisted names;
    the folder check is a second lock, should a listed name ever hold `..` or a link."""
    # Imported here: the build module brings pyarrow, which pages that never download don't need.
    from annotate.exports.build import ExportFileNotFound, export_dir, export_file_path

    try:
        path = export_file_path(snapshot, name).resolve()
    except ExportFileNotFound:
        return None
    return path if path.is_relative_to(export_dir(snapshot.pk).resolve()) and path.is_file() else None


def _download(path: Path, name: str) -> FileResponse:
    return FileResponse(path.open("rb"), as_attachment=True, filename=PurePosixPath(name).name)


# --- staff pages -------------------------------------------------------------------------------


@staff_only
@require_GET
def exports_page(request):
    snapshots = ExportSnapshot.objects.select_related("created_by").defer("manifest")  # schemas: kilobytes per row
    page = Paginator(snapshots, PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"snapshot": s, "sources": _sources(s.config), "progress": _progress(s), "progress_text": _progress_text(s),
         "live": s.status in LIVE, "files": _files(s, "annotate:export-file") if s.status == ExportStatus.READY else [],
         "no_rows": _no_rows(s)}
        for s in page
    ]  # fmt: skip
    return render(request, "annotate/exports.html", {"page": page, "rows": rows})


@staff_only
@require_http_methods(["GET", "POST"])
def export_new(request):
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if rate_limit_hit(key=f"export-create:{request.user.pk}", limit=CREATIONS_PER_HOUR, window_s=3600):
            form.add_error(None, RateLimited.message)
        else:
            try:
                snapshot = export_create(config=form.config, user=request.user)
            except ExportConfigInvalid as exc:  # a campaign deleted since the form was checked
                form.add_config_error(exc)
            else:
                messages.success(request, f"Export “{snapshot.name}” queued.")
                return redirect("annotate:exports")
    return render(request, "annotate/export_new.html", {"form": form}, status=400 if form.errors else 200)


@staff_only
@require_GET
def export_detail(request, export_id):
    snapshot = get_object_or_404(ExportSnapshot.objects.select_related("created_by"), pk=export_id)
    manifest = snapshot.manifest or {}
    skipped = manifest.get("skipped", {})
    context = {
        "snapshot": snapshot, "sources": _sources(snapshot.config), "progress": _progress(snapshot),
        "progress_text": _progress_text(snapshot),
        "live": snapshot.status in LIVE, "config_rows": [(k, json.dumps(v, ensure_ascii=False)) for k, v in sorted(snapshot.config.items())],
        "files": _files(snapshot, "annotate:export-file") if snapshot.status == ExportStatus.READY else [],
        "manifest_summary": _manifest_summary(manifest), "no_rows": _no_rows(snapshot),
        "rows_written": _counts(manifest.get("rows", {})), "left_out": _counts(skipped, skipped.get("unit", "")),
        "manifest_json": json.dumps(snapshot.manifest, indent=2, sort_keys=True, ensure_ascii=False),
    }  # fmt: skip
    return render(request, "annotate/export_detail.html", context)


@staff_only
@require_GET
def export_status(request, export_id):
    return JsonResponse(_status_json(get_object_or_404(ExportSnapshot, pk=export_id)))


@staff_only
@require_GET
def export_file(request, export_id, name: str):
    snapshot = get_object_or_404(ExportSnapshot, pk=export_id)
    path = _file_path(snapshot, name)
    if path is None:
        raise Http404("This export has no such file.")
    return _download(path, name)


# --- JSON API for scripts ----------------------------------------------------------------------


def export_token_required(view):
    """The EXPORT-scope token's user as `request.user`, staff only; the session is ignored, so the
    API needs no CSRF token (and a browser's cookies grant nothing here)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = token_user(header=request.headers.get("Authorization", ""), scope=ApiToken.Scope.EXPORT)
        if user is None:
            response = JsonResponse({"error": "unauthorized", "message": TOKEN_REQUIRED}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="exports", scope="EXPORT"'
            return response
        if not user.is_staff:
            return JsonResponse({"error": "forbidden", "message": TOKEN_NOT_STAFF}, status=403)
        request.user = user
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapped)


def _snapshot_for_api(export_id) -> ExportSnapshot:
    snapshot = ExportSnapshot.objects.filter(pk=export_id).first()
    if snapshot is None:
        raise ExportNotFound()
    return snapshot


@export_token_required
@require_POST
@json_api
def api_export_create(request):
    """POST /annotate/api/exports, body: ExportConfig as JSON → 201 {id, status, status_url}."""
    try:
        config = export_config_from_json(json_body(request))
    except ExportConfigInvalid as exc:
        raise BadRequest(str(exc)) from None
    if rate_limit_hit(key=f"export-create:{request.user.pk}", limit=CREATIONS_PER_HOUR, window_s=3600):
        raise RateLimited()
    try:
        snapshot = export_create(config=config, user=request.user)
    except ExportConfigInvalid as exc:
        raise BadRequest(str(exc)) from None
    status_url = request.build_absolute_uri(reverse("annotate:api-export", args=[snapshot.pk]))
    response = JsonResponse({"id": str(snapshot.pk), "status": snapshot.status, "status_url": status_url}, status=201)
    response["Location"] = status_url
    return response


@export_token_required
@require_GET
@json_api
def api_export_get(request, export_id):
    """GET /annotate/api/exports/<id>: status and progress; files (with URLs) and manifest once READY."""
    snapshot = _snapshot_for_api(export_id)
    data = _status_json(snapshot) | {
        "name": snapshot.name, "config": snapshot.config, "created_at": snapshot.created_at.isoformat(),
        "started_at": snapshot.started_at and snapshot.started_at.isoformat(),
        "finished_at": snapshot.finished_at and snapshot.finished_at.isoformat(),
    }  # fmt: skip
    if snapshot.status == ExportStatus.READY:
        data["files"] = [{**f, "url": request.build_absolute_uri(f["url"])} for f in _files(snapshot, "annotate:api-export-file")]
        data["manifest"] = snapshot.manifest
    if snapshot.status == ExportStatus.FAILED:
        data["error"] = snapshot.error
    return JsonResponse(data)


@export_token_required
@require_GET
@json_api
def api_export_file(request, export_id, name: str):
    snapshot = _snapshot_for_api(export_id)
    if snapshot.status != ExportStatus.READY:
        raise ExportNotReady()
    path = _file_path(snapshot, name)
    if path is None:
        raise NoSuchExportFile()
    return _download(path, name)
