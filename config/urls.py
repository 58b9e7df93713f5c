from django.contrib import admin
from django.templatetags.static import static
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from arena.views_auth import RateLimitedLoginView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="arena:index", permanent=False)),
    # Pages that don't extend base.html (the Django admin) still ask browsers for /favicon.ico.
    path("favicon.ico", RedirectView.as_view(url=static("arena/favicon.svg"), permanent=True)),
    path("accounts/login/", RateLimitedLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("arena/", include("arena.urls")),
    path("annotate/", include("annotate.urls")),
]
