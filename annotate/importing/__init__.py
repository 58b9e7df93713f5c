"""Importing a campaign: items (a prompt and 2+ candidate responses) and, optionally, judgments
already made elsewhere, from JSONL, CSV or Parquet, or from arena battles.

    readers.py     file -> raw rows in the JSONL shape, streamed, with where each came from
    parse.py       raw row -> ParsedItem, or the reason it can't be imported (pure)
    writers.py     ParsedItems -> rows, in batches (COPY on PostgreSQL, bulk_create elsewhere)
    arena_rows.py  arena battles -> raw rows
    service.py     campaign_import / campaign_import_from_arena: check all, then write all

The formats are described in the README ("Importing a campaign")."""
from annotate.importing.service import (  # noqa: F401  (the package's interface)
    CampaignImportRejected,
    CampaignSpec,
    ImportReport,
    campaign_import,
    campaign_import_from_arena,
)
