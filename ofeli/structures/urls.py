from django.urls import path

from . import views

app_name = "structures"

urlpatterns = [
    path("<str:reference>/", views.detail, name="detail"),
]
