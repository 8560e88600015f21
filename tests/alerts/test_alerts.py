"""P5: e-mail alerts of the public site — subscribe, confirm (double opt-in), nightly digest
of the new sessions one can still join, one-click unsubscribe (link and RFC 8058 headers),
« Gérer mes alertes », rate limits, no enumeration, purge of unconfirmed alerts."""

import datetime
import email
import email.policy
import re
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ofeli.alerts import criteria as criteria_module
from ofeli.alerts import digest, services, tokens
from ofeli.alerts.matching import matching_sessions
from ofeli.alerts.models import Alert, FirstPublication
from ofeli.core.management.commands.nightly import JOBS
from ofeli.mails import outbox
from ofeli.mails.models import MailKind, OutgoingMail
from ofeli.public.indexing import rebuild
from ofeli.public.search import SearchForm, search
from tests.public.conftest import CHATEAUROUX, TODAY, north_of

pytestmark = pytest.mark.django_db
D = datetime.timedelta
SEARCH = "/?q=boucher&lieu=Ch%C3%A2teauroux+%2836000%29&rayon=30"


@pytest.fixture
def eml(settings, tmp_path):
    """Mails written as .eml files, as in development (var/mails/)."""
    settings.EMAIL_BACKEND = "ofeli.core.mail.EmlFileBackend"
    settings.MAIL_EML_DIR = tmp_path / "mails"
    return settings.MAIL_EML_DIR


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the outbox sends after the commit; tasks are immediate)."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def _emls(folder):
    return (
        [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        ]
        if folder.exists()
        else []
    )


def _body(message):
    return message.get_content()


def _link(text, name):
    prefix = re.escape(reverse(name, args=["TOKEN"]).replace("TOKEN/", ""))
    match = re.search(r"https?://[^\s]*?(" + prefix + r"[^\s/]+/)", text)
    assert match, text
    return match.group(1)


def _subscribe(client, commit, address="lea@example.fr", query="q=boucher"):
    page = client.get(f"/alertes/creer/?{query}")
    assert page.status_code == 200
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.content.decode())
    data = {}
    for name, value in hidden:
        data.setdefault(name, []).append(value)
    return commit(client.post, "/alertes/creer/", {**data, "email": address})


def test_p5_life_cycle_subscribe_confirm_digest_unsubscribe(client, offer, commit, eml):
    old = offer.formation("CAP Boucher", sessions=[{"debut": TODAY + D(40)}])
    digest.run()  # the offer published before the alert is recorded as such

    # « Créer une alerte » on the results page carries the search's criteria.
    results = client.get(SEARCH).content.decode()
    href = re.search(r'<a class="[^"]*" href="(/alertes/creer/\?[^"]+)">Créer une alerte', results).group(1)
    assert "q=boucher" in href and "lieu=" in href and "page=" not in href
    form_page = client.get(href.replace("&amp;", "&")).content.decode()
    assert (
        "« boucher »" in form_page
        and "autour de Châteauroux (36000), dans un rayon de 30 km, et les formations à distance" in form_page
    )

    response = _subscribe(client, commit, "Lea@Example.fr", href.split("?", 1)[1].replace("&amp;", "&"))
    assert response.status_code == 302 and response["Location"] == reverse("alerts:requested")
    alert = Alert.objects.get()
    assert alert.email == "lea@example.fr" and not alert.is_confirmed
    assert alert.criteria == {"q": "boucher", "lieu": "Châteauroux (36000)", "rayon": "30"}
    [confirmation] = _emls(eml)
    assert confirmation["To"] == "lea@example.fr"
    assert "Confirmez votre alerte" in confirmation["Subject"]

    # Nothing is sent before the confirmation, whatever is published meanwhile.
    new = offer.formation("Boucher charcutier traiteur", sessions=[{"point": north_of(CHATEAUROUX, 12)}])
    digest.run()
    assert len(_emls(eml)) == 1

    confirm_path = _link(_body(confirmation), "alerts:confirm")
    page = client.get(confirm_path)
    assert page.status_code == 200 and "Confirmer mon alerte" in page.content.decode()
    alert.refresh_from_db()
    assert not alert.is_confirmed  # opening the link (a mail scanner...) confirms nothing
    assert "Votre alerte est confirmée" in client.post(confirm_path).content.decode()
    alert.refresh_from_db()
    assert alert.is_confirmed

    # Published after the confirmation: one matching joinable session, one matching whose
    # registration is closed, one far away, one about something else.
    version = new.live_version
    fresh = offer.session(version, debut=TODAY + D(50), point=north_of(CHATEAUROUX, 5))
    closed = offer.session(version, debut=TODAY + D(20), fin_inscription=TODAY - D(1))
    far = offer.session(version, debut=TODAY + D(20), point=north_of(CHATEAUROUX, 80))
    rebuild([new.pk])
    other = offer.formation("Comptabilité", sessions=[{}])
    commit(digest.run)
    mails = _emls(eml)
    assert len(mails) == 2
    message = mails[-1]
    text = _body(message)
    assert message["To"] == "lea@example.fr"
    assert fresh.session.reference in text
    # The session published before the confirmation is not new; nor the others.
    for sv in (closed, far, *new.live_version.sessions.exclude(pk=fresh.pk), *old.live_version.sessions.all()):
        if sv.pk != fresh.pk:
            assert sv.session.reference not in text
    assert other.live_version.sessions.get().session.reference not in text
    assert message["Subject"].strip() == "1 nouvelle session pour votre alerte « boucher »"
    unsubscribe = _link(text, "alerts:unsubscribe")
    assert message["List-Unsubscribe"].strip() == f"<http://127.0.0.1:8000{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    alert.refresh_from_db()
    assert alert.last_sent_at is not None

    # Not twice: the next run has nothing new.
    commit(digest.run)
    assert len(_emls(eml)) == 2

    # One click from the mail client (RFC 8058): a POST without cookie nor CSRF token.
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        unsubscribe, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "Vous êtes désinscrit de cette alerte" in response.content.decode()
    assert not Alert.objects.exists()
    assert not OutgoingMail.objects.filter(to="lea@example.fr").exists()  # purged with the alert
    assert mail_client.get(unsubscribe).status_code == 404


