"""Public site « Formation Centre-Val de Loire » (SPEC H1).

- ``search``: the search form and its results, read from the public index (search.py);
  with htmx, only the results and the facet counts are sent back.
- ``formation_detail`` and ``organisme`` read the published offer itself (live versions
  only, never a draft), so that what they show is exactly what is validated.
Nothing here needs an account, and nothing shown is staff-only or OF-only: contacts are
those marked « Diffusion web », financing rows those in state « Diffusion »."""

import datetime
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ofeli.formations.enums import FinancementEtat, ModalitePedagogique
from ofeli.formations.models import Financement, Formation, RecruitmentSlot, SessionBlocs, SessionContact, SessionPlace
from ofeli.formations.queries import published_sessions
from ofeli.referentials import lheo
from ofeli.structures.models import Contact, Structure

from . import financing, jsonld, maps
from .communes import suggestions
from .indexing import level_of, published_formations, slug_of
from .models import Commune, PublishedFormation, PublishedSession
from .search import DEPARTEMENTS, MODALITE_SHORT, NIVEAU_LABELS, VIEWS, SearchForm, refused
from .search import search as run_search
from .status import TERMINEE, status_of_version
from .text import words

MAIN_TOWNS_POPULATION = 5000
SIMILAR = 6
PEDAGOGIE = dict(ModalitePedagogique.choices)


def main_towns():
    """Labels of the region's main towns: the town field's suggestions without JavaScript."""

    def load():
        towns = Commune.objects.filter(population__gte=MAIN_TOWNS_POPULATION).order_by("nom")
        return [label for commune in towns for label in commune.labels()]

    return cache.get_or_set("public:main-towns", load, 3600)


def _query_string(params, **changes):
    items = []
    for key, values in params.lists():
        if key in changes or key == "page":
            continue
        items += [(key, v) for v in values if v != ""]
    for key, value in changes.items():
        if value not in (None, ""):
            items.append((key, value))
    return urlencode(items)


@require_GET
def search(request):
    form = SearchForm(request.GET or None)
    errors = {}
    if form.is_bound:
        form.is_valid()
        errors = form.criteria_errors()
    # A refused criterion is never silently dropped (P2): its error at the top, tied to its
    # field, and no results until it is corrected.
    if errors and getattr(request, "htmx", False):
        # The errors belong beside their fields, which an htmx answer does not replace.
        response = HttpResponse()
        response["HX-Redirect"] = request.get_full_path()
        return response
    results = refused(form) if errors else run_search(form.cleaned_data if form.is_bound else {})
    params = request.GET
    pages = []
    for number in sorted({1, results.page - 1, results.page, results.page + 1, results.num_pages}):
        if 1 <= number <= results.num_pages:
            if pages and number - pages[-1][0] > 1:
                pages.append((None, ""))
            pages.append((number, _query_string(params, page=number)))
    context = {
        "form": form,
        "results": results,
        "error_summary": [(form[name].id_for_label, form[name].label, " ".join(e)) for name, e in errors.items()],
        "rows": [_row(row) for row in results.rows],
        "groups": [
            {
                "formation": g.formation,
                "url": _formation_url(g.formation),
                "sessions": [_row(r) for r in g.sessions],
                "more": g.more,
                "count": g.count,
                "niveau": NIVEAU_LABELS.get(g.formation.niveau, ""),
            }
            for g in results.groups
        ],  # fmt: skip
        "view_links": [
            (value, label, _query_string(params, vue=value), value == results.view) for value, label in VIEWS
        ],
        "map_markers": maps.result_markers(results.rows),
        "map_config": maps.config(),
        "pages": pages,
        "suggestion_qs": _query_string(params, q=results.suggestion) if results.suggestion else "",
        "previous_qs": _query_string(params, page=results.page - 1) if results.has_previous else "",
        "next_qs": _query_string(params, page=results.page + 1) if results.has_next else "",
        "candidates": [
            (label, _query_string(params, lieu=label))
            for commune in (results.place.candidates if results.place else [])
            for label in commune.labels()[:1]
        ],
        "has_criteria": any(v for k, v in params.items() if k not in {"page", "tri", "rayon", "vue"}),
        "main_towns": main_towns(),
        "page_title": "Trouver une formation",
    }
    template = "public/_results.html" if getattr(request, "htmx", False) else "public/search.html"
    return render(request, template, context)


