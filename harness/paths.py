"""Where things are: the repository, and the public data sets (Banking77, CLINC150, ...) beside it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR", "DATA_DIR_ENV", "REPO_ROOT", "data_dir"]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The environment variable that names the data sets' folder.
DATA_DIR_ENV = "SEMCACHE_DATA_DIR"
#: The data sets' folder unless told otherwise: ``shared/data`` beside the repository.
DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def data_dir(override: Path | None = None) -> Path:
    """The data sets' folder: ``override`` (a ``--data-dir`` option), else ``$SEMCACHE_DATA_DIR``, else
    :data:`DATA_DIR`.

    Raises:
        FileNotFoundError: that folder does not exist.
    """
    path = override or Path(os.environ.get(DATA_DIR_ENV) or DATA_DIR)
    if not path.is_dir():
        raise FileNotFoundError(f"no data sets in {path}: pass --data-dir or set {DATA_DIR_ENV}")
    return path
