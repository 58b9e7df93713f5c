from django.urls import path

from arena import views

app_name = "arena"
urlpatterns = [
    path("", views.index, name="index"),
    path("api/battles", views.battle_create, name="battle-create"),
    path("api/battles/current", views.battle_current, name="battle-current"),
    path("api/battles/<uuid:battle_id>", views.battle_detail, name="battle-detail"),
    path("api/battles/<uuid:battle_id>/turns", views.turn_create, name="turn-create"),
    path("api/battles/<uuid:battle_id>/vote", views.vote_create, name="vote-create"),
]
