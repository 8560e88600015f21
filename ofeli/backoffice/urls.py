"""Back office of the Carif, under /ofeli/carif/ (the validation queue lives in
``ofeli.workflow.urls`` under /ofeli/carif/demandes/, account requests in
``ofeli.users.urls`` under /ofeli/carif/demandes-de-compte/)."""

from django.urls import path

from .views import journal, messaging, referentials, structures, users

app_name = "backoffice"

urlpatterns = [
    # structures: identity, organisation (C3, C5)
    path("structures/", structures.structure_list, name="structures"),
    path("structures/<str:reference>/identite/", structures.structure_identity, name="structure_identity"),
    # archiving (G4)
    path("formations/<str:reference>/archivage/", structures.formation_archive, name="formation_archive"),
    path("sessions/<str:reference>/archivage/", structures.session_archive, name="session_archive"),
    # messagerie (I1)
    path("messagerie/", messaging.threads, name="threads"),
    path("messagerie/plusieurs-structures/", messaging.broadcast, name="broadcast"),
    path("messagerie/<str:reference>/", messaging.thread, name="thread"),
    # referentials (superviseur)
    path("referentiels/", referentials.index, name="referentials"),
    path("referentiels/certifications/", referentials.certification_list, name="certifications"),
    path("referentiels/<slug:kind>/", referentials.referential_list, name="referential_list"),
    path("referentiels/<slug:kind>/ajouter/", referentials.referential_edit, name="referential_create"),
    path("referentiels/<slug:kind>/<int:pk>/", referentials.referential_edit, name="referential_edit"),
    # users and roles (superviseur)
    path("utilisateurs/", users.user_list, name="users"),
    path("utilisateurs/ajouter/", users.user_create, name="user_create"),
    path("utilisateurs/<int:pk>/", users.user_edit, name="user_edit"),
    # journal of staff actions
    path("journal/", journal.journal, name="journal"),
]
