from django.urls import path

from . import views

urlpatterns = [path("", views.usage, name="api_usage")]
