"""Public site « Formation Centre-Val de Loire » (SPEC H1).

- ``search``: the search form and its results, read from the public index (search.py);
  with htmx, only the results and the facet counts are sent back.
- ``formation_detail`` and ``organisme`` read the published offer itself (live versions
  only, never a draft), so that what they show is exactly what is validated.
Nothing here needs an account, and nothing shown is staff-only or OF-only: contacts are
those marked « Diffusion web », financing rows those in state « Diffusion »."""

from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ofeli.formations.enums import FinancementEtat
from ofeli.formations.models import Financement, RecruitmentSlot, SessionContact, SessionPlace
from ofeli.formations.queries import published_sessions
from ofeli.referentials import lheo
from ofeli.structures.models import Contact, Structure

from . import financing, jsonld
from .communes import suggestions
from .indexing import level_of, published_formations, slug_of
from .models import Commune, PublishedFormation
from .search import MODALITE_SHORT, NIVEAU_LABELS, SearchForm
from .search import search as run_search

MAIN_TOWNS_POPULATION = 5000


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
    data = {}
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data
    results = run_search(data)
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
        "rows": [_row(row) for row in results.rows],
        "pages": pages,
        "previous_qs": _query_string(params, page=results.page - 1) if results.has_previous else "",
        "next_qs": _query_string(params, page=results.page + 1) if results.has_next else "",
        "candidates": [
            (label, _query_string(params, lieu=label))
            for commune in (results.place.candidates if results.place else [])
            for label in commune.labels()[:1]
        ],
        "has_criteria": any(v for k, v in params.items() if k not in {"page", "tri", "rayon"}),
        "main_towns": main_towns(),
        "page_title": "Trouver une formation",
    }
    template = "public/_results.html" if getattr(request, "htmx", False) else "public/search.html"
    return render(request, template, context)


def _row(row):
    """What a result card shows."""
    kinds = [(kind, financing.SHORT_LABELS[kind]) for kind, _ in financing.KINDS if getattr(row, financing.field(kind))]
    return {
        "session": row,
        "formation": row.formation,
        "url": reverse("public:formation", args=[row.formation.reference, row.formation.slug])
        + f"#session-{row.numero_carif}",
        "distance": getattr(row, "distance_km", None),
        "modalite": MODALITE_SHORT.get(row.modalite, ""),
        "financements": kinds,
        "niveau": NIVEAU_LABELS.get(row.niveau, ""),
    }


@require_GET
def communes(request):
    """Type-ahead of the town field (htmx fills the <datalist>)."""
    labels = suggestions(request.GET.get("lieu", ""))
    return render(request, "public/_communes.html", {"labels": labels})


@require_GET
def formation_detail(request, reference, slug=""):
    formation = get_object_or_404(
        published_formations().select_related("live_version__certification", "structure__live_version"),
        reference=reference,
    )
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
        )
        .order_by("date_debut", "session__reference")
    )
    if not sessions:
        raise Http404
    today = timezone.localdate()
    certification = version.certification
    certifying = bool(certification and (certification.code_rncp or certification.code_rs))
    for sv in sessions:
        # The kinds the search knows this session by (indexing.py): the same rule, CPF included.
        sv.financing_kinds = sorted(
            financing.kinds_of(
                [(f.dispositif.code, f.financeur.code, f.financeur.lheo_code) for f in sv.financements.all()],
                certifying=certifying,
            )
        )
        sv.public_contact_inscription = (
            sv.contact_inscription if sv.contact_inscription and sv.contact_inscription.diffusion_web else None
        )
    current = [sv for sv in sessions if sv.date_fin is None or sv.date_fin >= today]
    past = [sv for sv in sessions if sv.date_fin is not None and sv.date_fin < today]
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
            "past_sessions": past,
            "financing_labels": financing.LABELS,
            "modalites": MODALITE_SHORT,
            "jsonld": jsonld.script(
                jsonld.course(formation, version, current or past, url=url, organisme_url=organisme_url)
            ),
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
def robots(request):
    sitemap_url = request.build_absolute_uri(reverse("public:sitemap"))
    lines = ["User-agent: *", "Disallow: /ofeli/", "Disallow: /communes/", f"Sitemap: {sitemap_url}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
