"""The demo's sample campaign: real expert judgments on long-form answers (CREDITS.md)."""
import json
from pathlib import Path

from annotate.importing import CampaignSpec, ImportReport, campaign_import
from annotate.models import Campaign

SAMPLES = Path(__file__).resolve().parent
SAMPLE_SLUG = "lfqa-experts"


def sample_campaign_import(*, slug: str = SAMPLE_SLUG) -> ImportReport | None:
    """Import the sample campaign once; None when a campaign with `slug` already exists."""
    if Campaign.objects.filter(slug=slug).exists():
        return None
    spec = CampaignSpec(
        slug=slug,
        title="Which answer explains it better? (ELI5, expert-judged)",
        overlap=3,
        gold_rate=0.1,
        questions=json.loads((SAMPLES / "questions.json").read_text(encoding="utf-8")),
        instructions=(SAMPLES / "instructions.md").read_text(encoding="utf-8"),
    )
    return campaign_import(path=SAMPLES / "lfqa-experts.jsonl", spec=spec, source="lfqa-experts", seed=0)
