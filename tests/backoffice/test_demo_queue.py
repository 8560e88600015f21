"""Issue 4 « done when »: a staff member processes, from the queue alone, the account
requests and change requests produced by the demo data; the OF user sees each decision in
the messagerie; the history of every published formation tells who changed what and when."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from ofeli.formations.models import Formation
from ofeli.messaging.models import Message
from ofeli.users.enums import AccountRequestStatus
from ofeli.users.models import AccountRequest, User
from ofeli.workflow.enums import ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest, HistoryEntry

pytestmark = pytest.mark.django_db


def test_g_a3_staff_processes_the_demo_queues(client, django_capture_on_commit_callbacks, mailoutbox):
    call_command("load_demo", verbosity=0)
    gestion = User.objects.get(email="gestion@example.org")
    client.force_login(gestion)
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.context["carif"]["a_valider"] >= 2

    # 1. Change requests, from the queue alone: the oldest is sent back, the others accepted.
    decided = []
    for turn in range(20):
        queue = client.get(reverse("workflow:queue"))
        rows = list(queue.context["page_obj"])
        if not rows:
            break
        change = rows[0]
        assert change.age is not None  # every submitted request shows its age
        review = client.get(reverse("workflow:review", args=[change.pk]))
        assert review.status_code == 200 and "Accepter et publier" in review.content.decode()
        if turn == 0:
            data = {"action": "needs_info", "comment": "Merci de préciser les modalités de recrutement."}
        else:
            data = {"action": "accept", "comment": "Formation indexée et publiée."}
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("workflow:review", args=[change.pk]), data)
        assert response.status_code == 302 and response.url == reverse("workflow:queue")
        decided.append(change.pk)
    assert len(decided) >= 2
    assert not ChangeRequest.objects.filter(status=ChangeStatus.SUBMITTED).exists()
    sent_back, *accepted = ChangeRequest.objects.filter(pk__in=decided).order_by("decided_at", "pk")
    assert sent_back.status == ChangeStatus.NEEDS_INFO
    assert all(c.status == ChangeStatus.ACCEPTED and c.decided_by == gestion for c in accepted)

    # 2. Account requests, from their queue: each is opened with its NDA file, then accepted.
    for _ in range(10):
        listing = client.get(reverse("users:account_requests"))
        rows = list(listing.context["page_obj"])
        if not rows:
            break
        account = rows[0]
        detail = client.get(reverse("users:account_request_detail", args=[account.pk]))
        assert "Télécharger" in detail.content.decode()
        file_response = client.get(reverse("users:account_request_file", args=[account.pk, "nda"]))
        assert file_response.status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("users:account_request_detail", args=[account.pk]),
                {
                    "accept-raison_sociale": f"Organisme {account.last_name}",
                    "accept-nom": f"Organisme {account.last_name}",
                    "accept": "",
                },
            )
        assert response.status_code == 302
    assert not AccountRequest.objects.filter(status=AccountRequestStatus.PENDING).exists()
    activation_mails = [m for m in mailoutbox if "Activez votre compte" in m.subject]
    assert len(activation_mails) == AccountRequest.objects.filter(status=AccountRequestStatus.ACCEPTED).count() >= 2

    # 3. Each OF user sees each decision in the messagerie (and received it by mail).
    for change in [sent_back, *accepted]:
        change.refresh_from_db()
        member = change.structure.memberships.select_related("user").first().user
        client.force_login(member)
        client.post(reverse("set_structure"), {"structure": change.structure.pk})
        inbox = client.get(reverse("messaging:inbox")).content.decode()
        if change.status == ChangeStatus.ACCEPTED:
            assert "Votre demande a été acceptée" in inbox
        else:
            assert "en attente de complément d&#x27;information" in inbox
            assert "Merci de préciser les modalités de recrutement." in inbox
        assert Message.objects.filter(structure=change.structure, from_carif=True, author=gestion).exists()
        assert change.created_by.email in [to for m in mailoutbox for to in m.to]

    # 4. The history of every published formation tells who accepted which version, and when.
    client.force_login(gestion)
    for formation in Formation.objects.filter(live_version__isnull=False):
        accepted_entries = HistoryEntry.objects.filter(formation=formation, action=HistoryAction.ACCEPTED)
        assert accepted_entries.exists(), formation.reference
        assert all(e.author_id and e.created_at for e in accepted_entries)
        history = client.get(reverse("workflow:history", args=["formation", formation.reference]))
        assert history.status_code == 200
        assert "Version publiée" in history.content.decode()
    for change in accepted:
        page = client.get(reverse("workflow:history", args=["formation", change.formation.reference])).content.decode()
        assert "Gestion OFFRE" in page and "Formation indexée et publiée." in page
