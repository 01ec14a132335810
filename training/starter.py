"""The starter curriculum on CRM adoption (T2), shipped as module folders in ``training/curriculum``."""
from __future__ import annotations

from importlib import resources

from adoption.models import User
from training.folder import import_module_dir
from training.models import Module

#: The starter modules in the order a learner would best take them (each is a folder of that name).
STARTER_SLUGS = (
    "crm-customer-strategy",
    "customer-insight-first",
    "pipeline-hygiene",
    "informed-skeptic",
)


def load_starter_curriculum(created_by: User | None = None) -> list[Module]:
    """Import and publish the starter modules; a second run changes nothing (they are matched by slug)."""
    curriculum = resources.files("training") / "curriculum"
    modules = []
    for slug in STARTER_SLUGS:
        with resources.as_file(curriculum / slug) as folder:
            modules.append(import_module_dir(folder, created_by=created_by, publish=True))
    return modules
