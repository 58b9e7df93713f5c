"""The login page, with a per-address attempt limit against password guessing."""
from django.conf import settings
from django.contrib.auth.views import LoginView

from arena.ratelimit import rate_limit_hit


TOO_MANY = "Too many sign-in attempts. Please wait a few minutes."


class RateLimitedLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        ip = request.META.get("REMOTE_ADDR", "")
        if rate_limit_hit(key=f"login:{ip}", limit=settings.ARENA["LOGIN_ATTEMPTS_PER_15_MIN"], window_s=900):
            # An unbound form: a blocked attempt must not reach authenticate() (no password check).
            form = self.get_form_class()(request)
            context = self.get_context_data(form=form, rate_limited=TOO_MANY)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)
