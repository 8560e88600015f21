from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("messagerie/", views.inbox, name="inbox"),
    path("messagerie/<int:pk>/piece-jointe/", views.attachment, name="attachment"),
    path("memos/", views.memos, name="memos"),
    path("memos/<int:pk>/", views.memo_action, name="memo_action"),
]
