"""schema.org data of a formation page: a ``Course`` with one ``CourseInstance`` per
published session (https://schema.org/Course, https://schema.org/CourseInstance)."""

import json

from django.utils.safestring import mark_safe

COURSE_MODE = {"0": "onsite", "1": "blended", "2": "online"}
# The session's status (status.py) as an offer's availability: the same word everywhere (P1).
AVAILABILITY = {
    "ouvertes": "https://schema.org/InStock",
    "permanente": "https://schema.org/InStock",
    "a-venir": "https://schema.org/PreOrder",
    "closes": "https://schema.org/SoldOut",
    "en-cours": "https://schema.org/SoldOut",
    "terminee": "https://schema.org/Discontinued",
}


def _place(lieu):
    if lieu is None:
        return None
    place = {
        "@type": "Place",
        "name": lieu.nom,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": " ".join(p for p in [lieu.adresse, lieu.complement] if p),
            "postalCode": lieu.code_postal,
            "addressLocality": lieu.ville,
            "addressCountry": "FR",
        },
    }
    if lieu.latitude is not None and lieu.longitude is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": float(lieu.latitude), "longitude": float(lieu.longitude)}
    return place


def course(formation, version, sessions, *, url, organisme_url, description=""):
    provider = {"@type": "Organization", "name": formation.structure.nom, "url": organisme_url}
    data = {
        "@context": "https://schema.org",
        "@type": "Course",
        "@id": url,
        "url": url,
        "name": version.intitule,
        "description": (description or version.objectif or version.contenu or version.intitule)[:5000],
        "courseCode": formation.reference,
        "provider": provider,
        "inLanguage": "fr",
    }
    cert = version.certification
    if cert is not None:
        credential = {"@type": "EducationalOccupationalCredential", "name": cert.intitule}
        if cert.france_competences_url:
            credential["url"] = cert.france_competences_url
        if cert.code_rncp or cert.code_rs:
            credential["identifier"] = f"RNCP{cert.code_rncp}" if cert.code_rncp else f"RS{cert.code_rs}"
        data["educationalCredentialAwarded"] = credential
    if formation.published_at:
        data["dateModified"] = formation.published_at.date().isoformat()
    instances = []
    for sv in sessions:
        instance = {
            "@type": "CourseInstance",
            "identifier": sv.session.reference,
            "name": f"{version.intitule} — session {sv.session.reference}",
            "courseMode": COURSE_MODE.get(sv.modalite_enseignement, "onsite"),
        }
        if sv.date_debut:
            instance["startDate"] = sv.date_debut.isoformat()
        if sv.date_fin:
            instance["endDate"] = sv.date_fin.isoformat()
        if sv.duree_totale:
            instance["courseWorkload"] = f"PT{sv.duree_totale}H"
        schedule = _schedule(sv)
        if schedule:
            instance["courseSchedule"] = schedule
        places = [_place(p.lieu) for p in sv.places.all()]
        places = [p for p in places if p]
        if places:
            instance["location"] = places[0] if len(places) == 1 else places
        instance["organizer"] = provider
        status = getattr(sv, "status", None)
        if status is not None:
            offer = {"@type": "Offer", "availability": AVAILABILITY[status.code], "description": status.label}
            if sv.debut_inscription:
                offer["availabilityStarts"] = sv.debut_inscription.isoformat()
            if sv.fin_inscription:
                offer["availabilityEnds"] = sv.fin_inscription.isoformat()
            instance["offers"] = offer
        instances.append(instance)
    data["hasCourseInstance"] = instances
    category = _category(sessions)
    if category:
        data["offers"] = [{"@type": "Offer", "category": category, "url": url}]
    return data


def _schedule(sv):
    """schema.org Schedule of a session: its period and, when entered, its hours per week."""
    if not (sv.date_debut or sv.date_fin):
        return None
    schedule = {"@type": "Schedule"}
    if sv.date_debut:
        schedule["startDate"] = sv.date_debut.isoformat()
    if sv.date_fin:
        schedule["endDate"] = sv.date_fin.isoformat()
    if sv.duree_hebdomadaire:
        schedule["duration"] = f"PT{sv.duree_hebdomadaire}H"
        schedule["repeatFrequency"] = "P1W"
    return schedule


def _category(sessions):
    """Google's Course offers category from the financing rows entered (in « Diffusion »):
    every session publicly funded → « Free » (no cost for the learner), some → « Partially
    Free », none → « Paid »; no financing entered → nothing said."""
    funded = []
    for sv in sessions:
        rows = list(sv.financements.all())
        if rows:
            funded.append(any(f.dispositif.is_public_funds for f in rows))
    if not funded:
        return ""
    if all(funded):
        return "Free"
    return "Partially Free" if any(funded) else "Paid"


def script(data):
    """``<script type="application/ld+json">`` content, safe inside HTML."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return mark_safe(text)
