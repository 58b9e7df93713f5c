"""Deployment facts: the web process never imports torch; docker-compose.yml stays valid."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WEB_IMPORTS = """
import sys, django
django.setup()
import config.asgi, config.urls, arena.views, arena.consumers, arena.admin, worker.tasks, worker.generation
from django.test import Client
assert Client(HTTP_HOST='localhost').get('/accounts/login/').status_code == 200
print('torch' in sys.modules)
"""


def test_web_process_never_imports_torch():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "x", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    out = subprocess.run([sys.executable, "-c", WEB_IMPORTS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_docker_compose_file_is_valid():
    compose = shutil.which("docker-compose")
    assert compose, "install Debian's docker-compose (make test does, as root) to validate docker-compose.yml"
    env = {**os.environ, "SECRET_KEY": "validation-only"}
    out = subprocess.run([compose, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    missing = subprocess.run([compose, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, env={k: v for k, v in env.items() if k != "SECRET_KEY"}, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "SECRET_KEY" in missing.stderr, "SECRET_KEY must have no default"


def test_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    out = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "SECRET_KEY must be set" in out.stderr
