"""Rebuild the public read model (models.py) from the published offer.

``rebuild(formation_ids)`` deletes and rebuilds the rows of the given formations (all when
None), by chunks of formations, with a fixed number of bulk queries per chunk whatever
their size: formations, sessions, principal places, financing rows, two bulk inserts and,
on PostgreSQL, one UPDATE computing the weighted search vectors. It is called by the
``offer_changed`` receiver (receivers.py), by ``manage.py rebuild_public_index``, and
must be called after bulk loads that bypass the workflow (load_demo, generate_offer).

Only the published offer goes in: the live version of a formation that is not archived,
of a diffused organisme, its sessions not archived (formations.queries.published_sessions);
a draft or a change waiting for validation is never read.
"""

from django.db import connection, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.text import slugify

from ofeli.formations.enums import FinancementEtat
from ofeli.formations.models import Financement, Formation, SessionPlace, SessionVersion

from . import facets, financing, snapshot, spelling, status
from .models import PublishedFormation, PublishedSession
from .text import index_text

CHUNK = 500
SEARCH_CONFIG = "ofeli_fr"
# Niveaux of the old nomenclature (LHEO 0-8) shown in the current one (11-18).
LEVEL_MAP = {"0": "", "1": "1", "2": "11", "3": "12", "4": "13", "5": "14", "6": "15", "7": "16", "8": "17"}


def slug_of(intitule):
    return slugify(intitule)[:80].strip("-") or "formation"


def level_of(code):
    code = code or ""
    return LEVEL_MAP.get(code, code)


def published_formations():
    return Formation.objects.filter(
        live_version__isnull=False, archived_at__isnull=True, structure__etat__is_diffused=True
    )


def rebuild(formation_ids=None, *, chunk=CHUNK):
    """Rebuild the index of ``formation_ids`` (an iterable of primary keys), or of all the
    offer. Returns the number of published sessions written."""
    with transaction.atomic():
        snapshot.changed()  # the pre-aggregated page without criteria is stale (S3)
        if formation_ids is None:
            PublishedSession.objects.all().delete()
            PublishedFormation.objects.all().delete()
            ids = list(published_formations().order_by("pk").values_list("pk", flat=True))
        else:
            wanted = sorted(set(formation_ids))
            for start in range(0, len(wanted), chunk):
                part = wanted[start : start + chunk]
                PublishedSession.objects.filter(formation_id__in=part).delete()
                PublishedFormation.objects.filter(pk__in=part).delete()
            ids = wanted
        written = 0
        for start in range(0, len(ids), chunk):
            written += _index_chunk(ids[start : start + chunk])
        # The words of spelling suggestions (spelling.py).
        if formation_ids is None:
            spelling.rebuild_words()
        elif ids:
            spelling.add_words(ids)
    if formation_ids is None and connection.vendor == "postgresql":
        # Fresh statistics after a bulk load: the planner's row estimates depend on them.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE public_publishedsession, public_publishedformation")
    return written


