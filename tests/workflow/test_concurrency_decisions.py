"""R2: decisions and corrections are serialised.

Real threads, each with its own database connection and Django test client, send the
requests of the issue at the same moment (a barrier releases them together), many times
over. Whatever the order the database lets them through, there is one clear outcome, no
error page, and no correction is ever written into a version after it was published.
A second set of tests stops one request inside the window the bug needed (state read,
lock not yet taken) to prove the state is checked again under the lock.

PostgreSQL only: SQLite has no row locks (``select_for_update`` is a no-op there) and its
shared in-memory test database answers concurrent writers with « database table is
locked » at once instead of waiting, so it cannot run two transactions side by side."""

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from ofeli.formations.models import Formation, FormationVersion
from ofeli.workflow import services
from ofeli.workflow.enums import ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest
from tests.factories import StaffFactory, SuperviseurFactory, draft_formation, published_formation
from tests.workflow.pages import client_for, page_data, text

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs row locks and concurrent transactions: PostgreSQL only (see the module docstring)",
    ),
]

ROUNDS = 6
ORIGINAL = "Tenir la comptabilité courante."
CORRECTED = "Objectif corrigé par le superviseur."


def together(*posts):
    """Sends the posts, each (client, url, data), from threads released at the same
    instant; returns the responses (none may be an error)."""
    barrier = threading.Barrier(len(posts))
    results = [None] * len(posts)

    def run(index, post):
        client, url, data = post
        try:
            barrier.wait()
            results[index] = client.post(url, data)
        except Exception as error:  # noqa: BLE001 - reported to the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, post)) for i, post in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never finished (deadlock)"
    for result in results:
        assert not isinstance(result, Exception), repr(result)
        assert result.status_code in (200, 302), result.status_code
    return results


def formation_post(client, url, **fields):
    return page_data(client.get(url), **fields)


def submitted(**kwargs):
    change = draft_formation(**kwargs)
    services.submit(change, change.created_by)
    return change


def review_url(change):
    return reverse("workflow:review", args=[change.pk])


def detail_url(change):
    return reverse("formations:detail", args=[change.formation.reference])


def live_objectif(change):
    formation = Formation.objects.select_related("live_version").get(pk=change.formation_id)
    return formation.live_version.objectif if formation.live_version else None


def test_r2_accept_and_correct_at_once_never_change_what_was_published():
    gestionnaire, superviseur = StaffFactory(), SuperviseurFactory()
    outcomes = set()
    for _ in range(ROUNDS):
        change = submitted()
        accepting, correcting = client_for(gestionnaire), client_for(superviseur)
        correction = formation_post(correcting, detail_url(change), **{"f-objectif": CORRECTED})
        accept, correct = together(
            (accepting, review_url(change), {"action": "accept"}),
            (correcting, detail_url(change), correction),
        )
        change.refresh_from_db()
        assert change.status == ChangeStatus.ACCEPTED and accept.status_code == 302
        corrected_first = change.history.filter(action=HistoryAction.STAFF_CORRECTION).exists()
        if corrected_first:
            # Corrected under the lock, then accepted: the published version holds the
            # correction, logged before the decision.
            assert live_objectif(change) == CORRECTED
            actions = list(change.history.order_by("created_at", "pk").values_list("action", flat=True))
            assert actions.index(HistoryAction.STAFF_CORRECTION) < actions.index(HistoryAction.ACCEPTED)
        else:
            # Refused: by the lock (page re-rendered with the message and what was typed)
            # or because the request was already decided when the post arrived.
            assert live_objectif(change) == ORIGINAL
            if correct.status_code == 200:
                assert "n'est plus modifiable" in text(correct) and CORRECTED in text(correct)
        outcomes.add(corrected_first)
    assert outcomes  # every round ended in one of the two orders


def test_r2_accept_and_cancel_at_once_end_in_one_outcome():
    gestionnaire = StaffFactory()
    for _ in range(ROUNDS):
        change = draft_formation()
        owner = client_for(change.created_by)
        stale = formation_post(owner, detail_url(change), action="cancel")  # page loaded as a draft
        services.submit(change, change.created_by)
        accepting = client_for(gestionnaire)
        accept, cancel = together(
            (accepting, review_url(change), {"action": "accept"}),
            (owner, detail_url(change), stale),
        )
        change.refresh_from_db()
        # A submitted request is not the OF's to delete any more: the decision stands.
        assert change.status == ChangeStatus.ACCEPTED
        assert Formation.objects.get(pk=change.formation_id).live_version_id == change.formation_version_id
        assert cancel.status_code == 302


