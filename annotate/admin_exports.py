"""Dataset exports in the admin: snapshots are records written by the build (settings, progress,
files, manifest), read-only here; deleting one deletes its files too (not while it is built).
"Add" opens the exports page's form, which validates the settings the same way as the API and
`manage.py export`; the list links to the exports page."""
import json

from django.contrib import admin, messages
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from annotate.errors import ExportBusy
from annotate.exports.service import export_delete
from annotate.models import ExportSnapshot, ExportStatus


def _pretty(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


@admin.register(ExportSnapshot)
class ExportSnapshotAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "progress", "created_by", "created_at", "page_link")
    list_filter = ("status",)
    search_fields = ("name", "id")
    fields = (
        "id", "name", "status", "progress", "page_link", "created_by", "created_at", "started_at", "finished_at",
        "upto_annotation_id", "upto_vote_id", "error", "config_json", "files_json", "manifest_json",
    )  # fmt: skip
    readonly_fields = fields
    change_list_template = "annotate/export_admin_change_list.html"

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("annotate:export-new")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Not while a build writes its folder (export_delete refuses that too).
        return super().has_delete_permission(request, obj) and (obj is None or obj.status != ExportStatus.RUNNING)

    def response_delete(self, request, obj_display, obj_id):
        # Django sends users without the change permission (nobody has it here) to the admin
        # index; back to the list instead, with its filters
        self.message_user(request, f"The export “{obj_display}” was deleted.", messages.SUCCESS)
        url = reverse("admin:annotate_exportsnapshot_changelist")
        return redirect(add_preserved_filters({"preserved_filters": self.get_preserved_filters(request), "opts": self.opts}, url))

    def delete_model(self, request, obj):
        export_delete(snapshot_id=obj.pk)  # the row and its files

    def delete_queryset(self, request, queryset):
        busy = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                export_delete(snapshot_id=pk)
            except ExportBusy:
                busy += 1
        if busy:
            self.message_user(request, f"{busy} export(s) being built were not deleted.", messages.WARNING)

    @admin.display(description="Progress")
    def progress(self, obj: ExportSnapshot) -> str:
        if obj.status == ExportStatus.READY:
            return f"{obj.rows_done:,} judgments read"
        if not obj.rows_total:
            return "–"
        return f"{obj.rows_done:,} / {obj.rows_total:,} ({obj.rows_done / obj.rows_total:.0%})"

    @admin.display(description="Exports page")
    def page_link(self, obj: ExportSnapshot) -> str:
        return format_html('<a href="{}">open</a>', reverse("annotate:export-detail", args=[obj.pk]))

    @admin.display(description="Settings")
    def config_json(self, obj: ExportSnapshot) -> str:
        return _pretty(obj.config)

    @admin.display(description="Files")
    def files_json(self, obj: ExportSnapshot) -> str:
        return _pretty(obj.files)

    @admin.display(description="Manifest")
    def manifest_json(self, obj: ExportSnapshot) -> str:
        return _pretty(obj.manifest)