def _index_chunk(formation_ids):
    formations = {
        f.pk: f
        for f in published_formations()
        .filter(pk__in=formation_ids)
        .select_related("live_version__certification", "structure")
    }
    if not formations:
        return 0
    # The formations are published (query above): their live versions' sessions that are
    # not archived are the published ones (formations.queries.published_sessions).
    sessions = list(
        SessionVersion.objects.filter(
            formation_version_id__in=[f.live_version_id for f in formations.values()],
            session__archived_at__isnull=True,
        )
        .filter(Q(date_fin__isnull=True) | Q(date_fin__gte=timezone.localdate()))
        .select_related("session")
        .only(
            "formation_version_id",
            "session__reference",
            "kind",
            "date_debut",
            "date_fin",
            "a_la_demande",
            "entree_sortie_permanente",
            "modalite_enseignement",
            "duree_totale",
            "debut_inscription",
            "fin_inscription",
        )
        .prefetch_related(
            Prefetch(
                "places",
                queryset=SessionPlace.objects.select_related("lieu")
                .only(
                    "session_version_id",
                    "is_principal",
                    "lieu__ville",
                    "lieu__code_postal",
                    "lieu__code_insee",
                    "lieu__latitude",
                    "lieu__longitude",
                )
                .order_by("-is_principal", "pk"),
                to_attr="public_places",
            ),
            Prefetch(
                "financements",
                queryset=Financement.objects.filter(etat=FinancementEtat.DIFFUSION)
                .select_related("dispositif", "financeur")
                .only(
                    "session_version_id",
                    "etat_recrutement",
                    "dispositif__code",
                    "financeur__code",
                    "financeur__lheo_code",
                ),
                to_attr="public_financements",
            ),
        )
        .order_by("pk")
    )
    by_version = {}
    for sv in sessions:
        by_version.setdefault(sv.formation_version_id, []).append(sv)

    formation_rows, session_rows = [], []
    for formation in formations.values():
        version = formation.live_version
        svs = by_version.get(version.pk)
        if not svs:
            continue
        cert = version.certification
        niveau = level_of(version.niveau_sortie or (cert.niveau_sortie if cert else ""))
        code_rncp, code_rs = (cert.code_rncp, cert.code_rs) if cert else ("", "")
        keywords = " ".join(
            filter(
                None,
                [
                    cert.intitule if cert else "",
                    cert.sigle if cert else "",
                    f"RNCP{code_rncp} {code_rncp}" if code_rncp else "",
                    f"RS{code_rs} {code_rs}" if code_rs else "",
                    formation.structure.nom,
                ],
            )
        )
        body = "\n".join(filter(None, [version.objectif, version.contenu, version.resultats_attendus]))
        formation_rows.append(
            PublishedFormation(
                formation=formation,
                reference=formation.reference,
                slug=slug_of(version.intitule),
                intitule=version.intitule,
                structure=formation.structure,
                organisme=formation.structure.nom,
                certification=cert,
                certification_intitule=cert.intitule if cert else "",
                code_rncp=code_rncp,
                code_rs=code_rs,
                niveau=niveau,
                keywords=keywords,
                body=body,
                title_text=index_text(version.intitule)[:400],
                search_text=index_text(version.intitule, keywords, body),
                updated_at=formation.published_at or formation.created_at,
                session_count=len(svs),
            )
        )
        certification_type = "rncp" if code_rncp else "rs" if code_rs else ""
        for sv in svs:
            place = sv.public_places[0].lieu if sv.public_places else None
            kinds = financing.kinds_of(
                [(f.dispositif.code, f.financeur.code, f.financeur.lheo_code) for f in sv.public_financements],
            )
            session_rows.append(
                PublishedSession(
                    session_id=sv.session_id,
                    formation_id=formation.pk,
                    numero_carif=sv.session.reference,
                    date_debut=sv.date_debut,
                    date_fin=sv.date_fin,
                    a_la_demande=sv.a_la_demande,
                    entree_sortie_permanente=sv.entree_sortie_permanente,
                    modalite=sv.modalite_enseignement,
                    kind=sv.kind,
                    duree_totale=sv.duree_totale,
                    debut_inscription=sv.debut_inscription,
                    fin_inscription=sv.fin_inscription,
                    recrutement=status.recrutement_of(f.etat_recrutement for f in sv.public_financements),
                    lieu=place,
                    ville=place.ville if place else "",
                    code_postal=place.code_postal if place else "",
                    code_insee=place.code_insee if place else "",
                    departement=place.departement if place else "",
                    latitude=float(place.latitude) if place and place.latitude is not None else None,
                    longitude=float(place.longitude) if place and place.longitude is not None else None,
                    certification_type=certification_type,
                    code_rncp=code_rncp,
                    code_rs=code_rs,
                    niveau=niveau,
                    facets=facets.encode(
                        place.departement if place else "", sv.modalite_enseignement, niveau, certification_type, kinds
                    ),
                    **{financing.field(kind): True for kind in kinds},
                )
            )
    PublishedFormation.objects.bulk_create(formation_rows, batch_size=1000)
    PublishedSession.objects.bulk_create(session_rows, batch_size=2000)
    if connection.vendor == "postgresql" and formation_rows:
        _update_vectors([row.pk for row in formation_rows])
    return len(session_rows)


def _update_vectors(formation_ids):
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE public_publishedformation SET search_vector =
                   setweight(to_tsvector('{SEARCH_CONFIG}', intitule), 'A')
                || setweight(to_tsvector('{SEARCH_CONFIG}', keywords), 'B')
                || setweight(to_tsvector('{SEARCH_CONFIG}', body), 'C')
                WHERE formation_id = ANY(%s)""",
            [list(formation_ids)],
        )
