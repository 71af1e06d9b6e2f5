"""Writes with rules for teams, people, services and API tokens.

Each function is keyword-only, runs in one transaction and raises a DomainError
when a rule forbids the change, so the web, the API, the admin and the demo data
all go through the same door.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import DomainError
from oncall.models import ApiToken, Membership, Service, Team, User

TOKEN_PREFIX = "fl_"
# A token's last use is written at most this often, so a busy tool does not turn
# every API read into a write.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _validated(instance: Service | Team, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(messages[0], field=None if field == "__all__" else field) from exc


@transaction.atomic
def team_create(*, name: str, slug: str, time_zone: str = "UTC", description: str = "") -> Team:
    team = Team(name=name, slug=slug, time_zone=time_zone, description=description)
    _validated(team)
    team.save()
    return team


def membership_set(*, team: Team, user: User, role: str = Membership.Role.MEMBER) -> Membership:
    """Adds the user to the team, or changes their role. Safe to call concurrently."""
    if role not in Membership.Role.values:
        raise DomainError(f"Unknown role “{role}”.", field="role")
    try:
        with transaction.atomic():
            membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    except IntegrityError:
        # Someone added the same person a moment ago; the unique constraint kept one row.
        membership = Membership.objects.get(team=team, user=user)
        if membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def _service_can_be_changed_by(*, service_team: Team, by: User) -> bool:
    return Membership.objects.filter(team=service_team, user=by).exists()


@transaction.atomic
def service_create(
    *, team: Team, name: str, slug: str, by: User, now: datetime | None = None, **fields: str
) -> Service:
    """Creates a service for a team the author belongs to; runbook fields may come along."""
    if not _service_can_be_changed_by(service_team=team, by=by):
        raise DomainError("You can only add services to your own teams.", field="team")
    unknown = set(fields) - {"description", "tier", *Service.RUNBOOK_FIELDS}
    if unknown:
        raise DomainError(f"Unknown service fields: {', '.join(sorted(unknown))}.")
    service = Service(team=team, name=name, slug=slug, **fields)
    if any(fields.get(f) for f in Service.RUNBOOK_FIELDS):
        service.runbook_updated_at = now or timezone.now()
        service.runbook_updated_by = by
    _validated(service)
    service.save()
    return service


@transaction.atomic
def service_update(*, service: Service, by: User, now: datetime | None = None, **changes: str) -> Service:
    """Changes a service's description, tier, name or runbook; stamps who touched the runbook."""
    if not _service_can_be_changed_by(service_team=service.team, by=by):
        raise DomainError("Only members of the owning team can change this service.")
    allowed = {"name", "description", "tier", *Service.RUNBOOK_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changed = [f for f, value in changes.items() if getattr(service, f) != value]
    if not changed:
        return service
    for field in changed:
        setattr(service, field, changes[field])
    if any(f in Service.RUNBOOK_FIELDS for f in changed):
        service.runbook_updated_at = now or timezone.now()
        service.runbook_updated_by = by
        changed += ["runbook_updated_at", "runbook_updated_by"]
    _validated(service)
    service.save(update_fields=changed)
    return service


def secret_digest(raw: str) -> str:
    """How API tokens and integration keys are stored.

    They are 240 random bits, so a fast hash is enough: nothing to brute-force.
    """
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str, team: Team | None = None) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its only clear-text copy, to show once."""
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name that says what uses it.", field="name")
    if team is not None and not Membership.objects.filter(team=team, user=user).exists():
        raise DomainError("You can only scope a token to a team you belong to.", field="team")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(user=user, team=team, name=name[:100], prefix=raw[:10], digest=secret_digest(raw))
    return token, raw


def token_revoke(*, token: ApiToken, by: User, now: datetime | None = None) -> ApiToken:
    if token.user_id != by.pk:
        raise DomainError("You can only revoke your own tokens.")
    # Conditional update: revoking twice, or from two tabs, keeps the first instant.
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now or timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def token_authenticate(*, raw: str, now: datetime | None = None) -> ApiToken | None:
    """The active token for this clear text, with its user, or None. Records the use."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.active().select_related("user").filter(digest=secret_digest(raw), user__is_active=True).first()
    )
    if token is None:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or token.last_used_at < now - TOKEN_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