def test_r2_submit_and_cancel_at_once_end_in_one_outcome():
    outcomes = set()
    for _ in range(ROUNDS):
        formation = published_formation()
        user = formation.change_requests.get().created_by
        change = services.start_formation_change(formation, user)
        a, b = client_for(user), client_for(user)
        submit_data = formation_post(a, detail_url(change), action="submit")
        cancel_data = formation_post(b, detail_url(change), action="cancel")
        submit, cancel = together(
            (a, detail_url(change), submit_data),
            (b, detail_url(change), cancel_data),
        )
        change.refresh_from_db()
        assert change.status in (ChangeStatus.SUBMITTED, ChangeStatus.CANCELLED)
        if change.status == ChangeStatus.SUBMITTED:
            assert change.formation_version_id is not None
            assert change.history.filter(action=HistoryAction.CANCELLED).count() == 0
        else:
            assert change.formation_version_id is None
            assert not FormationVersion.objects.filter(formation=formation).exclude(pk=formation.live_version_id)
            assert change.history.filter(action=HistoryAction.SUBMITTED).count() == 0
        assert submit.status_code in (200, 302) and cancel.status_code == 302
        outcomes.add(change.status)
    assert outcomes


def test_r2_submit_and_cancel_of_a_new_formation_at_once():
    for _ in range(ROUNDS):
        change = draft_formation()
        a, b = client_for(change.created_by), client_for(change.created_by)
        submit_data = formation_post(a, detail_url(change), action="submit")
        cancel_data = formation_post(b, detail_url(change), action="cancel")
        together(
            (a, detail_url(change), submit_data),
            (b, detail_url(change), cancel_data),
        )
        still = ChangeRequest.objects.filter(pk=change.pk).first()
        # Either sent for validation, or deleted with the never-published formation.
        assert (still is not None and still.status == ChangeStatus.SUBMITTED) or not Formation.objects.filter(
            pk=change.formation_id
        ).exists()


def test_r2_two_accepts_publish_once():
    first, second = StaffFactory(), SuperviseurFactory()
    for _ in range(ROUNDS):
        change = submitted()
        a, b = client_for(first), client_for(second)
        together(
            (a, review_url(change), {"action": "accept"}),
            (b, review_url(change), {"action": "accept"}),
        )
        change.refresh_from_db()
        assert change.status == ChangeStatus.ACCEPTED
        assert change.history.filter(action=HistoryAction.ACCEPTED).count() == 1


# --- the exact window of the bug: state read, lock not yet taken -------------------------


def pause_before_lock(monkeypatch, thread_name):
    """Makes the thread called ``thread_name`` stop right before it locks the change
    request; returns (reached, release) events."""
    reached, release = threading.Event(), threading.Event()
    real_lock = services.lock

    def lock(change):
        if threading.current_thread().name == thread_name and not reached.is_set():
            reached.set()
            assert release.wait(30)
        return real_lock(change)

    monkeypatch.setattr(services, "lock", lock)
    return reached, release


def test_r2_a_correction_that_arrives_after_the_decision_is_refused(monkeypatch):
    change = submitted()
    correcting = client_for(SuperviseurFactory())
    correction = formation_post(correcting, detail_url(change), **{"f-objectif": CORRECTED})
    reached, release = pause_before_lock(monkeypatch, "correction")
    result = {}

    def correct():
        try:
            result["response"] = correcting.post(detail_url(change), correction)
        finally:
            connections.close_all()

    thread = threading.Thread(target=correct, name="correction")
    thread.start()
    assert reached.wait(30)  # the correction's page request read « En attente de validation »
    services.accept(ChangeRequest.objects.get(pk=change.pk), StaffFactory())
    release.set()
    thread.join(30)
    response = result["response"]
    assert response.status_code == 200
    assert "Cette demande n'est plus modifiable : elle est « Demande acceptée »" in text(response)
    assert CORRECTED in text(response)  # what was typed stays on the page
    assert live_objectif(change) == ORIGINAL
    assert not change.history.filter(action=HistoryAction.STAFF_CORRECTION).exists()


def test_r2_cancel_that_arrives_after_submit_is_refused(monkeypatch):
    formation = published_formation()
    user = formation.change_requests.get().created_by
    change = services.start_formation_change(formation, user)
    owner = client_for(user)
    cancel = formation_post(owner, detail_url(change), action="cancel")
    reached, release = pause_before_lock(monkeypatch, "cancel")
    result = {}

    def run():
        try:
            result["response"] = owner.post(detail_url(change), cancel)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="cancel")
    thread.start()
    assert reached.wait(30)
    services.submit(ChangeRequest.objects.get(pk=change.pk), user)
    release.set()
    thread.join(30)
    assert result["response"].status_code == 302
    change.refresh_from_db()
    assert change.status == ChangeStatus.SUBMITTED and change.formation_version_id is not None
