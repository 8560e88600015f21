from django.urls import path

from . import search, views

app_name = "formations"

urlpatterns = [
    path("", search.search, name="search"),
    path("ajouter/", views.create, name="create"),
    path("certifications/", views.certification_results, name="certification_results"),
    path("mesures/", views.mesures, name="mesures"),
    path("<str:reference>/", views.detail, name="detail"),
    path("<str:reference>/demande-de-modification/", views.request_change, name="request_change"),
    path("<str:reference>/sessions/<str:session_reference>/", views.session, name="session"),
    path(
        "<str:reference>/sessions/<str:session_reference>/dupliquer/",
        views.duplicate_session,
        name="duplicate_session",
    ),
    path(
        "<str:reference>/sessions/<str:session_reference>/structures/",
        views.trainer_results,
        name="trainer_results",
    ),
    path(
        "<str:reference>/sessions/<str:session_reference>/contacts/",
        views.contact_results,
        name="contact_results",
    ),
]
