from tests.annotate.bulk import J, big_campaign_make, judgments_bulk  # noqa: F401
