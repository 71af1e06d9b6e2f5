from rest_framework.routers import DefaultRouter

from oncall.api import comptime, intake, notifications, paging, schedules, teams

# No `.json` suffix routes: the API speaks JSON only, and suffixed actions would pass `format` to
# action methods that do not take it.
router = DefaultRouter()
router.include_format_suffixes = False
for module in (teams, schedules, notifications, paging, comptime, intake):
    module.register(router)

urlpatterns = router.urls
