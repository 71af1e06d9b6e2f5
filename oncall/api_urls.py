from rest_framework.routers import DefaultRouter

from oncall.api import notifications, schedules, teams

router = DefaultRouter()
for module in (teams, schedules, notifications):
    module.register(router)

urlpatterns = router.urls
