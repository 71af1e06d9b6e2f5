from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Postmortems"

    def ready(self) -> None:
        from incidents.signals import incident_resolved
        from postmortems.receivers import open_postmortem

        incident_resolved.connect(open_postmortem, dispatch_uid="postmortems.open_postmortem")
