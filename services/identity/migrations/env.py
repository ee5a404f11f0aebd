from services.identity.models import metadata
from shared.persistence.migrations import run_env

run_env(metadata)
