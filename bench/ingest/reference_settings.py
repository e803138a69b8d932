"""The project's settings with no middleware and only the reference URL."""

from codequest.settings import *  # noqa: F403
from codequest.settings import INSTALLED_APPS

MIDDLEWARE: list[str] = []
# allauth refuses to start without its middleware; the reference needs neither.
INSTALLED_APPS = [app for app in INSTALLED_APPS if not app.startswith("allauth")]
ROOT_URLCONF = "bench.ingest.reference"
