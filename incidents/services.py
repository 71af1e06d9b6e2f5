"""Writes with rules for incidents. Each runs in one transaction under a row lock on the
incident and writes its own timeline entries, so the timeline cannot miss a change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from config.errors import ConflictError, DomainError
from incidents import messages, rules
from incidents.defaults import RESOLUTION_CHECKLIST, SEVERITY_DEFAULTS, TRIAGE_CHECKLIST
from incidents.models import (
    Incident,
    IncidentCounter,
    IncidentUpdate,
    RoleAssignment,
    SeverityPolicy,
    TimelineEntry,
)
from incidents.signals import incident_resolved
from oncall.models import Page, Service, Team, User
from oncall.models.comptime import WorkLog
from oncall.models.notifications import Event
from oncall.selectors import is_member
from oncall.services.notifications import notify_team, notify_user

Status = Incident.Status
Role = RoleAssignment.Role


def severity_policies_for(team: Team) -> dict[int, SeverityPolicy]:
    """The team's four levels, created from the defaults the first time they are needed."""
    existing = {p.level: p for p in SeverityPolicy.objects.filter(team=team)}
    for values in SEVERITY_DEFAULTS:
        if values["level"] not in existing:
            policy, _ = SeverityPolicy.objects.get_or_create(team=team, level=values["level"], defaults=values)
            existing[policy.level] = policy
    return existing


def _policy(incident: Incident) -> SeverityPolicy:
    return severity_policies_for(incident.team)[incident.severity]


def _next_number() -> int:
    counter, _ = IncidentCounter.objects.select_for_update().get_or_create(pk=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _log(
    incident: Incident,
    kind: str,
    text: str,
    *,
    by: User | None,
    now: dt.datetime,
    happened_at: dt.datetime | None = None,
    **data: object,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        text=text,
        author=by,
        happened_at=happened_at or now,
        recorded_at=now,
        data=data,
    )


def timeline_record(
    *, incident: Incident, kind: str, text: str, by: User | None, now: dt.datetime, **data: object
) -> TimelineEntry:
    """For other apps that act on an incident (a customer notice was published): one entry."""
    return _log(incident, kind, text, by=by, now=now, **data)


def _require_member(team: Team, user: User, what: str) -> None:
    if not is_member(user=user, team=team):
        raise DomainError(f"{user} is not a member of {team.name}, so cannot {what}.")


def _check_severity(severity: int) -> None:
    if severity not in (1, 2, 3, 4):
        raise DomainError("Severity must be 1, 2, 3 or 4.", field="severity")


@transaction.atomic
def incident_declare(
    *,
    team: Team,
    title: str,
    severity: int,
    by: User,
    summary: str = "",
    services: Iterable[Service] = (),
    detection_source: str = Incident.Source.MONITORING,
    is_restricted: bool = False,
    impact_started_at: dt.datetime | None = None,
    detected_at: dt.datetime | None = None,
    page: Page | None = None,
    commander: User | None = None,
    now: dt.datetime | None = None,
) -> Incident:
    """Opens an incident; the declarer commands it unless someone else is named.

    Side effects: the incident number, a DECLARED timeline entry, the commander's role span.
    From a page, detection and acknowledgement are the page's instants.
    """
    now = now or timezone.now()
    _require_member(team, by, "declare its incidents")
    _check_severity(severity)
    title = title.strip()
    if not title:
        raise DomainError("Say in a few words what is broken.", field="title")
    services = list(services)
    foreign = [s.name for s in services if s.team_id != team.pk]
    if foreign:
        raise DomainError(f"Not services of {team.name}: {', '.join(foreign)}.", field="services")
    if detection_source not in Incident.Source.values:
        raise DomainError("Unknown detection source.", field="detection_source")
    if page is not None and page.team_id != team.pk:
        raise DomainError("That page belongs to another team.", field="page")
    detected_at = detected_at or (page.created_at if page else now)
    if detected_at > now:
        raise DomainError("Detection cannot be in the future.", field="detected_at")
    if impact_started_at and impact_started_at > detected_at:
        raise DomainError("Impact cannot start after it was detected.", field="impact_started_at")
    policy = severity_policies_for(team)[severity]
    incident = Incident.objects.create(
        number=_next_number(),
        team=team,
        title=title[:200],
        summary=summary,
        severity=severity,
        detection_source=detection_source,
        is_restricted=is_restricted,
        page=page,
        impact_started_at=impact_started_at,
        detected_at=detected_at,
        declared_at=now,
        acknowledged_at=page.acknowledged_at if page else now,
        next_update_due_at=rules.next_update_due(now, policy.update_every_minutes, Status.INVESTIGATING),
        declared_by=by,
    )
    incident.services.set(services)
    _log(incident, TimelineEntry.Kind.DECLARED, f"Declared as SEV-{severity} by {by}.", by=by, now=now)
    _assign(incident, Role.COMMANDER, commander or by, by=by, now=now)
    _announce(incident, Event.INCIDENT_DECLARED, "declared", messages.declared(incident), now=now)
    return incident


def _announce(incident: Incident, event: str, key: str, text: str, *, now: dt.datetime) -> None:
    """Posts a message to the team's webhooks through the outbox, once per key."""
    subject = text.splitlines()[0][:200]
    notify_team(
        team=incident.team,
        event=event,
        dedup_key=f"incident:{incident.number}:{key}",
        subject=subject,
        body=text,
        payload={"incident": incident.number, "severity": incident.severity, "status": incident.status},
        now=now,
    )


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _holders(incident: Incident) -> dict[str, int | None]:
    current = RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True).exclude(role=Role.PARTICIPANT)
    return {a.role: a.user_id for a in current}


