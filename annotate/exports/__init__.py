"""Dataset exports (issue 5): versioned preference datasets in TRL / Hugging Face format.

config (the validated ExportConfig), service (export_create), reading (judgments streamed from
the database up to the cut-off), rows + aggregate (pure: judgments -> TRL rows), columns (the
Arrow schemas), writers (JSONL and Parquet, deterministic), scrub (personal data in free text),
manifest (manifest.json and the dataset card), build (export_build: stream into files,
atomically)."""
