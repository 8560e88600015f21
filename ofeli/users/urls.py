from django.urls import path

from . import views

app_name = "users"

urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("creer-mon-compte/", views.account_request, name="account_request"),
    path("creer-mon-compte/confirmation/", views.account_request_done, name="account_request_done"),
    path("activer/<uidb64>/<token>/", views.activate, name="activate"),
    path("mot-de-passe-oublie/", views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe-oublie/envoye/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("mot-de-passe/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("carif/demandes-de-compte/", views.account_request_list, name="account_requests"),
    path("carif/demandes-de-compte/<int:pk>/", views.account_request_detail, name="account_request_detail"),
    path(
        "carif/demandes-de-compte/<int:pk>/fichier/<str:which>/",
        views.account_request_file,
        name="account_request_file",
    ),
]