def _check_roles(incident: Incident, holders: dict[str, int | None]) -> list[str]:
    policy = _policy(incident)
    role_policy = rules.RolePolicy(policy.commander_required, policy.commander_recommended, incident.severity)
    errors, warnings = rules.role_problems(role_policy, holders)
    if errors:
        raise DomainError(errors[0], field="role")
    return warnings


def _end_roles(incident: Incident, current: QuerySet[RoleAssignment], *, now: dt.datetime) -> int:
    """Ends role spans; each becomes a work span in oncall, where after-hours work earns comp time."""
    spans = list(current)
    for span in spans:
        span.ended_at = now
        span.save(update_fields=["ended_at"])
        if now > span.started_at:
            _record_work(incident, span, now)
    return len(spans)


def _record_work(incident: Incident, span: RoleAssignment, end: dt.datetime) -> None:
    # Keyed by the span, so a retried transaction records it once.
    WorkLog.objects.get_or_create(
        user=span.user,
        reference=f"incident:{incident.number}:{span.role}:{span.pk}",
        defaults={
            "team": incident.team,
            "start_at": span.started_at,
            "end_at": end,
            "source": WorkLog.Source.INCIDENT,
            "note": f"{span.get_role_display()} on {incident.reference}",
        },
    )


def _assign(incident: Incident, role: str, user: User, *, by: User, now: dt.datetime) -> RoleAssignment:
    _require_member(incident.team, user, "hold a role in this incident")
    current = RoleAssignment.objects.filter(incident=incident, role=role, ended_at__isnull=True)
    if role == Role.PARTICIPANT:
        current = current.filter(user=user)
    elif current.filter(user=user).exists():
        raise ConflictError(f"{user} already is the {Role(role).label.lower()}.")
    _end_roles(incident, current, now=now)
    assignment = RoleAssignment.objects.create(incident=incident, role=role, user=user, started_at=now)
    _log(incident, TimelineEntry.Kind.ROLE, f"{user} is now {Role(role).label.lower()}.", by=by, now=now, role=role)
    return assignment


@transaction.atomic
def role_assign(*, incident: Incident, role: str, user: User, by: User, now: dt.datetime | None = None) -> list[str]:
    """Hands a role to a person (ending the previous holder's span); returns warnings to show."""
    now = now or timezone.now()
    incident = _locked(incident)
    if role not in Role.values:
        raise DomainError("Unknown role.", field="role")
    if not incident.is_open:
        raise ConflictError(f"{incident.reference} is {incident.status}; roles no longer change.")
    holders = _holders(incident)
    if role != Role.PARTICIPANT:
        holders[role] = user.pk
    warnings = _check_roles(incident, holders)
    _assign(incident, role, user, by=by, now=now)
    return warnings


