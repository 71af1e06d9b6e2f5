from rest_framework.routers import DefaultRouter

from oncall.api import comptime, intake, notifications, paging, schedules, teams

router = DefaultRouter()
for module in (teams, schedules, notifications, paging, comptime, intake):
    module.register(router)

urlpatterns = router.urls
