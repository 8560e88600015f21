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
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from ofeli.formations.enums import FinancementEtat
from ofeli.formations.models import Financement, Formation, FormationVersion, Session, SessionPlace, SessionVersion
from ofeli.structures.models import Lieu

from . import facets, financing, snapshot, spelling, status
from .models import PublishedFormation, PublishedSession
from .text import index_text

CHUNK = 500
SEARCH_CONFIG = "ofeli_fr"
# Niveaux of the old nomenclature (LHEO 0-8) shown in the current one (11-18).
LEVEL_MAP = {"0": "", "1": "1", "2": "11", "3": "12", "4": "13", "5": "14", "6": "15", "7": "16", "8": "17"}


SOURCE_TABLES = [
    model._meta.db_table
    for model in (Formation, FormationVersion, Session, SessionVersion, SessionPlace, Financement, Lieu)
]


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
        if formation_ids is None and connection.vendor == "postgresql":
            # A full rebuild follows bulk loads (generate_offer, imports): fresh statistics
            # first, or the chunks' queries are planned for the tables as they were (S3).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(SOURCE_TABLES))
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


FORMATION_COLUMNS = [
    "pk",
    "reference",
    "published_at",
    "created_at",
    "structure_id",
    "structure__nom",
    "live_version_id",
    "live_version__intitule",
    "live_version__objectif",
    "live_version__contenu",
    "live_version__resultats_attendus",
    "live_version__niveau_sortie",
    "live_version__certification_id",
    "live_version__certification__intitule",
    "live_version__certification__sigle",
    "live_version__certification__code_rncp",
    "live_version__certification__code_rs",
    "live_version__certification__niveau_sortie",
]
SESSION_COLUMNS = [
    "pk",
    "formation_version_id",
    "session_id",
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
]


