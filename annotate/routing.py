from django.urls import path

from annotate.consumers import CampaignConsumer

websocket_urlpatterns = [
    path("ws/annotate/<int:campaign_id>/", CampaignConsumer.as_asgi()),  # the dashboard's live socket
]
