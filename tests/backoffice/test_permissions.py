"""Every staff screen refuses OF users (403) and sends anonymous visitors to the login page;
referentials and users are for the superviseur only (gestionnaires get 403)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import get_resolver, reverse
from django.utils import timezone

from ofeli.formations.models import Formation, Session
from ofeli.referentials.models import Dispositif
from ofeli.users.models import AccountRequest
from ofeli.workflow import services
from tests.factories import DispositifFactory, StructureFactory, UserFactory, published_formation

pytestmark = pytest.mark.django_db

# (url name, GET allowed, superviseur only)
SCREENS = {
    "workflow:queue": (True, False),
    "workflow:review": (True, False),
    "workflow:assign": (False, False),
    "workflow:history": (True, False),
    "users:account_requests": (True, False),
    "users:account_request_detail": (True, False),
    "users:account_request_file": (True, False),
    "backoffice:structures": (True, False),
    "backoffice:structure_identity": (True, False),
    "backoffice:formation_archive": (False, False),
    "backoffice:session_archive": (False, False),
    "backoffice:threads": (True, False),
    "backoffice:thread": (True, False),
    "backoffice:broadcast": (True, False),
    "backoffice:journal": (True, False),
    "backoffice:referentials": (True, True),
    "backoffice:certifications": (True, True),
    "backoffice:referential_list": (True, True),
    "backoffice:referential_create": (True, True),
    "backoffice:referential_edit": (True, True),
    "backoffice:users": (True, True),
    "backoffice:user_create": (True, True),
    "backoffice:user_edit": (True, True),
}


def staff_url_names():
    """Every URL name of the back office, the validation screens and the Carif account screens."""
    resolver = get_resolver()
    names = set()
    for namespace in ("backoffice", "workflow"):
        _, sub = resolver.namespace_dict[namespace]
        names |= {f"{namespace}:{name}" for name in sub.reverse_dict if isinstance(name, str)}
    _, users = resolver.namespace_dict["users"]
    names |= {f"users:{n}" for n in users.reverse_dict if isinstance(n, str) and n.startswith("account_request")}
    names -= {"users:account_request", "users:account_request_done"}  # the public « Créer mon compte »
    return names


@pytest.fixture
def urls(db):
    formation = published_formation()
    session = Session.objects.get(formation=formation)
    change = services.start_formation_change(formation, formation.created_by or UserFactory())
    account = AccountRequest.objects.create(
        siret="21860076500018",
        nda="24370369337",
        last_name="Dupont",
        first_name="Marie",
        phone="0238000000",
        email="marie@example.org",
        consent_at=timezone.now(),
        nda_file=ContentFile(b"%PDF-1.4 test", name="nda.pdf"),
    )
    DispositifFactory()
    structure = formation.structure
    args = {
        "workflow:queue": [],
        "workflow:review": [change.pk],
        "workflow:assign": [change.pk],
        "workflow:history": ["formation", formation.reference],
        "users:account_requests": [],
        "users:account_request_detail": [account.pk],
        "users:account_request_file": [account.pk, "nda"],
        "backoffice:structures": [],
        "backoffice:structure_identity": [structure.reference],
        "backoffice:formation_archive": [formation.reference],
        "backoffice:session_archive": [session.reference],
        "backoffice:threads": [],
        "backoffice:thread": [structure.reference],
        "backoffice:broadcast": [],
        "backoffice:journal": [],
        "backoffice:referentials": [],
        "backoffice:certifications": [],
        "backoffice:referential_list": ["dispositifs"],
        "backoffice:referential_create": ["dispositifs"],
        "backoffice:referential_edit": ["dispositifs", Dispositif.objects.first().pk],
        "backoffice:users": [],
        "backoffice:user_create": [],
        "backoffice:user_edit": [UserFactory().pk],
    }
    return {name: reverse(name, args=a) for name, a in args.items()}


def test_every_staff_screen_is_listed_here():
    assert staff_url_names() == set(SCREENS)


def test_a3_g_i1_anonymous_visitors_go_to_the_login_page(client, urls):
    for name, url in urls.items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, method)
            assert response.url.startswith(reverse("users:login")), name


def test_a3_g_i1_of_users_get_403_on_every_staff_screen(client, urls, of_member):
    client.force_login(of_member.user)
    for name, url in urls.items():
        assert client.get(url).status_code == 403, name
        assert client.post(url, {"action": "archive"}).status_code == 403, name
    # nothing was done
    assert not Formation.objects.filter(archived_at__isnull=False).exists()
    assert not Session.objects.filter(archived_at__isnull=False).exists()


def test_g_i1_gestionnaire_reaches_staff_screens_but_not_the_superviseur_ones(staff_client, urls):
    for name, url in urls.items():
        get_allowed, superviseur_only = SCREENS[name]
        response = staff_client.get(url)
        if superviseur_only:
            assert response.status_code == 403, name
        elif get_allowed:
            assert response.status_code == 200, name
        else:
            assert response.status_code == 405, name


def test_superviseur_reaches_every_screen(superviseur_client, urls):
    for name, url in urls.items():
        get_allowed, _ = SCREENS[name]
        assert superviseur_client.get(url).status_code == (200 if get_allowed else 405), name


def test_staff_pages_show_the_carif_menu_and_panels(staff_client, urls):
    formation = Formation.objects.get()
    page = staff_client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    assert "Actions du Carif" in page and "Archiver la formation" in page
    page = staff_client.get(reverse("structures:detail", args=[formation.structure.reference])).content.decode()
    assert "Modifier l'identité et l'organisation" in page
    assert "Messagerie Carif" in page and "Journal" in page
    assert "Référentiels" not in page  # gestionnaire


def test_of_user_sees_no_carif_panel(client, urls):
    formation = Formation.objects.get()
    member = formation.structure.memberships.first()
    client.force_login(member.user)
    page = client.get(reverse("formations:detail", args=[formation.reference])).content.decode()
    assert "Actions du Carif" not in page
    other = StructureFactory()
    assert client.get(reverse("backoffice:thread", args=[other.reference])).status_code == 403
