"""The campaign dashboard's WebSocket: staff only, joins the campaign's group, forwards
campaign.changed (the page then re-fetches its figures over HTTP, debounced)."""
from arena.consumers import CLOSE_UNAUTHENTICATED, GroupConsumer

from annotate.live import campaign_group


class CampaignConsumer(GroupConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.join(campaign_group(self.scope["url_route"]["kwargs"]["campaign_id"]))

    async def campaign_changed(self, event):
        await self.send_json({"type": event["type"], "campaign": event.get("campaign")})
