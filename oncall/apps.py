from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On-call"

    def ready(self) -> None:
        # Registers the start-up checks; importing is what registers them.
        from oncall import checks  # noqa: F401
