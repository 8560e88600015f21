from django.urls import path, re_path

from . import views

app_name = "workflow"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.review, name="review"),
    path("<int:pk>/assigner/", views.assign, name="assign"),
    re_path(
        r"^historique/(?P<kind>formation|structure)/(?P<reference>[0-9A-Za-z]+)/$", views.object_history, name="history"
    ),
]
