"""
E-mailed links point at the site that is running (issue #15): with no ``SITE_URL``, it
follows the ``HOST`` and ``PORT`` that ``make run`` / scripts/serve.sh serve on.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def site_url(tmp_path, **env) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "SITE_URL", "HOST", "PORT"))}
    base.update(DJANGO_ENV="development", SECRET_KEY="s" * 60, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    base.update(env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='config.settings';django.setup();"
            "from django.conf import settings;print(settings.SITE_URL)",
        ],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8100"}, "http://127.0.0.1:8100"),
        ({"HOST": "localhost", "PORT": "8100"}, "http://localhost:8100"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://127.0.0.1:9000"),  # every address: link to this machine
        ({"SITE_URL": "", "PORT": "8100"}, "http://127.0.0.1:8100"),  # .env.example copied as it is
        ({"SITE_URL": "https://videos.hospital.example/", "PORT": "8100"}, "https://videos.hospital.example"),
    ],
)
def test_site_url_follows_host_and_port_unless_set(tmp_path, env, expected):
    assert site_url(tmp_path, **env) == expected
