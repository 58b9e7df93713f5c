"""Live campaign events for the dashboard: one group per campaign, events only on commit."""
from worker.dispatch import broadcast_on_commit


def campaign_group(campaign_id: int) -> str:
    return f"annotate.campaign-{int(campaign_id)}"


def campaign_changed_on_commit(campaign_id: int) -> None:
    """Tell open dashboards that the campaign's figures changed (they re-read them, debounced)."""
    broadcast_on_commit(campaign_group(campaign_id), {"type": "campaign.changed", "campaign": int(campaign_id)})
