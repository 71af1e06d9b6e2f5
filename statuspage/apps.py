from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Status page"

    def ready(self) -> None:
        from incidents.panels import INCIDENT_PANELS
        from statuspage.panels import customer_panel

        if customer_panel not in INCIDENT_PANELS:
            INCIDENT_PANELS.insert(0, customer_panel)
