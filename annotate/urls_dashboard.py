"""Staff pages of a campaign: the live dashboard, its partial and JSON, one item's judgments."""
from django.urls import path

from annotate import views_dashboard as views

urlpatterns = [
    path("<slug:slug>/dashboard/", views.dashboard_page, name="dashboard"),
    path("<slug:slug>/dashboard/board/", views.dashboard_partial, name="dashboard-board"),
    path("<slug:slug>/dashboard.json", views.dashboard_json, name="dashboard-json"),
    path("<slug:slug>/annotators/<int:annotator_id>/resume/", views.annotator_resume_view, name="annotator-resume"),
    path("<slug:slug>/items/<int:position>/", views.item_page, name="item"),
]
