"""Signals other apps listen to; sent on commit, with ids, so receivers read committed rows."""

from django.dispatch import Signal

# Sent when an incident is resolved; kwargs: incident_id. The postmortem app listens.
incident_resolved = Signal()
