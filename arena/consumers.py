"""The arena WebSocket: authenticates by session, joins the owner's group, forwards events.

Commands (start, continue, vote) go over HTTP with CSRF; this socket only carries live
events: battle.token, battle.side_reset, battle.side_done, battle.side_failed."""
import asyncio

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer

from arena.owner import NotSignedIn, owner_for
from worker.publisher import publisher

FORWARDED = ("battle.token", "battle.side_reset", "battle.side_done", "battle.side_failed")
CLOSE_UNAUTHENTICATED = 4401


class GroupConsumer(AsyncJsonWebsocketConsumer):
    """Joins one channel-layer group on connect and leaves it on disconnect."""

    group = ""

    async def join(self, group: str) -> None:
        if isinstance(self.channel_layer, InMemoryChannelLayer):
            publisher.use_loop(asyncio.get_running_loop())  # see worker/publisher.py
        self.group = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)


class ArenaConsumer(GroupConsumer):
    async def connect(self):
        try:
            owner = owner_for(self.scope.get("user"), self.scope.get("session"))
        except NotSignedIn:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.join(owner.group)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def forward(self, event):
        if event.get("type") in FORWARDED:
            await self.send_json(event)

    battle_token = battle_side_reset = battle_side_done = battle_side_failed = forward


class LeaderboardConsumer(GroupConsumer):
    """Tells an open leaderboard page that a new fit landed (it then fetches the new board)."""

    async def connect(self):
        from django.conf import settings

        from arena.leaderboards import LEADERBOARD_GROUP

        user = self.scope.get("user")
        if not (settings.LEADERBOARD["PUBLIC"] or (user is not None and user.is_authenticated and user.is_staff)):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.join(LEADERBOARD_GROUP)

    async def leaderboard_updated(self, event):
        await self.send_json(event)
