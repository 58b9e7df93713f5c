urlpatterns = []  # staff dashboard
