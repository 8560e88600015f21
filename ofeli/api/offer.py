"""The API's read model of the published offer (J1, J4).

``sync(formation_ids)`` rebuilds the ``OfferEntry`` rows of some formations (or of the whole
offer) from the **same published-offer query as the LHEO flows**
(``ofeli.exports.lheo.published_formations`` / ``offer_sessions``): a formation or session
that the flows would carry has an entry, one that they would not is marked deleted. An
entry's ``modified_at`` moves only when its JSON document changes (compared by digest), so
``modified_since`` returns exactly what changed, whatever triggered the rebuild.
"""

import hashlib
import json
from datetime import date

from django.db import connection, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from ofeli.exports.lheo import offer_sessions, published_formations
from ofeli.formations.enums import FinancementEtat
from ofeli.formations.models import (
    Financement,
    Formation,
    RecruitmentSlot,
    SessionContact,
    SessionPlace,
    SessionTrainer,
)
from ofeli.public.text import index_text
from ofeli.referentials import lheo

from .models import EntryKind, OfferEntry

CHUNK = 300


def digits(code):
    return "".join(ch for ch in (code or "") if ch.isdigit())


def rncp_code(code):
    return f"RNCP{digits(code)}" if digits(code) else ""


def rs_code(code):
    return f"RS{digits(code)}" if digits(code) else ""


def _iso(value):
    return value.isoformat() if value else None


def _coord(value):
    return float(value) if value is not None else None


def _place(lieu):
    return {
        "reference": lieu.reference,
        "nom": lieu.nom,
        "adresse": lieu.adresse,
        "complement": lieu.complement,
        "code_postal": lieu.code_postal,
        "ville": lieu.ville,
        "code_insee": lieu.code_insee,
        "departement": departement_of(lieu.code_insee, lieu.code_postal),
        "latitude": _coord(lieu.latitude),
        "longitude": _coord(lieu.longitude),
    }


def departement_of(code_insee, code_postal=""):
    code = code_insee or code_postal or ""
    if len(code) < 2:
        return ""
    if code.startswith("97"):
        return code[:3]
    if code[:2] == "20" and code_insee[:2] in ("2A", "2B"):
        return code_insee[:2]
    return code[:2]


def _contact(contact, type_contact=""):
    return {
        "reference": contact.reference,
        "civilite": contact.civilite,
        "nom": contact.nom,
        "prenom": contact.prenom,
        "fonction": contact.fonction,
        "email": contact.email,
        "telephone": contact.telephone,
        "type_contact": type_contact,
    }


def _certification(cert):
    if cert is None:
        return None
    return {
        "code_certifinfo": cert.code_certifinfo,
        "intitule": cert.intitule,
        "code_rncp": rncp_code(cert.code_rncp),
        "code_rs": rs_code(cert.code_rs),
        "niveau_sortie": cert.niveau_sortie,
        "etat": cert.etat,
        "date_fin_enregistrement": _iso(cert.date_fin_enregistrement),
    }


def _organisme(structure):
    version = structure.live_version
    return {
        "reference": structure.reference,
        "nom": structure.nom,
        "raison_sociale": structure.raison_sociale,
        "siret": structure.siret,
        "nda": structure.nda,
        "uai": structure.uai,
        "adresse": version.adresse if version else "",
        "code_postal": version.code_postal if version else "",
        "ville": version.ville if version else "",
        "code_insee": version.code_insee if version else "",
        "telephone": version.telephone if version else "",
        "email": version.email if version else "",
        "site_web": version.site_web if version else "",
    }


def _sessions_of(version_ids):
    """The published session versions of these live formation versions, with their rows."""
    return (
        offer_sessions()
        .filter(formation_version_id__in=version_ids)
        .select_related("session", "lieu_inscription", "contact_inscription")
        .prefetch_related(
            Prefetch("places", queryset=SessionPlace.objects.select_related("lieu").order_by("-is_principal", "pk")),
            Prefetch(
                "financements",
                queryset=Financement.objects.filter(etat=FinancementEtat.DIFFUSION)
                .select_related("dispositif", "financeur")
                .order_by("pk"),
            ),
            Prefetch(
                "contacts",
                queryset=SessionContact.objects.filter(contact__diffusion_web=True)
                .select_related("contact")
                .order_by("-is_principal", "pk"),
            ),
            Prefetch(
                "trainers", queryset=SessionTrainer.objects.select_related("structure").order_by("-is_principal", "pk")
            ),
            Prefetch("recruitment_slots", queryset=RecruitmentSlot.objects.order_by("date", "pk")),
        )
        .order_by("pk")
    )


