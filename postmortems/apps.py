from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Postmortems"

    def ready(self) -> None:
        from incidents.metrics import EXTRA_PROVIDERS
        from incidents.panels import INCIDENT_PANELS
        from incidents.signals import incident_resolved
        from postmortems.metrics import repeat_rate
        from postmortems.panels import postmortem_panel
        from postmortems.receivers import open_postmortem

        incident_resolved.connect(open_postmortem, dispatch_uid="postmortems.open_postmortem")
        if repeat_rate not in EXTRA_PROVIDERS:
            EXTRA_PROVIDERS.append(repeat_rate)
        if postmortem_panel not in INCIDENT_PANELS:
            INCIDENT_PANELS.append(postmortem_panel)
