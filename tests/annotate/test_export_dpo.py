"""An exported file trains: TRL's DPOTrainer runs two steps on the tiny local model from a
Parquet export (text form) and a JSONL export (conversational form)."""
import pytest

from annotate.exports.build import export_build, export_dir
from annotate.exports.config import ExportConfig
from annotate.exports.service import export_create
from annotate.models import ExportStatus
from tests.annotate.test_export_build import seed

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _env(settings, tmp_path, monkeypatch):
    settings.EXPORT_DIR = tmp_path / "exports"
    for name, value in {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(tmp_path / "hf"), "PREFARENA_VERSION": "t"}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("form, fmt", [("text", "parquet"), ("conversational", "jsonl")])
def test_dpo_trains_two_steps_on_an_export(django_user_model, tiny_models, tmp_path, form, fmt):
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    seed(django_user_model)
    snapshot = export_create(config=ExportConfig(campaigns=("pairs", "ranks"), arena=True, form=form, formats=(fmt,)), queue=False)
    snapshot = export_build(snapshot_id=snapshot.pk)
    assert snapshot.status == ExportStatus.READY
    path = export_dir(snapshot.pk) / f"preference/train.{fmt}"
    dataset = datasets.load_dataset("json" if fmt == "jsonl" else "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert "aspects" in dataset.column_names  # the extra columns ride along
    folder = next(iter(tiny_models.values()))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    args = DPOConfig(
        output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-3,
        max_length=64, use_cpu=True, bf16=False, gradient_checkpointing=False, report_to="none",
        precompute_ref_log_probs=True, logging_steps=1, save_strategy="no", dataloader_num_workers=0,
    )  # fmt: skip
    trainer = DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 2
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) == 2 and all(loss == loss and loss > 0 for loss in losses)
