from django.urls import path

from arena import views, views_leaderboard

app_name = "arena"
urlpatterns = [
    path("", views.index, name="index"),
    path("api/battles", views.battle_create, name="battle-create"),
    path("api/battles/current", views.battle_current, name="battle-current"),
    path("api/battles/<uuid:battle_id>", views.battle_detail, name="battle-detail"),
    path("api/battles/<uuid:battle_id>/turns", views.turn_create, name="turn-create"),
    path("api/battles/<uuid:battle_id>/vote", views.vote_create, name="vote-create"),
    path("leaderboard/", views_leaderboard.leaderboard_page, name="leaderboard"),
    path("leaderboard/board", views_leaderboard.leaderboard_partial, name="leaderboard-partial"),
    path("leaderboard/refit", views_leaderboard.leaderboard_refit, name="leaderboard-refit"),
    path("api/leaderboard.json", views_leaderboard.leaderboard_api, {"fmt": "json"}, name="leaderboard-json"),
    path("api/leaderboard.csv", views_leaderboard.leaderboard_api, {"fmt": "csv"}, name="leaderboard-csv"),
]
