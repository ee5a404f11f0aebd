"""In Kubernetes the schema changes once per release, in a Job, not at every replica's
start: with CEA_MIGRATE_ON_START=false a service leaves its database as it finds it and,
while the schema is not at its head, refuses to start (exit 2, saying what to run) instead
of running its loops against missing tables; once `python -m shared.ops migrate <service>`
ran, it starts and is ready."""
import os
import subprocess
import sys

import requests
from sqlalchemy import inspect

from shared.persistence.engine import make_engine
from tests.support.processes import ROOT, ServiceProcess
from tests.support.services import SERVICE_CLASSES


def test_a_service_leaves_migrating_to_the_job_when_told_to(services, backend, tmp_path, monkeypatch):
    monkeypatch.setenv("CEA_MIGRATE_ON_START", "false")
    config = services.config("exam")
    url = config["DATABASE_URL"]
    early = ServiceProcess(SERVICE_CLASSES["exam"], config, tmp_path, "exam-early").start(wait_ready=False)
    try:
        assert early.process.wait(timeout=60) == 2, early.log()[-3000:]
    finally:
        early.kill()
    assert "python -m shared.ops migrate exam" in early.log()
    engine = make_engine(url)
    try:
        assert inspect(engine).get_table_names() == []  # nothing was created
    finally:
        engine.dispose()

    job = subprocess.run([sys.executable, "-m", "shared.ops", "migrate", "exam"], cwd=ROOT,
                         env={**os.environ, "EXAM_DATABASE_URL": url}, capture_output=True, text=True,
                         timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    assert "exam: migrated" in job.stdout

    replica = ServiceProcess(SERVICE_CLASSES["exam"], config, tmp_path, "exam").start()
    try:
        ready = requests.get(replica.url + "/health/ready", timeout=5).json()
        assert ready["checks"]["migrations"] is True
    finally:
        assert replica.stop() == 0, replica.log()[-3000:]
