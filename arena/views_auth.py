"""The login page, with a per-address attempt limit against password guessing."""
from django.conf import settings
from django.contrib.auth.views import LoginView

from arena.ratelimit import rate_limit_hit


class RateLimitedLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        ip = request.META.get("REMOTE_ADDR", "")
        if rate_limit_hit(key=f"login:{ip}", limit=settings.ARENA["LOGIN_ATTEMPTS_PER_15_MIN"], window_s=900):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, "Too many sign-in attempts. Please wait a few minutes.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)
