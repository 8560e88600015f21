"""Public site « Formation Centre-Val de Loire » (SPEC H1): only validated, non-archived
sessions of diffused structures; a change waiting for validation never shows."""

from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify

from ofeli.core.text import normalize_search
from ofeli.formations.models import Formation, SessionPlace
from ofeli.formations.queries import published_sessions


def published_formations():
    return Formation.objects.filter(
        live_version__isnull=False, archived_at__isnull=True, structure__etat__is_diffused=True
    )


def search(request):
    query = request.GET.get("q", "").strip()
    formations = published_formations().select_related("live_version", "live_version__certification", "structure")
    if query:
        words = normalize_search(query).split()
        condition = Q()
        for word in words:
            condition &= (
                Q(live_version__intitule__icontains=word)
                | Q(live_version__objectif__icontains=word)
                | Q(structure__nom__icontains=word)
            )
        formations = formations.filter(condition | Q(live_version__intitule__icontains=query))
    formations = (
        formations.filter(live_version__sessions__in=published_sessions()).distinct().order_by("live_version__intitule")
    )
    page = Paginator(formations, 20).get_page(request.GET.get("page"))
    sessions = (
        published_sessions()
        .filter(formation_version__in=[f.live_version_id for f in page])
        .select_related("session")
        .prefetch_related("places__lieu", "financements__dispositif")
    )
    by_version = {}
    for sv in sessions:
        by_version.setdefault(sv.formation_version_id, []).append(sv)
    rows = [{"formation": f, "sessions": by_version.get(f.live_version_id, [])} for f in page]
    return render(
        request,
        "public/search.html",
        {
            "q": query,
            "page_obj": page,
            "rows": rows,
            "page_title": "Trouver une formation",
        },
    )


def formation_detail(request, reference, slug=""):
    formation = get_object_or_404(
        published_formations().select_related(
            "live_version", "live_version__certification", "structure", "structure__live_version"
        ),
        reference=reference,
    )
    version = formation.live_version
    expected = slugify(version.intitule)[:80]
    if slug != expected:
        return redirect("public:formation", reference=reference, slug=expected, permanent=True)
    sessions = list(
        published_sessions()
        .filter(formation_version=version)
        .select_related("session", "lieu_inscription")
        .prefetch_related(
            Prefetch("places", queryset=SessionPlace.objects.select_related("lieu")),
            "trainers__structure",
            "financements__dispositif",
            "financements__financeur",
            "contacts__contact",
            "recruitment_slots__lieu",
        )
    )
    if not sessions:
        raise Http404
    return render(
        request,
        "public/formation.html",
        {
            "formation": formation,
            "version": version,
            "sessions": sessions,
            "page_title": version.intitule,
        },
    )


def organisme(request, reference):
    from ofeli.structures.models import Structure

    structure = get_object_or_404(
        Structure.objects.select_related("live_version").filter(etat__is_diffused=True), reference=reference
    )
    formations = published_formations().filter(structure=structure).select_related("live_version")
    return render(
        request,
        "public/organisme.html",
        {
            "structure": structure,
            "formations": formations,
            "page_title": structure.nom,
            "contacts": structure.contacts.filter(diffusion_web=True),
        },
    )
