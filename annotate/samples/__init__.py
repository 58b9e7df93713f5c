"""The demo's sample campaign: real expert judgments on long-form answers (CREDITS.md)."""
import json
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent
SAMPLE_SLUG = "lfqa-experts"


def sample_campaign_import(*, slug: str = SAMPLE_SLUG):
    """Import the sample campaign once: its ImportReport, or None when a campaign with `slug`
    already exists."""
    # Imported here, not at the top: `python -m annotate.samples.lfqa` (which regenerates the
    # sample file) loads this package without Django set up.
    from annotate.importing import CampaignSpec, campaign_import
    from annotate.models import Campaign

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
