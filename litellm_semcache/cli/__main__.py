"""``python -m litellm_semcache.cli``."""

import sys

from .main import main

sys.exit(main())