@transaction.atomic
def role_release(*, incident: Incident, role: str, user: User, by: User, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    incident = _locked(incident)
    holders = _holders(incident)
    if holders.get(role) != user.pk and role != Role.PARTICIPANT:
        raise ConflictError(f"{user} does not hold that role.")
    if role != Role.PARTICIPANT:
        holders[role] = None
        _check_roles(incident, holders)
    ended = _end_roles(
        incident, RoleAssignment.objects.filter(incident=incident, role=role, user=user, ended_at__isnull=True), now=now
    )
    if ended:
        _log(incident, TimelineEntry.Kind.ROLE, f"{user} stepped down as {Role(role).label.lower()}.", by=by, now=now)


@transaction.atomic
def incident_set_severity(
    *, incident: Incident, severity: int, by: User, reason: str = "", now: dt.datetime | None = None
) -> Incident:
    """Re-classifies; the cadence restarts from now at the new level's pace."""
    now = now or timezone.now()
    _check_severity(severity)
    incident = _locked(incident)
    if severity == incident.severity:
        raise ConflictError(f"{incident.reference} already is SEV-{severity}.")
    old = incident.severity
    incident.severity = severity
    _check_roles(incident, _holders(incident))
    policy = _policy(incident)
    incident.next_update_due_at = rules.next_update_due(now, policy.update_every_minutes, incident.status)
    incident.save(update_fields=["severity", "next_update_due_at"])
    text = f"Severity changed from SEV-{old} to SEV-{severity}." + (f" {reason}" if reason else "")
    _log(incident, TimelineEntry.Kind.SEVERITY, text, by=by, now=now, old=old, new=severity)
    return incident


STATUS_INSTANTS = {Status.MONITORING: "monitoring_since", Status.RESOLVED: "resolved_at", Status.CLOSED: "closed_at"}


@transaction.atomic
def incident_transition(
    *, incident: Incident, status: str, by: User, reason: str = "", now: dt.datetime | None = None
) -> Incident:
    """Moves the incident along its lifecycle, by the rules of incidents/rules.py.

    Side effects: the instants of the new status (mitigated when monitoring starts), the
    next update due, a STATUS timeline entry; resolving needs the watch period or a reason.
    """
    now = now or timezone.now()
    incident = _locked(incident)
    error = rules.transition_error(incident.status, status)
    if error:
        raise ConflictError(error)
    if status == Status.RESOLVED:
        _check_resolvable(incident, reason=reason, now=now)
    if status != Status.CLOSED and incident.status in (Status.RESOLVED,):
        incident.resolved_at = None
    old = incident.status
    incident.status = status
    fields = ["status", "next_update_due_at", "resolved_at", "resolved_early_reason"]
    if status in STATUS_INSTANTS:
        setattr(incident, STATUS_INSTANTS[status], now)
        fields.append(STATUS_INSTANTS[status])
    if status == Status.MONITORING and incident.mitigated_at is None:
        incident.mitigated_at = now
        fields.append("mitigated_at")
    if status == Status.RESOLVED:
        incident.resolved_early_reason = reason.strip()
    policy = _policy(incident)
    incident.next_update_due_at = rules.next_update_due(now, policy.update_every_minutes, status)
    incident.save(update_fields=sorted(set(fields)))
    if status in (Status.RESOLVED, Status.CLOSED):
        _end_roles(incident, RoleAssignment.objects.filter(incident=incident, ended_at__isnull=True), now=now)
    text = f"Status changed from {old} to {status}." + (f" Reason: {reason.strip()}" if reason.strip() else "")
    _log(incident, TimelineEntry.Kind.STATUS, text, by=by, now=now, old=old, new=status)
    if status == Status.RESOLVED:
        stamp = int(now.timestamp())
        _announce(incident, Event.INCIDENT_RESOLVED, f"resolved:{stamp}", messages.resolved(incident, policy), now=now)
        transaction.on_commit(lambda: incident_resolved.send(sender=Incident, incident_id=incident.pk))
    return incident


def _check_resolvable(incident: Incident, *, reason: str, now: dt.datetime) -> None:
    error = rules.resolve_error(
        status=incident.status,
        monitoring_since=incident.monitoring_since,
        watch_minutes=_policy(incident).watch_minutes,
        now=now,
        reason=reason,
    )
    if error:
        raise DomainError(error, field="reason")


@transaction.atomic
def note_add(
    *,
    incident: Incident,
    text: str,
    by: User,
    happened_at: dt.datetime | None = None,
    corrects: TimelineEntry | None = None,
    now: dt.datetime | None = None,
) -> TimelineEntry:
    """A fact with its time; a correction is a new entry pointing at the one it corrects."""
    now = now or timezone.now()
    text = text.strip()
    if not text:
        raise DomainError("Write what happened.", field="text")
    if happened_at and happened_at > now + dt.timedelta(minutes=1):
        raise DomainError("A note cannot be about the future.", field="happened_at")
    if corrects is not None and corrects.incident_id != incident.pk:
        raise DomainError("That entry belongs to another incident.", field="corrects")
    kind = TimelineEntry.Kind.CORRECTION if corrects else TimelineEntry.Kind.NOTE
    entry = _log(incident, kind, text, by=by, now=now, happened_at=happened_at)
    if corrects:
        entry.corrects = corrects
        entry.save(update_fields=["corrects"])
    return entry


@transaction.atomic
def update_post(
    *,
    incident: Incident,
    known: str,
    doing: str,
    trend: str,
    by: User,
    eta: str = "",
    now: dt.datetime | None = None,
) -> IncidentUpdate:
    """Internal update #n; sets when the next one is due by the severity's cadence."""
    now = now or timezone.now()
    incident = _locked(incident)
    if not incident.is_open:
        raise ConflictError(f"{incident.reference} is {incident.status}; post the resolution instead.")
    if trend not in Incident.Trend.values:
        raise DomainError("Say whether the impact is improving, stable or worsening.", field="trend")
    if not known.strip() or not doing.strip():
        raise DomainError("Say what we know and what we are doing.", field="known" if not known.strip() else "doing")
    policy = _policy(incident)
    next_at = rules.next_update_due(now, policy.update_every_minutes, incident.status)
    number = incident.updates.count() + 1
    update = IncidentUpdate.objects.create(
        incident=incident,
        number=number,
        status=incident.status,
        known=known.strip(),
        doing=doing.strip(),
        trend=trend,
        eta=eta.strip(),
        next_update_at=next_at,
        posted_by=by,
        posted_at=now,
    )
    incident.impact_trend = trend
    incident.next_update_due_at = next_at
    incident.save(update_fields=["impact_trend", "next_update_due_at"])
    _log(incident, TimelineEntry.Kind.UPDATE, f"Update #{number} posted.", by=by, now=now, update=number)
    _announce(incident, Event.INCIDENT_UPDATE, f"update:{number}", messages.update(update), now=now)
    return update


@transaction.atomic
def help_request(*, incident: Incident, need: str, why: str, by: User, now: dt.datetime | None = None) -> TimelineEntry:
    """Asks the team's channels for a specialist; the request is on the timeline."""
    now = now or timezone.now()
    need, why = need.strip(), why.strip()
    if not need or not why:
        raise DomainError("Say what help you need and why.", field="need" if not need else "why")
    if not incident.is_open:
        raise ConflictError(f"{incident.reference} is {incident.status}.")
    entry = _log(incident, TimelineEntry.Kind.NOTE, f"Asked for help: {need}. {why}", by=by, now=now)
    text = messages.help_request(incident, need=need, why=why, owner=str(by))
    _announce(incident, Event.INCIDENT_HELP, f"help:{entry.pk}", text, now=now)
    return entry


def run_update_reminders(*, now: dt.datetime | None = None, batch: int = 100) -> int:
    """Reminds the commander and comms lead of each missed update, once per due instant.

    A sweeper over the partial index on next_update_due_at; rows locked with skip_locked,
    so two beats at once remind once.
    """
    now = now or timezone.now()
    reminded = 0
    with transaction.atomic():
        due = (
            Incident.objects.select_for_update(skip_locked=True)
            .filter(next_update_due_at__lte=now)
            .exclude(update_reminded_for=F("next_update_due_at"))
            .order_by("next_update_due_at")[:batch]
        )
        for incident in due:
            _remind(incident, now=now)
            reminded += 1
    return reminded


def _remind(incident: Incident, *, now: dt.datetime) -> None:
    due = incident.next_update_due_at
    assert due is not None
    holders = RoleAssignment.objects.filter(
        incident=incident, ended_at__isnull=True, role__in=[Role.COMMANDER, Role.COMMS_LEAD]
    ).select_related("user")
    late = int((now - due).total_seconds() // 60)
    for person in {a.user for a in holders}:
        notify_user(
            user=person,
            event=Event.INCIDENT_UPDATE_DUE,
            dedup_key=f"incident:{incident.number}:due:{int(due.timestamp())}:u{person.pk}",
            subject=f"{incident.reference}: an update is due (SEV-{incident.severity})",
            body=(
                f"The next update on {incident.reference} {incident.title} was due {late} minutes ago. "
                f"Post it: {settings.SITE_URL}{incident.get_absolute_url()}"
            ),
            payload={"incident": incident.number},
            now=now,
        )
    incident.update_reminded_for = due
    incident.save(update_fields=["update_reminded_for"])
    _log(incident, TimelineEntry.Kind.REMINDER, f"Update overdue since {due:%H:%M} UTC; reminded.", by=None, now=now)


@transaction.atomic
def triage_record(
    *, incident: Incident, answers: dict[str, str], mitigation_path: str, by: User, now: dt.datetime | None = None
) -> Incident:
    """Stores the triage checklist and the chosen mitigation path; the change is on the timeline."""
    now = now or timezone.now()
    incident = _locked(incident)
    known = {key for key, _question in TRIAGE_CHECKLIST}
    unknown = set(answers) - known
    if unknown:
        raise DomainError(f"Unknown triage questions: {', '.join(sorted(unknown))}.")
    if mitigation_path and mitigation_path not in Incident.Mitigation.values:
        raise DomainError("Unknown mitigation path.", field="mitigation_path")
    incident.triage = {key: value.strip() for key, value in answers.items() if value.strip()}
    changed_path = mitigation_path != incident.mitigation_path
    incident.mitigation_path = mitigation_path
    incident.save(update_fields=["triage", "mitigation_path"])
    text = f"Triage recorded ({len(incident.triage)} of {len(known)} answered)."
    if changed_path and mitigation_path:
        text += f" Chosen path: {incident.get_mitigation_path_display()}."
    _log(incident, TimelineEntry.Kind.TRIAGE, text, by=by, now=now, path=mitigation_path)
    return incident


@transaction.atomic
def incident_resolve(
    *,
    incident: Incident,
    by: User,
    checks: Iterable[str] = (),
    root_cause: str = "",
    fix: str = "",
    reason: str = "",
    now: dt.datetime | None = None,
) -> Incident:
    """Resolves with the resolution checklist; unticked criteria count like an early resolve."""
    now = now or timezone.now()
    checks = set(checks)
    known = {key for key, _label in RESOLUTION_CHECKLIST}
    if checks - known:
        raise DomainError("Unknown resolution criteria.", field="checks")
    missing = [label for key, label in RESOLUTION_CHECKLIST if key not in checks]
    if missing and not reason.strip():
        raise DomainError(f"Not yet confirmed: {'; '.join(missing)}. Confirm them or say why.", field="reason")
    locked = _locked(incident)
    locked.resolution_checks = {key: key in checks for key in known}
    locked.root_cause, locked.fix = root_cause.strip()[:300], fix.strip()[:300]
    locked.save(update_fields=["resolution_checks", "root_cause", "fix"])
    return incident_transition(incident=locked, status=Status.RESOLVED, by=by, reason=reason, now=now)


@transaction.atomic
def incident_acknowledge(*, incident: Incident, by: User, now: dt.datetime | None = None) -> Incident:
    """A responder is on it; MTTA ends here. Twice is a conflict, and records nothing."""
    now = now or timezone.now()
    incident = _locked(incident)
    if incident.acknowledged_at is not None:
        raise ConflictError(f"{incident.reference} was already acknowledged.")
    incident.acknowledged_at = now
    incident.save(update_fields=["acknowledged_at"])
    _log(incident, TimelineEntry.Kind.ACKNOWLEDGED, f"Acknowledged by {by}.", by=by, now=now)
    return incident


EDITABLE = {"title", "summary", "is_restricted"}


@transaction.atomic
def incident_edit(*, incident: Incident, by: User, now: dt.datetime | None = None, **changes: object) -> Incident:
    """Changes the words (title, summary) or the restriction; each change is on the timeline."""
    now = now or timezone.now()
    unknown = set(changes) - EDITABLE
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "title" in changes and not str(changes["title"]).strip():
        raise DomainError("Say in a few words what is broken.", field="title")
    incident = _locked(incident)
    changed = [field for field, value in changes.items() if getattr(incident, field) != value]
    for field in changed:
        setattr(incident, field, changes[field])
    if changed:
        incident.save(update_fields=changed)
        _log(incident, TimelineEntry.Kind.NOTE, f"Changed {', '.join(changed)}.", by=by, now=now, fields=changed)
    return incident