def session_document(sv, formation, cert):
    places = [_place(p.lieu) for p in sv.places.all()]
    return {
        "numero_carif": sv.session.reference,
        "formation": formation.reference,
        "organisme": formation.structure.reference,
        "intitule": formation.live_version.intitule,
        "date_debut": _iso(sv.date_debut),
        "date_fin": _iso(sv.date_fin),
        "a_la_demande": sv.a_la_demande,
        "entree_sortie_permanente": sv.entree_sortie_permanente,
        "debut_inscription": _iso(sv.debut_inscription),
        "fin_inscription": _iso(sv.fin_inscription),
        "modalite_enseignement": sv.modalite_enseignement,
        "modalite_enseignement_libelle": lheo.label(lheo.MODALITES_ENSEIGNEMENT, sv.modalite_enseignement),
        "duree_totale": sv.duree_totale,
        "duree_centre": sv.duree_centre,
        "duree_entreprise": sv.duree_entreprise,
        "lieux": places,
        "lieu_inscription": _place(sv.lieu_inscription) if sv.lieu_inscription_id else None,
        "financements": [
            {
                "financeur": f.financeur.lheo_code,
                "financeur_libelle": lheo.label(lheo.FINANCEURS, f.financeur.lheo_code) or f.financeur.libelle,
                "dispositif": f.dispositif.code,
                "dispositif_libelle": f.dispositif.libelle,
                "nb_places": f.nb_places,
            }
            for f in sv.financements.all()
        ],
        "certification": cert,
        "niveau_entree": formation.live_version.niveau_entree,
        "niveau_sortie": formation.live_version.niveau_sortie or (cert or {}).get("niveau_sortie", ""),
        "organismes_formateurs": [
            {"reference": t.structure.reference, "nom": t.structure.nom, "principal": t.is_principal}
            for t in sv.trainers.all()
        ],
        "contacts": [_contact(c.contact, c.type_contact) for c in sv.contacts.all()],
        "contact_inscription": (
            _contact(sv.contact_inscription)
            if sv.contact_inscription_id and sv.contact_inscription.diffusion_web
            else None
        ),
        "recrutement": [
            {
                "modalite": slot.modalite,
                "modalite_libelle": lheo.label(lheo.MODALITE_RECRUTEMENT, slot.modalite),
                "date": _iso(slot.date),
                "a_distance": slot.a_distance,
                "nb_places": slot.nb_places,
            }
            for slot in sv.recruitment_slots.all()
        ],
    }


def formation_document(formation, cert, session_refs):
    version = formation.live_version
    return {
        "numero": formation.reference,
        "intitule": version.intitule,
        "organisme": formation.structure.reference,
        "organisme_nom": formation.structure.nom,
        "objectif": version.objectif,
        "contenu": version.contenu,
        "resultats_attendus": version.resultats_attendus,
        "certification": cert,
        "niveau_entree": version.niveau_entree,
        "niveau_sortie": version.niveau_sortie or (cert or {}).get("niveau_sortie", ""),
        "formacodes": version.formacodes.split() if version.formacodes else [],
        "codes_rome": version.codes_rome.split() if version.codes_rome else [],
        "site_web": version.site_web,
        "sessions": sorted(session_refs),
    }


