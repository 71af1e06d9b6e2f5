from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config import views
from oncall.auth import AdminSignInForm, SignInForm, answers_429_when_throttled

api_v1 = [
    path("", include("oncall.api_urls")),
    path("", include("incidents.api")),
    path("", include("postmortems.api")),
    path("", include("statuspage.api")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("", include("oncall.urls")),
    path("incidents/", include("incidents.urls")),
    path("postmortems/", include("postmortems.urls")),
    path("statuspage/", include("statuspage.urls")),
    # Sign-in forms count failures and answer 429 past the limit (oncall/auth.py).
    path(
        "accounts/login/", answers_429_when_throttled(LoginView.as_view(authentication_form=SignInForm)), name="login"
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/login/", answers_429_when_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # Swagger UI's set-up script is served from its own URL (`?script`), so the page needs no
    # inline script. Redoc injects its styles at run time and searches in a blob: worker.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path(
        "api/redoc/",
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            SpectacularRedocView.as_view(url_name="schema")
        ),
        name="api-redoc",
    ),
    path("healthz", views.healthz, name="healthz"),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"

admin.site.login_form = AdminSignInForm
admin.site.site_header = "Fireline administration"
admin.site.site_title = "Fireline admin"
