"""The catalog versions shipped with the service (catalog/*.yaml), loaded once."""
from functools import lru_cache
from pathlib import Path

import yaml

from .domain import Catalog, load_catalog

DIRECTORY = Path(__file__).parent / "catalog"


@lru_cache(maxsize=None)
def all_versions() -> dict[str, Catalog]:
    found = {}
    for path in sorted(DIRECTORY.glob("*.yaml")):
        catalog = load_catalog(yaml.safe_load(path.read_text(encoding="utf-8")))
        found[catalog.version] = catalog
    return found


def current() -> Catalog:
    """The newest version: new accounts study it; open accounts keep theirs."""
    return all_versions()[max(all_versions())]


def version(name: str) -> Catalog:
    return all_versions()[name]
