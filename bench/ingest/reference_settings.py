"""The project's settings with no middleware and only the reference URL."""

from codequest.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.ingest.reference"