def _index_chunk(formation_ids):
    """Rows of the index for a chunk of formations: four ``values_list`` queries (formations,
    their published sessions, the principal places, the financing rows in « Diffusion »),
    no model instance, then the inserts (one COPY per table on PostgreSQL, S3)."""
    formations = [
        dict(zip(FORMATION_COLUMNS, row, strict=True))
        for row in published_formations().filter(pk__in=formation_ids).values_list(*FORMATION_COLUMNS)
    ]
    if not formations:
        return 0
    # The formations are published (query above): their live versions' sessions that are
    # not archived are the published ones (formations.queries.published_sessions).
    versions = SessionVersion.objects.filter(
        formation_version_id__in=[f["live_version_id"] for f in formations],
        session__archived_at__isnull=True,
    ).filter(Q(date_fin__isnull=True) | Q(date_fin__gte=timezone.localdate()))
    by_version = {}
    for row in versions.order_by("pk").values_list(*SESSION_COLUMNS):
        by_version.setdefault(row[1], []).append(row)
    session_version_ids = versions.values("pk")
    places = {}  # session version -> its principal place (the first one: principal, then oldest)
    for row in (
        SessionPlace.objects.filter(session_version_id__in=session_version_ids)
        .order_by("session_version_id", "-is_principal", "pk")
        .values_list(
            "session_version_id",
            "lieu_id",
            "lieu__ville",
            "lieu__code_postal",
            "lieu__code_insee",
            "lieu__latitude",
            "lieu__longitude",
        )
    ):
        places.setdefault(row[0], row)
    money = {}
    for version_id, etat, dispositif, financeur, lheo_code in Financement.objects.filter(
        session_version_id__in=session_version_ids, etat=FinancementEtat.DIFFUSION
    ).values_list(
        "session_version_id", "etat_recrutement", "dispositif__code", "financeur__code", "financeur__lheo_code"
    ):
        money.setdefault(version_id, []).append((etat, (dispositif, financeur, lheo_code)))

    # Words for SQLite only: PostgreSQL searches the weighted vectors (_update_vectors).
    sqlite_words = connection.vendor != "postgresql"
    formation_rows, session_rows = [], []
    for formation in formations:
        svs = by_version.get(formation["live_version_id"])
        if not svs:
            continue
        cert_id = formation["live_version__certification_id"]
        cert_intitule = formation["live_version__certification__intitule"] or ""
        code_rncp = (formation["live_version__certification__code_rncp"] or "") if cert_id else ""
        code_rs = (formation["live_version__certification__code_rs"] or "") if cert_id else ""
        niveau = level_of(
            formation["live_version__niveau_sortie"]
            or (formation["live_version__certification__niveau_sortie"] if cert_id else "")
        )
        intitule = formation["live_version__intitule"]
        keywords = " ".join(
            filter(
                None,
                [
                    cert_intitule if cert_id else "",
                    (formation["live_version__certification__sigle"] or "") if cert_id else "",
                    f"RNCP{code_rncp} {code_rncp}" if code_rncp else "",
                    f"RS{code_rs} {code_rs}" if code_rs else "",
                    formation["structure__nom"],
                ],
            )
        )
        body = "\n".join(
            filter(
                None,
                [
                    formation["live_version__objectif"],
                    formation["live_version__contenu"],
                    formation["live_version__resultats_attendus"],
                ],
            )
        )
        formation_rows.append(
            PublishedFormation(
                formation_id=formation["pk"],
                reference=formation["reference"],
                slug=slug_of(intitule),
                intitule=intitule,
                structure_id=formation["structure_id"],
                organisme=formation["structure__nom"],
                certification_id=cert_id,
                certification_intitule=cert_intitule if cert_id else "",
                code_rncp=code_rncp,
                code_rs=code_rs,
                niveau=niveau,
                keywords=keywords,
                body=body,
                title_text=index_text(intitule)[:400],
                search_text=index_text(intitule, keywords, body) if sqlite_words else "",
                updated_at=formation["published_at"] or formation["created_at"],
                session_count=len(svs),
            )
        )
        certification_type = "rncp" if code_rncp else "rs" if code_rs else ""
        for sv in svs:
            (pk, _, session_id, reference, kind, debut, fin, demande, permanente, modalite, duree, d_insc, f_insc) = sv
            place = places.get(pk)
            rows = money.get(pk, ())
            kinds = financing.kinds_of(codes for _, codes in rows)
            departement = ""
            if place:
                code = place[4] or place[3]
                departement = (code[:3] if code.startswith("97") else code[:2]) if code else ""
            session_rows.append(
                {
                    "session_id": session_id,
                    "formation_id": formation["pk"],
                    "numero_carif": reference,
                    "date_debut": debut,
                    "date_fin": fin,
                    "a_la_demande": demande,
                    "entree_sortie_permanente": permanente,
                    "modalite": modalite,
                    "kind": kind,
                    "duree_totale": duree,
                    "debut_inscription": d_insc,
                    "fin_inscription": f_insc,
                    "recrutement": status.recrutement_of(etat for etat, _ in rows),
                    "lieu_id": place[1] if place else None,
                    "ville": place[2] if place else "",
                    "code_postal": place[3] if place else "",
                    "code_insee": place[4] if place else "",
                    "departement": departement,
                    "latitude": float(place[5]) if place and place[5] is not None else None,
                    "longitude": float(place[6]) if place and place[6] is not None else None,
                    "certification_type": certification_type,
                    "code_rncp": code_rncp,
                    "code_rs": code_rs,
                    "niveau": niveau,
                    "facets": facets.encode(departement, modalite, niveau, certification_type, kinds),
                    **{financing.field(k): k in kinds for k, _ in financing.KINDS},
                }
            )
    PublishedFormation.objects.bulk_create(formation_rows, batch_size=1000)
    _insert_sessions(session_rows)
    if connection.vendor == "postgresql" and formation_rows:
        _update_vectors([row.pk for row in formation_rows])
    return len(session_rows)


SESSION_FIELDS = list(PublishedSession._meta.concrete_fields)


def _insert_sessions(rows):
    """PostgreSQL: one COPY (the rows are most of the index); elsewhere ``bulk_create``."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        PublishedSession.objects.bulk_create([PublishedSession(**row) for row in rows], batch_size=2000)
        return
    columns = ", ".join(connection.ops.quote_name(f.column) for f in SESSION_FIELDS)
    names = [f.attname for f in SESSION_FIELDS]
    statement = f"COPY {connection.ops.quote_name(PublishedSession._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


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
