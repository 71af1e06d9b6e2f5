from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command

from oncall.models import ApiToken, Membership, Service, Team, User


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (User, Team, Membership, Service, ApiToken))


def test_demo_is_idempotent_and_prints_working_credentials(db):
    out = StringIO()
    call_command("demo", stdout=out)
    first = _counts()
    alice = User.objects.get(username="alice")
    alice.set_password("changed-by-alice")
    alice.save()
    call_command("demo", stdout=StringIO())
    assert _counts() == first
    assert first[1] >= 3 and first[3] >= 3
    assert authenticate(username="alice", password="changed-by-alice") is not None
    assert "bob      / fireline-demo" in out.getvalue()
    assert authenticate(username="bob", password="fireline-demo") is not None
    assert Membership.objects.get(user__username="alice", team__slug="payments").is_manager
