"""Dataset exports (issue 5): versioned preference datasets in TRL / Hugging Face format.

config (the validated ExportConfig), rows (pure: judgments -> TRL rows), writers (JSONL and
Parquet, deterministic), manifest (manifest.json and the dataset card), scrub (personal data in
free text), build (the service: stream from the database into files, atomically)."""
