from shared.persistence.migrations import run_env
from tests.support.probe.models import metadata

run_env(metadata)
