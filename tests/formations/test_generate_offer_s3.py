"""S3: ``generate_offer`` at national scale: a national instance (S2, ``OFELI_REGION=FR``)
gets organismes in every region with valid identifiers; on PostgreSQL the rows are written
with COPY (keys reserved from the sequences) and the offer is the same as with
``bulk_create``; creation dates are consistent on both paths."""

import datetime
from collections import Counter

import pytest
from django.db import connection

from ofeli.core.identifiers import validate_nda, validate_uai
from ofeli.core.regions import REGION_OF_DEPARTEMENT, departement_of_postcode
from ofeli.demo.generator import OfferGenerator, region_towns
from ofeli.formations.models import Formation, Session
from ofeli.structures.models import Structure
from ofeli.workflow.enums import ChangeStatus, HistoryAction
from ofeli.workflow.models import ChangeRequest, HistoryEntry
from tests.prod.test_region import switch_region

from .test_generate_offer import TODAY, generate, offer_dump

pytestmark = pytest.mark.django_db


def test_s3_national_offer_spreads_over_every_region_with_valid_identifiers(settings):
    switch_region(settings, "FR")
    towns, phrases = region_towns()
    assert {departement_of_postcode(t[1]) for t in towns} == set(REGION_OF_DEPARTEMENT) == set(phrases)
    generate(150, 1, 1)
    regions = Counter()
    for structure in Structure.objects.select_related("live_version"):
        departement = departement_of_postcode(structure.live_version.code_postal)
        regions[REGION_OF_DEPARTEMENT[departement]] += 1
        validate_nda(structure.nda)
        if structure.uai:
            validate_uai(structure.uai)
    assert len(regions) >= 12  # 18 regions, weighted by population
    assert regions["11"] == max(regions.values())  # Île-de-France first
    assert Session.objects.count() == 150


def test_s3_centre_val_de_loire_keeps_its_embedded_towns(settings):
    towns, phrases = region_towns()
    assert towns[0][:3] == ("Bourges", "18000", "18033") and phrases["36"] == "de l'Indre"


def test_s3_creation_dates_follow_the_publication_dates():
    generate(3, 4, 2)
    for formation in Formation.objects.select_related("live_version"):
        assert formation.created_at == formation.published_at - datetime.timedelta(days=5)
        assert formation.live_version.created_at == formation.created_at
        assert set(formation.sessions.values_list("created_at", flat=True)) == {formation.created_at}
    for change in ChangeRequest.objects.filter(status=ChangeStatus.ACCEPTED):
        assert change.created_at == change.submitted_at - datetime.timedelta(days=3)
        assert change.updated_at == change.decided_at == change.formation.published_at
    for entry in HistoryEntry.objects.filter(action=HistoryAction.ACCEPTED).select_related("change_request"):
        assert entry.created_at == entry.change_request.decided_at
    for structure in Structure.objects.select_related("live_version"):
        assert (
            structure.live_version.created_at
            == structure.created_at
            < min(structure.formations.values_list("created_at", flat=True))
        )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is the PostgreSQL path")
def test_s3_copy_writes_the_same_offer_as_bulk_create():
    def run(use_copy):
        before = set(Structure.objects.values_list("pk", flat=True))
        generator = OfferGenerator(
            structures=3,
            formations_per_structure=3,
            sessions_per_formation=2,
            seed=5,
            today=datetime.date.fromisoformat(TODAY),
            chunk_sessions=7,
        )
        assert generator.use_copy
        generator.use_copy = use_copy
        generator.run()
        return Structure.objects.filter(pk__in=set(Structure.objects.values_list("pk", flat=True)) - before)

    copied = run(True)
    bulk = run(False)
    assert offer_dump(copied) == offer_dump(bulk)
    dates = [
        sorted((f.published_at, f.created_at) for f in Formation.objects.filter(structure__in=structures))
        for structures in (copied, bulk)
    ]
    assert dates[0] == dates[1]
