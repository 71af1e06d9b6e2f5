"""WSGI entry point. Status page reads are answered from their snapshot before Django's stack."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from statuspage.snapshots import SnapshotWSGI  # noqa: E402  (needs the settings loaded above)

application = SnapshotWSGI(django_application)
