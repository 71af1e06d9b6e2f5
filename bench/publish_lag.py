"""Publishing lag: from a status change committed in this process to the new snapshot served by the server.

Run by bench/status_page.py with the server's environment and its port as the argument; prints one
JSON line of lags in milliseconds. Each change goes through the service as a person's would: it
commits, re-renders the page on commit, and the server's workers pick the new version up from the
cache (at most FRESH_SECONDS later).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from oncall.models import User  # noqa: E402
from statuspage import services  # noqa: E402
from statuspage.models import Component  # noqa: E402

CHANGES = 20
HOST = "status.localhost"


def served_status(port: int, component_id: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/api/v2/components.json", headers={"Host": HOST})
        components = json.loads(connection.getresponse().read())["components"]
    finally:
        connection.close()
    return next(c["status"] for c in components if c["id"] == component_id)


def main(port: int) -> None:
    component = Component.objects.get(page__host=HOST, name="Payouts")
    person = User.objects.get(username="carol")
    lags = []
    for n in range(CHANGES):
        wanted = "degraded_performance" if n % 2 == 0 else "operational"
        started = time.perf_counter()
        services.component_set_status(component=component, status=wanted, by=person)
        while served_status(port, component.public_id) != wanted:
            if time.perf_counter() - started > 10:
                raise SystemExit(f"change {n} not served after 10 s")
        lags.append((time.perf_counter() - started) * 1000)
        time.sleep(0.2)
    print(json.dumps({"lags_ms": lags}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