def test_p5_unsubscribe_link_in_the_mail_is_one_button(client, commit):
    alert = _confirmed("paul@example.fr")
    path = reverse("alerts:unsubscribe", args=[tokens.make(alert, tokens.UNSUBSCRIBE)])
    page = client.get(path)
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    assert Alert.objects.filter(pk=alert.pk).exists()  # opening the link alone unsubscribes nobody
    html = page.content.decode()
    assert html.count('type="submit"') == 1 and "Me désinscrire" in html
    client.post(path)
    assert not Alert.objects.filter(pk=alert.pk).exists()


def _confirmed(address, criteria=None, when=None):
    alert = Alert.objects.create(email=address, criteria=criteria or {"q": "boucher"})
    services.confirm(alert, now=when)
    alert.refresh_from_db()
    return alert


def test_p5_refused_bad_email_french_message_on_the_field_and_criteria_kept(client):
    response = client.post("/alertes/creer/", {"q": "boucher", "dpt": ["36", "18"], "email": "lea@exemple"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email-error"' in html
    assert "Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr." in html
    assert 'value="lea@exemple"' in html  # what was typed is kept
    assert '<input type="hidden" name="q" value="boucher">' in html
    assert (
        '<input type="hidden" name="dpt" value="18">' in html and '<input type="hidden" name="dpt" value="36">' in html
    )
    assert "Cher (18), Indre (36)" in html
    assert not Alert.objects.exists() and not OutgoingMail.objects.exists()

    empty = client.post("/alertes/creer/", {"q": "boucher", "email": ""}).content.decode()
    assert "Saisissez votre adresse e-mail." in empty


def test_p5_refused_criteria_and_empty_search(client):
    wrong = client.post("/alertes/creer/", {"code": "RNCP-36395", "email": "lea@example.fr"})
    assert wrong.status_code == 400
    assert "Saisissez un code RNCP ou RS" in wrong.content.decode()
    assert 'href="/?code=RNCP-36395"' in wrong.content.decode()  # back to the search as typed
    unknown = client.get("/alertes/creer/?lieu=Nullepart").content.decode()
    assert "Commune inconnue" in unknown
    nothing = client.get("/alertes/creer/").content.decode()
    assert "Choisissez au moins un critère de recherche" in nothing
    assert not Alert.objects.exists()


def test_p5_rate_limit_per_client_address_and_per_email(client, settings):
    settings.ALERT_RATE_LIMIT = 3
    settings.ALERT_EMAIL_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post("/alertes/creer/", {"q": "boucher", "email": "lea@example.fr"}).status_code == 302
    blocked = client.post("/alertes/creer/", {"q": "boucher", "email": "LEA@example.fr"})
    assert blocked.status_code == 429
    html = blocked.content.decode()
    assert "Trop de demandes ont été envoyées" in html
    assert '<input type="hidden" name="q" value="boucher">' in html  # the search is kept
    assert Alert.objects.count() == 2
    # Another address from the same client: the third request of the hour still passes,
    # the fourth is over the per-address limit.
    assert client.post("/alertes/creer/", {"q": "boucher", "email": "paul@example.fr"}).status_code == 429
    other_client = Client(REMOTE_ADDR="192.0.2.7")
    assert other_client.post("/alertes/creer/", {"q": "boucher", "email": "paul@example.fr"}).status_code == 302
    # « Gérer mes alertes » is limited too.
    for _ in range(2):
        assert other_client.post("/alertes/", {"email": "zoe@example.fr"}).status_code == 302
    assert other_client.post("/alertes/", {"email": "zoe@example.fr"}).status_code == 429


def test_p5_no_enumeration_same_answer_whether_the_address_has_alerts(client, commit):
    _confirmed("lea@example.fr")
    known = _subscribe(client, commit, "lea@example.fr")
    unknown = _subscribe(client, commit, "nobody@example.fr")
    assert known.status_code == unknown.status_code == 302 and known["Location"] == unknown["Location"]
    # Each address gets only its own confirmation mail, which says nothing of other alerts.
    confirmations = [m for m in django_mail.outbox if "Confirmez" in m.subject]
    assert sorted(m.to[0] for m in confirmations) == ["lea@example.fr", "nobody@example.fr"]
    bodies = [m.body.replace(m.to[0], "") for m in confirmations]
    assert [re.sub(r"/alertes/confirmer/\S+", "", b) for b in bodies][0] == [
        re.sub(r"/alertes/confirmer/\S+", "", b) for b in bodies
    ][1]

    django_mail.outbox.clear()
    first = commit(client.post, "/alertes/", {"email": "lea@example.fr"})
    second = commit(client.post, "/alertes/", {"email": "nobody@example.fr"})
    assert first["Location"] == second["Location"] == reverse("alerts:manage_requested")
    assert [m.to for m in django_mail.outbox] == [["lea@example.fr"]]  # a link only to an address with alerts


def test_p5_manage_my_alerts_from_a_link_sent_by_mail(client, commit, django_assert_max_num_queries):
    first = _confirmed("lea@example.fr", {"q": "boucher"})
    second = _confirmed("lea@example.fr", {"q": "comptabilité", "dpt": ["36"]})
    _confirmed("paul@example.fr", {"q": "soudure"})
    assert "Gérer mes alertes" in client.get("/alertes/").content.decode()
    commit(client.post, "/alertes/", {"email": " Lea@example.fr "})
    [message] = django_mail.outbox
    assert message.subject.startswith("Vos alertes")
    path = _link(message.body, "alerts:manage")
    page = client.get(path)
    html = page.content.decode()
    assert page.status_code == 200 and page["X-Robots-Tag"] == "noindex, nofollow"
    assert "« boucher »" in html and "« comptabilité »" in html and "Indre (36)" in html
    assert "soudure" not in html  # another address's alert
    assert html.count("Se désinscrire<span") == 2

    # Someone else's alert cannot be removed from this page.
    paul = Alert.objects.get(email="paul@example.fr")
    client.post(path, {"alert": paul.pk})
    assert Alert.objects.filter(pk=paul.pk).exists()
    client.post(path, {"alert": "9" * 30})  # a forged id: no error
    # Unsubscribing the alert the link names: the page follows with the next one.
    response = client.post(path, {"alert": first.pk})
    assert response.status_code == 302 and response["Location"] != path
    remaining = client.get(response["Location"]).content.decode()
    assert (
        "L&#x27;alerte est supprimée" in remaining
        and "« comptabilité »" in remaining
        and "« boucher »" not in remaining
    )
    done = client.post(response["Location"], {"alert": second.pk}).content.decode()
    assert "Vous n'avez plus aucune alerte" in done
    assert not Alert.objects.filter(email="lea@example.fr").exists()
    assert not OutgoingMail.objects.filter(to="lea@example.fr").exists()


def test_p5_manage_page_costs_the_same_queries_whatever_the_number_of_alerts(client, django_assert_num_queries):
    anchor = _confirmed("lea@example.fr")
    path = reverse("alerts:manage", args=[tokens.make(anchor, tokens.MANAGE)])
    client.get(path)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(path)
    for word in ("soudure", "cuisine", "électricité", "coiffure"):
        _confirmed("lea@example.fr", {"q": word})
    with CaptureQueriesContext(connection) as five:
        assert client.get(path).content.decode().count("data-alert=") == 5
    assert len(five) == len(one)


def test_p5_expired_links(client, settings):
    alert = Alert.objects.create(email="lea@example.fr", criteria={"q": "boucher"})
    token = tokens.make(alert, tokens.CONFIRM)
    later = timezone.now() + timedelta(days=settings.ALERT_CONFIRM_DAYS, minutes=1)
    from unittest import mock

    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        page = client.get(reverse("alerts:confirm", args=[token]))
    assert page.status_code == 404 and "Ce lien de confirmation n&#x27;est plus valable" in page.content.decode()
    assert client.get(reverse("alerts:confirm", args=["abc"])).status_code == 404
    assert client.get(reverse("alerts:manage", args=[token])).status_code == 404  # wrong purpose
    # A token of a deleted alert never reaches a new alert that reuses its id.
    alert.delete()
    Alert.objects.create(pk=alert.pk, email="other@example.fr", criteria={"q": "x"})
    assert client.get(reverse("alerts:confirm", args=[token])).status_code == 404


def test_p5_purge_of_unconfirmed_alerts(commit, settings):
    stale = commit(services.subscribe, "old@example.fr", {"q": "boucher"})
    recent = commit(services.subscribe, "new@example.fr", {"q": "boucher"})
    confirmed = _confirmed("kept@example.fr")
    Alert.objects.filter(pk__in=[stale.pk, confirmed.pk]).update(
        created_at=timezone.now() - timedelta(days=settings.ALERT_CONFIRM_DAYS, hours=1)
    )
    run = digest.run()
    assert run.purged == 1
    assert set(Alert.objects.values_list("email", flat=True)) == {"new@example.fr", "kept@example.fr"}
    assert not OutgoingMail.objects.filter(to="old@example.fr").exists()  # its confirmation mail too
    assert OutgoingMail.objects.filter(to=recent.email, kind=MailKind.ALERT_CONFIRMATION).exists()


def test_p5_confirmation_of_a_duplicate_and_the_limit_per_address(client, settings):
    _confirmed("lea@example.fr", {"q": "boucher"})
    twin = Alert.objects.create(email="lea@example.fr", criteria={"q": "boucher"})
    html = client.post(reverse("alerts:confirm", args=[tokens.make(twin, tokens.CONFIRM)])).content.decode()
    assert "Cette alerte était déjà confirmée" in html
    assert Alert.objects.filter(email="lea@example.fr").count() == 1
    settings.ALERT_MAX_PER_EMAIL = 1
    extra = Alert.objects.create(email="lea@example.fr", criteria={"q": "soudure"})
    response = client.post(reverse("alerts:confirm", args=[tokens.make(extra, tokens.CONFIRM)]))
    assert response.status_code == 409 and "Vous avez déjà 1 alertes" in response.content.decode()
    extra.refresh_from_db()
    assert not extra.is_confirmed


def test_p5_alert_matching_agrees_with_the_public_search(offer):
    """The digest's criteria are the public search's: same sessions for the same criteria."""
    offer.formation("CAP Boucher", sessions=[{}, {"point": north_of(CHATEAUROUX, 40)}, {"financements": ("CPF01",)}])
    offer.formation("Boucherie à distance", sessions=[{"modalite": "2", "point": None}])
    offer.formation("Comptabilité", sessions=[{"debut": TODAY + D(200), "fin": TODAY + D(300)}])
    cases = [
        "q=boucher",
        "q=boucher&lieu=Ch%C3%A2teauroux&rayon=30",
        "lieu=Indre",
        "fin=cpf",
        "modalite=2&modalite=0",
        "debut_min=" + (TODAY + D(100)).isoformat(),
        "q=comptabilite&dpt=36",
    ]
    from django.http import QueryDict

    for query in cases:
        parsed = criteria_module.Parsed(QueryDict(query))
        assert not parsed.errors, (query, parsed.errors)
        data = criteria_module.cleaned(parsed.criteria)
        form = SearchForm(QueryDict(query + "&vue=sessions"))
        assert form.is_valid()
        expected = search(form.cleaned_data, spell=False).total
        assert matching_sessions(data, TODAY).count() == expected, query
        assert expected or query == "q=comptabilite&dpt=36"


def test_p5_first_publication_recorded_when_a_change_is_accepted(django_capture_on_commit_callbacks):
    from tests.factories import published_formation

    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        formation = published_formation()
    session = formation.live_version.sessions.get().session
    first = FirstPublication.objects.get(session=session)
    assert before <= first.published_at <= timezone.now()
    # The sweep keeps it (never recorded twice, never moved).
    digest.record_publications(timezone.now() + timedelta(days=1))
    assert FirstPublication.objects.get(session=session).published_at == first.published_at


def test_p5_sweep_dates_unrecorded_sessions_no_earlier_than_the_previous_run(offer):
    digest.run()
    previous = digest.DigestRun.objects.get()
    formation = offer.formation("CAP Boucher", sessions=[{}])
    # Published another way than the workflow (an import, a bulk load): its formation says
    # it was published long ago, but it was not there at the previous run.
    type(formation).objects.filter(pk=formation.pk).update(published_at=timezone.now() - timedelta(days=30))
    digest.run()
    first = FirstPublication.objects.get(session__formation=formation)
    assert first.published_at >= previous.started_at


def test_p5_outbox_extra_headers_are_sent_and_checked(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.queue(
            "lea@example.fr",
            "Objet",
            "Texte",
            kind=MailKind.OTHER,
            headers={
                "List-Unsubscribe": "<https://exemple.fr/x/>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
    [message] = django_mail.outbox
    assert message.extra_headers["List-Unsubscribe"] == "<https://exemple.fr/x/>"
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in message.message().as_string()
    for bad in ({"X-Test": "a\r\nBcc: victim@example.fr"}, {"Bcc": "victim@example.fr"}, {"Bad:Name": "x"}):
        with pytest.raises(ValueError):
            outbox.queue("lea@example.fr", "Objet", "Texte", kind=MailKind.OTHER, headers=bad)


def test_p5_nightly_runs_the_digest_before_the_mails_are_sent():
    names = [name for name, _ in JOBS]
    assert names.index("rebuild_public_index") < names.index("send_alerts") < names.index("send_mails")


def test_p5_send_alerts_command(capsys):
    _confirmed("lea@example.fr")
    call_command("send_alerts")
    assert "1 alerte(s) examinée(s)" in capsys.readouterr().out


def test_p5_personal_data_page_lists_the_alerts_data(client):
    html = client.get(reverse("personal_data")).content.decode()
    assert 'id="alertes"' in html
    for words in ("adresse e-mail", "critères", "désinscri", "confirm", "effacée 3 jours après"):
        assert words in html


def test_p5_create_alert_button_only_for_a_search_it_can_save(client, offer):
    offer.formation("CAP Boucher", sessions=[{}])
    assert "Créer une alerte" in client.get("/?q=boucher").content.decode()
    assert "Créer une alerte" in client.get("/?dpt=36&vue=sessions&page=2").content.decode()
    for query in ("/", "/?rayon=30", "/?code=RNCP-36395", "/?lieu=Nullepart"):
        assert "Créer une alerte" not in client.get(query).content.decode(), query
    # A typo corrected by the search: the alert keeps the words the results were found with.
    html = client.get("/?q=bouchre").content.decode()
    assert "résultats pour « <strong>boucher</strong> »" in html
    assert re.search(r'href="(/alertes/creer/[^"]+)"', html).group(1) == "/alertes/creer/?q=boucher"


def test_p5_digest_costs_the_same_queries_whatever_the_number_of_new_sessions(
    offer, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def one_run(sessions):
        Alert.objects.all().delete()
        digest.run()
        _confirmed("lea@example.fr", {"q": "boucher"})
        offer.formation("CAP Boucher", sessions=[{"debut": TODAY + D(10 + i)} for i in range(sessions)])
        with CaptureQueriesContext(connection) as queries:
            run = digest.run()
        assert run.mails == 1
        return len(queries)

    assert one_run(1) == one_run(6)