def _formation_url(formation):
    return reverse("public:formation", args=[formation.reference, formation.slug])


def _row(row):
    """What a result card (or a session line of a formation card) shows."""
    kinds = [(kind, financing.SHORT_LABELS[kind]) for kind, _ in financing.KINDS if getattr(row, financing.field(kind))]
    return {
        "session": row,
        "formation": row.formation,
        "url": _formation_url(row.formation) + f"#session-{row.numero_carif}",
        "distance": getattr(row, "distance_km", None),
        "remote": getattr(row, "remote", False),
        "status": row.status,
        "modalite": MODALITE_SHORT.get(row.modalite, ""),
        "financements": kinds,
        "niveau": NIVEAU_LABELS.get(row.niveau, ""),
    }


@require_GET
def communes(request):
    """Type-ahead of the town field (htmx fills the <datalist>)."""
    labels = suggestions(request.GET.get("lieu", ""))
    return render(request, "public/_communes.html", {"labels": labels})


def _withdrawn(request, reference):
    """410 « Cette formation n'est plus proposée » for a formation once published (it has a
    live version) and now archived, of an organisme no longer diffused, or without any
    published session; with similar formations of the offer (same certification, else
    title words, nearest département first). A formation never published stays a 404."""
    formation = (
        Formation.objects.filter(reference=reference, live_version__isnull=False)
        .select_related("live_version__certification", "structure")
        .first()
    )
    if formation is None:
        raise Http404
    version = formation.live_version
    cert = version.certification
    similar = PublishedFormation.objects.exclude(pk=formation.pk)
    if cert is not None and (cert.code_rncp or cert.code_rs):
        same = similar.filter(code_rncp=cert.code_rncp) if cert.code_rncp else similar.filter(code_rs=cert.code_rs)
    else:
        same = similar.none()
    found = list(same.order_by("intitule")[:SIMILAR])
    if len(found) < SIMILAR:
        # The title's main word (its longest): « CAP Boucher Tours » → « Boucher ».
        main_word = max(words(version.intitule), key=len, default="")
        results = run_search({"q": main_word, "vue": "formations"}, spell=False) if main_word else None
        seen = {f.pk for f in found}
        found += [g.formation for g in (results.groups if results else []) if g.formation.pk not in seen]
    postcode = version.sessions.filter(places__isnull=False).values_list("places__lieu__code_postal", flat=True).first()
    departement = (postcode or "")[:2]
    if departement:
        sessions = PublishedSession.objects.filter(formation__in=[f.pk for f in found], departement=departement)
        near = set(sessions.values_list("formation_id", flat=True))
        found.sort(key=lambda f: f.pk not in near)
    response = render(
        request,
        "public/formation_gone.html",
        {
            "intitule": version.intitule,
            "organisme": formation.structure.nom,
            "similar": found[:SIMILAR],
            "search_qs": urlencode({"q": version.intitule}),
            "page_title": "Cette formation n'est plus proposée",
        },
        status=410,
    )
    return response


