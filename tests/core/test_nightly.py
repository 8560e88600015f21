"""H2 / D5 / H1: the nightly jobs run in one command; one failure does not stop the others."""

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_h2_nightly_runs_every_job(monkeypatch):
    called = []
    import ofeli.core.management.commands.nightly as nightly

    monkeypatch.setattr(nightly, "call_command", lambda name, **kw: called.append(name))
    call_command("nightly", "--weekly")
    assert called == [
        "rebuild_public_index",
        "sync_api_offer",
        "watch_certifications",
        "publish_lheo_flows",
        "purge_exports",
        "send_alerts",
        "send_mails",
        "check_links",
    ]


def test_h2_nightly_reports_a_failed_job_after_running_the_others(monkeypatch):
    called = []
    import ofeli.core.management.commands.nightly as nightly

    def fake(name, **kw):
        called.append(name)
        if name == "publish_lheo_flows":
            raise RuntimeError("disque plein")

    monkeypatch.setattr(nightly, "call_command", fake)
    with pytest.raises(CommandError, match="publish_lheo_flows"):
        call_command("nightly")
    assert called == [
        "rebuild_public_index",
        "sync_api_offer",
        "watch_certifications",
        "publish_lheo_flows",
        "purge_exports",
        "send_alerts",
        "send_mails",
    ]


def test_h2_nightly_end_to_end_publishes_the_flows(settings, tmp_path):
    """The real commands on a published formation: flows written, index rebuilt."""
    from ofeli.public.models import PublishedSession
    from tests.factories import published_formation

    settings.LHEO_FLOWS_DIR = tmp_path / "flows"
    formation = published_formation()
    call_command("nightly")
    written = [p.name for p in (tmp_path / "flows").rglob("*") if p.is_file()]
    assert any(name.endswith(".xml") for name in written), written
    assert PublishedSession.objects.filter(formation__reference=formation.reference).exists()
