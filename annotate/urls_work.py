"""Annotators' pages and JSON API, under /annotate/ (the staff dashboard's live under
/annotate/<slug>/dashboard/ and /annotate/<slug>/items/, in urls_dashboard)."""
from django.urls import path

from annotate import views_work

urlpatterns = [
    path("", views_work.work_index, name="work-index"),
    path("<slug:slug>/", views_work.campaign_page, name="work-campaign"),
    path("<slug:slug>/join/<str:token>/", views_work.join, name="work-join"),
    path("<slug:slug>/done/", views_work.done, name="work-done"),
    path("<slug:slug>/api/current", views_work.api_current, name="work-api-current"),
    path("<slug:slug>/api/assignments/<int:assignment_id>/submit", views_work.api_submit, name="work-api-submit"),
    path("<slug:slug>/api/assignments/<int:assignment_id>/skip", views_work.api_skip, name="work-api-skip"),
    path("<slug:slug>/api/assignments/<int:assignment_id>/draft", views_work.api_draft, name="work-api-draft"),
]
