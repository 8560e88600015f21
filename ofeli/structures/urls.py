from django.urls import path

from . import views

app_name = "structures"

urlpatterns = [
    path("<str:reference>/", views.detail, name="detail"),
    path("<str:reference>/contacts/", views.contacts_table, name="contacts_table"),
    path("<str:reference>/contacts/ajouter/", views.contact_create, name="contact_create"),
    path("<str:reference>/contacts/<str:contact_reference>/", views.contact_edit, name="contact_edit"),
    path("<str:reference>/contacts/<str:contact_reference>/supprimer/", views.contact_delete, name="contact_delete"),
    path("<str:reference>/documents/", views.document_upload, name="document_upload"),
    path("<str:reference>/documents/<int:pk>/", views.document_download, name="document_download"),
]
