from rest_framework.routers import DefaultRouter

from oncall import api

router = DefaultRouter()
router.register("teams", api.TeamViewSet, basename="team")
router.register("services", api.ServiceViewSet, basename="service")

urlpatterns = router.urls
