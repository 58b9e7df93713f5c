"""Annotation URLs: the annotators' pages and API (urls_work) and the staff dashboard (urls_dashboard)."""
from django.urls import include, path

app_name = "annotate"
urlpatterns = [
    path("", include("annotate.urls_exports")),
    path("", include("annotate.urls_work")),
    path("", include("annotate.urls_dashboard")),
]
