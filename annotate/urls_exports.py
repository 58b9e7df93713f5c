"""Dataset exports under /annotate/: staff pages (exports/…) and the token API (api/exports…).
Included before urls_work, so "exports" and "api" are not taken as campaign slugs here."""
from django.urls import path

from annotate import views_exports as views

urlpatterns = [
    path("exports/", views.exports_page, name="exports"),
    path("exports/new/", views.export_new, name="export-new"),
    path("exports/<uuid:export_id>/", views.export_detail, name="export-detail"),
    path("exports/<uuid:export_id>/status.json", views.export_status, name="export-status"),
    path("exports/<uuid:export_id>/files/<path:name>", views.export_file, name="export-file"),
    path("api/exports", views.api_export_create, name="api-exports"),
    path("api/exports/<uuid:export_id>", views.api_export_get, name="api-export"),
    path("api/exports/<uuid:export_id>/files/<path:name>", views.api_export_file, name="api-export-file"),
]
