urlpatterns = []  # annotators' pages and JSON API