def digest_of(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def document_text(data):
    """The JSON text an entry serves, encoded once here: as ``JsonResponse`` would write it
    (``ensure_ascii=False``, default separators), so a page can copy it as is."""
    return json.dumps(data, ensure_ascii=False)


def _join(values):
    values = sorted({v for v in values if v})
    return f"|{'|'.join(values)}|" if values else ""


def _session_fields(doc, search_text):
    first = next((p for p in doc["lieux"] if p["latitude"] is not None), None)
    cert = doc["certification"] or {}
    return {
        "search_text": search_text,
        "date_debut": date.fromisoformat(doc["date_debut"]) if doc["date_debut"] else None,
        "date_fin": date.fromisoformat(doc["date_fin"]) if doc["date_fin"] else None,
        "departements": _join(p["departement"] for p in doc["lieux"]),
        "latitude": first["latitude"] if first else None,
        "longitude": first["longitude"] if first else None,
        "financeurs": _join(f["financeur"] for f in doc["financements"]),
        "dispositifs": _join(f["dispositif"] for f in doc["financements"]),
        "code_rncp": cert.get("code_rncp", ""),
        "code_rs": cert.get("code_rs", ""),
        "niveau_sortie": doc["niveau_sortie"] or "",
        "modalite": doc["modalite_enseignement"] or "",
        "debut_inscription": date.fromisoformat(doc["debut_inscription"]) if doc["debut_inscription"] else None,
        "fin_inscription": date.fromisoformat(doc["fin_inscription"]) if doc["fin_inscription"] else None,
        "entree_permanente": bool(doc["entree_sortie_permanente"]),
    }


def _build(formation_ids):
    """The entries (kind, reference) → (formation_ref, structure_ref, data, fields) of the
    published offer among ``formation_ids``."""
    formations = list(
        published_formations(formations=formation_ids).select_related("structure", "live_version__certification")
    )
    by_version = {f.live_version_id: f for f in formations}
    sessions = {}
    for sv in _sessions_of(list(by_version)):
        sessions.setdefault(sv.formation_version_id, []).append(sv)
    built = {}
    for formation in formations:
        version = formation.live_version
        cert = _certification(version.certification)
        text = " " + index_text(version.intitule, formation.structure.nom, (cert or {}).get("intitule", "")) + " "
        svs = sessions.get(version.pk, [])
        docs = [session_document(sv, formation, cert) for sv in svs]
        for doc in docs:
            built[(EntryKind.SESSION, doc["numero_carif"])] = (
                formation.reference,
                formation.structure.reference,
                doc,
                _session_fields(doc, text),
            )
        fdoc = formation_document(formation, cert, [d["numero_carif"] for d in docs])
        fields = [_session_fields(d, text) for d in docs]
        built[(EntryKind.FORMATION, formation.reference)] = (
            formation.reference,
            formation.structure.reference,
            fdoc,
            {
                "search_text": text,
                "date_debut": min((f["date_debut"] for f in fields if f["date_debut"]), default=None),
                "date_fin": max((f["date_fin"] for f in fields if f["date_fin"]), default=None),
                "departements": _join(d for f in fields for d in f["departements"].split("|")),
                "financeurs": _join(d for f in fields for d in f["financeurs"].split("|")),
                "dispositifs": _join(d for f in fields for d in f["dispositifs"].split("|")),
                "code_rncp": (cert or {}).get("code_rncp", ""),
                "code_rs": (cert or {}).get("code_rs", ""),
                "niveau_sortie": fdoc["niveau_sortie"] or "",
            },
        )
    return built


def sync(formation_ids=None, *, now=None):
    """Bring the entries of ``formation_ids`` (all formations when None) in line with the
    published offer. Returns (changed, deleted) counts."""
    now = now or timezone.now()
    if formation_ids is None:
        ids = list(Formation.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted(set(formation_ids))
    changed = deleted = 0
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        c, d = _sync_chunk(part, now)
        changed += c
        deleted += d
    if formation_ids is None and changed and connection.vendor == "postgresql":
        # after a whole rebuild, fresh statistics: with stale ones (an empty table just
        # filled) the planner sorted every live entry for each page instead of walking an index
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {OfferEntry._meta.db_table}")
    return changed, deleted


def _sync_chunk(formation_ids, now):
    refs = list(Formation.objects.filter(pk__in=formation_ids).values_list("reference", flat=True))
    with transaction.atomic():
        built = _build(formation_ids)
        existing = {
            (e.kind, e.reference): e
            for e in OfferEntry.objects.select_for_update()
            .filter(
                Q(formation_reference__in=refs)
                | Q(kind=EntryKind.SESSION, reference__in=[r for k, r in built if k == EntryKind.SESSION])
            )
            .defer("document", "search_text")  # compared by digest, rewritten whole when changed
        }
        to_create, to_update = [], []
        for key, (formation_ref, structure_ref, data, fields) in built.items():
            digest = digest_of(data)
            entry = existing.get(key)
            if entry is None:
                to_create.append(
                    OfferEntry(
                        kind=key[0],
                        reference=key[1],
                        formation_reference=formation_ref,
                        structure_reference=structure_ref,
                        document=document_text(data),
                        digest=digest,
                        modified_at=now,
                        **fields,
                    )
                )
                continue
            if entry.digest == digest and entry.deleted_at is None:
                continue
            entry.formation_reference, entry.structure_reference = formation_ref, structure_ref
            entry.document, entry.digest = document_text(data), digest
            entry.modified_at, entry.deleted_at = now, None
            for name, value in fields.items():
                setattr(entry, name, value)
            to_update.append(entry)
        gone = [e for key, e in existing.items() if key not in built and e.deleted_at is None]
        for entry in gone:
            entry.deleted_at = now
        OfferEntry.objects.bulk_create(to_create)
        update_fields = [
            "formation_reference",
            "structure_reference",
            "document",
            "digest",
            "modified_at",
            "deleted_at",
            *_session_fields_names(),
        ]
        OfferEntry.objects.bulk_update(to_update, update_fields, batch_size=200)
        OfferEntry.objects.bulk_update(gone, ["deleted_at"], batch_size=500)
    return len(to_create) + len(to_update), len(gone)


def _session_fields_names():
    return [
        "search_text",
        "date_debut",
        "date_fin",
        "departements",
        "latitude",
        "longitude",
        "financeurs",
        "dispositifs",
        "code_rncp",
        "code_rs",
        "niveau_sortie",
        "modalite",
        "debut_inscription",
        "fin_inscription",
        "entree_permanente",
    ]
