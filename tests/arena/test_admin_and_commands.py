"""Admin pages need staff; contenders are registered by command or admin with validated settings."""
import pytest
from django.core.management import CommandError, call_command

from arena.models import Contender
from arena.contenders import contender_spec

pytestmark = pytest.mark.django_db


def test_admin_requires_staff(alice, admin_client):
    assert alice.get("/admin/").status_code == 302
    assert alice.get("/admin/arena/contender/").status_code == 302
    assert admin_client.get("/admin/arena/contender/").status_code == 200


def test_add_contender_transformers_and_openai(capsys, settings, tmp_path):
    settings.MODEL_DIR = tmp_path
    (tmp_path / "my-model").mkdir()
    call_command("add_contender", "local-1", "--model", "my-model", "--name", "Local One", "--generation", '{"max_new_tokens": 64, "temperature": 0.5}')
    call_command(
        "add_contender", "remote-1", "--backend", "openai", "--model", "llama-3-8b", "--base-url", "http://vllm:8000/v1",
        "--api-key-env", "VLLM_API_KEY", "--system-prompt", "Be brief.", "--weight", "2",
    )  # fmt: skip
    assert "queue is gen.local-1" in capsys.readouterr().out
    local, remote = Contender.objects.get(slug="local-1"), Contender.objects.get(slug="remote-1")
    assert contender_spec(local).model == str(tmp_path / "my-model")  # relative folders live under MODEL_DIR
    spec = contender_spec(remote)
    assert (spec.kind, spec.base_url, spec.api_key_env, spec.system_prompt) == ("openai", "http://vllm:8000/v1", "VLLM_API_KEY", "Be brief.")
    assert remote.sampling_weight == 2 and remote.queue == "gen.remote-1"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--generation", '{"max_new_tokens": -1}'], "max_new_tokens must be"),
        (["--generation", '{"temprature": 1}'], "Unknown generation setting"),
        (["--generation", "{oops"], "not valid JSON"),
        (["--backend", "openai"], "needs a base URL"),
        (["--weight", "0"], "weight"),
        (["--backend", "openai", "--base-url", "http://x:1/v1", "--api-key-env", "SECRET_KEY"], "_API_KEY"),
    ],
)
def test_add_contender_rejects_bad_input_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("add_contender", "bad-1", "--model", "m", *args)
    assert not Contender.objects.exists()


def test_admin_form_rejects_bad_generation_settings(admin_client):
    form = {
        "slug": "adm-1", "display_name": "Adm", "backend": "TRANSFORMERS", "model": "m", "base_url": "", "api_key_env": "",
        "system_prompt": "", "generation": '{"temperature": 9}', "sampling_weight": "1", "is_active": "on",
    }  # fmt: skip
    res = admin_client.post("/admin/arena/contender/add/", form)
    assert res.status_code == 200 and b"temperature must be" in res.content
    assert not Contender.objects.exists()
    form["generation"] = '{"temperature": 0.5}'
    assert admin_client.post("/admin/arena/contender/add/", form).status_code == 302
    assert Contender.objects.get().generation == {"temperature": 0.5}