@require_GET
def communes_positions(request):
    """The bundled communes with their positions, for « Me géolocaliser » (P3): the browser
    finds the nearest one itself, the visitor's position is never sent."""

    def load():
        return [[c.label, round(c.latitude, 5), round(c.longitude, 5)] for c in Commune.objects.all()]

    response = JsonResponse(cache.get_or_set("public:communes-positions", load, 3600), safe=False)
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def formation_detail(request, reference, slug=""):
    formation = (
        published_formations()
        .select_related("live_version__certification", "structure__live_version")
        .filter(reference=reference)
        .first()
    )
    if formation is None:
        return _withdrawn(request, reference)
    version = formation.live_version
    expected = slug_of(version.intitule)
    if slug != expected:
        return redirect("public:formation", reference=reference, slug=expected, permanent=True)
    sessions = list(
        published_sessions()
        .filter(formation_version=version)
        .select_related("session", "lieu_inscription", "contact_inscription")
        .prefetch_related(
            Prefetch("places", queryset=SessionPlace.objects.select_related("lieu").order_by("-is_principal", "pk")),
            "trainers__structure",
            Prefetch(
                "financements",
                queryset=Financement.objects.filter(etat=FinancementEtat.DIFFUSION).select_related(
                    "dispositif", "financeur"
                ),
            ),
            Prefetch(
                "contacts",
                queryset=SessionContact.objects.filter(contact__diffusion_web=True).select_related("contact"),
            ),
            Prefetch(
                "recruitment_slots",
                queryset=RecruitmentSlot.objects.select_related("lieu", "structure"),
            ),
            "equipements",
            "cycles",
            Prefetch("blocs", queryset=SessionBlocs.objects.select_related("certification").prefetch_related("blocs")),
        )
        .order_by("date_debut", "session__reference")
    )
    if not sessions:
        return _withdrawn(request, reference)
    today = timezone.localdate()
    certification = version.certification
    for sv in sessions:
        # One status computed from today's date (P1), the same as the results' cards.
        sv.status = status_of_version(sv, today)
        # The kinds the search knows this session by (indexing.py): only what was entered.
        sv.financing_kinds = sorted(
            financing.kinds_of(
                [(f.dispositif.code, f.financeur.code, f.financeur.lheo_code) for f in sv.financements.all()]
            )
        )
        sv.public_contact_inscription = (
            sv.contact_inscription if sv.contact_inscription and sv.contact_inscription.diffusion_web else None
        )
        for slot in sv.recruitment_slots.all():
            slot.is_past = slot.date is not None and slot.date < today
        sv.pedagogie = [PEDAGOGIE[c] for c in sv.modalites_pedagogiques or [] if c in PEDAGOGIE]
    current = [sv for sv in sessions if sv.status is not TERMINEE]
    current.sort(key=lambda sv: (sv.status.rank, sv.date_debut or datetime.date.max, sv.session.reference))
    past = [sv for sv in sessions if sv.status is TERMINEE]
    url = request.build_absolute_uri(reverse("public:formation", args=[reference, expected]))
    organisme_url = request.build_absolute_uri(reverse("public:organisme", args=[formation.structure.reference]))
    return render(
        request,
        "public/formation.html",
        {
            "formation": formation,
            "version": version,
            "certification": certification,
            "niveau_entree": _level_label(version.niveau_entree),
            "niveau_sortie": _level_label(version.niveau_sortie),
            "current_sessions": current,
            "joinable_count": sum(1 for sv in current if sv.status.joinable),
            "map_markers": maps.place_markers(current),
            "map_config": maps.config(),
            "today": today,
            "past_sessions": past,
            "financing_labels": financing.LABELS,
            "modalites": MODALITE_SHORT,
            "jsonld": jsonld.script(jsonld.course(formation, version, current, url=url, organisme_url=organisme_url)),
            "page_title": version.intitule,
            "canonical_url": url,
        },
    )


def _level_label(code):
    if not code:
        return ""
    return NIVEAU_LABELS.get(level_of(code)) or lheo.label(lheo.NIVEAUX, code)


@require_GET
def organisme(request, reference):
    structure = get_object_or_404(
        Structure.objects.select_related("live_version").filter(etat__is_diffused=True), reference=reference
    )
    formations = PublishedFormation.objects.filter(structure=structure).only(
        "reference", "slug", "intitule", "certification_intitule", "code_rncp", "code_rs", "session_count"
    )
    labels = structure.live_version.labels.all() if structure.live_version else []
    return render(
        request,
        "public/organisme.html",
        {
            "structure": structure,
            "record": structure.live_version,
            "labels": labels,
            "formations": formations.order_by("intitule"),
            "contacts": Contact.objects.filter(structure=structure, diffusion_web=True).order_by(
                "-is_principal", "nom"
            ),
            "page_title": structure.nom,
        },
    )


@require_GET
def site_plan(request):
    """« Plan du site » (P6): the public pages, the searches by département, the organismes
    with published offer."""
    organismes = (
        Structure.objects.filter(pk__in=PublishedFormation.objects.values("structure_id"))
        .only("reference", "nom")
        .order_by("nom")
    )
    return render(
        request,
        "public/plan.html",
        {"departements": DEPARTEMENTS, "organismes": list(organismes), "page_title": "Plan du site"},
    )


@require_GET
def robots(request):
    sitemap_url = request.build_absolute_uri(reverse("public:sitemap"))
    lines = ["User-agent: *", "Disallow: /ofeli/", "Disallow: /communes/", f"Sitemap: {sitemap_url}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
