from django.urls import path

from arena.consumers import ArenaConsumer, LeaderboardConsumer

websocket_urlpatterns = [
    path("ws/arena/", ArenaConsumer.as_asgi()),
    path("ws/leaderboard/", LeaderboardConsumer.as_asgi()),
]
