"""Formation and session screens of the OF user (SPEC D1-D3 essentials, E1-E6, F1-F15).

Each editing page is one HTML form: every button posts everything the user typed, and
the view saves the plain fields before running the button's action. A validation error
re-renders the page with what was typed (F15); a half-complete draft is saved as is."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ofeli.core.decorators import structure_required
from ofeli.core.models import next_reference
from ofeli.core.text import normalize_search
from ofeli.referentials.models import Certification
from ofeli.structures.forms import LieuForm
from ofeli.structures.models import Lieu, Structure
from ofeli.workflow import services
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.history import record

from .access import get_formation, get_session_version
from .forms import CertificationChoiceForm, FinancementForm, FormationForm, SessionForm
from .models import Financement, Formation, SessionPlace, SessionTrainer
from .queries import STATE_LABELS, formation_state

# --- creating a formation (E1-E4) --------------------------------------------------------


def duplicate_candidates(structure, intitule="", certification=None):
    """E1: formations of the same organisme with the same certification or a very similar title."""
    candidates = Formation.objects.filter(structure=structure).select_related("live_version")
    matches = []
    wanted = normalize_search(intitule)
    for formation in candidates.prefetch_related("versions"):
        for version in formation.versions.all():
            same_cert = certification and version.certification_id == certification.pk
            similar = wanted and _similar(wanted, normalize_search(version.intitule))
            if same_cert or similar:
                matches.append(formation)
                break
    return matches


def _similar(a, b):
    from difflib import SequenceMatcher

    return a == b or SequenceMatcher(None, a, b).ratio() >= 0.85


@structure_required
def create(request):
    structure = request.current_structure
    query = request.GET.get("q", "").strip()
    certifications = Certification.objects.none()
    if query:
        certifications = certification_search(query, include_inactive=request.GET.get("toutes") == "1")[:50]
    form = CertificationChoiceForm(request.POST or None, initial={"certifiante": "oui" if query else "non"})
    duplicates = []
    selected = None
    if request.method == "POST" and form.is_valid():
        certification = selected = form.cleaned_data["certification"]
        intitule = certification.intitule if certification else form.cleaned_data["intitule"]
        duplicates = duplicate_candidates(structure, intitule, certification)
        if request.POST.get("action") != "create":
            pass  # « Valider ma sélection »: show the chosen certification, then « Créer »
        elif duplicates and not request.POST.get("confirm_duplicate"):
            messages.warning(request, "Une formation semblable existe déjà : vérifiez avant de créer un doublon.")
        else:
            fields = {}
            if certification:
                fields = {
                    "niveau_sortie": certification.niveau_sortie,
                    "objectif": certification.objectif,
                    "contenu": certification.contenu,
                    "formacodes": certification.formacodes,
                    "codes_rome": certification.codes_rome,
                }
            change = services.create_formation(
                structure, request.user, intitule=intitule, certification=certification, **fields
            )
            messages.success(
                request, f"La formation {change.formation.reference} est créée. Complétez-la puis ajoutez ses sessions."
            )
            return redirect("formations:detail", change.formation.reference)
    return render(
        request,
        "formations/create.html",
        {
            "form": form,
            "q": query,
            "certifications": certifications,
            "duplicates": duplicates,
            "selected": selected,
            "page_title": "Nouvelle formation",
        },
    )


def certification_search(query, include_inactive=False):
    qs = Certification.objects.all()
    if not include_inactive:
        qs = qs.filter(etat="0")
    q = query.strip()
    digits = q.upper().removeprefix("RNCP").removeprefix("RS").strip()
    if digits.isdigit():
        return qs.filter(Q(code_rncp=digits) | Q(code_rs=digits) | Q(code_certifinfo=digits))
    for word in normalize_search(q).split():
        qs = qs.filter(search_text__contains=word)
    return qs


# --- the formation record (E4, E6, G1) ------------------------------------------------------


@login_required
def detail(request, reference):
    ctx = get_formation(request, reference)
    formation = ctx.formation
    if ctx.version is None:
        raise PermissionDenied
    form = FormationForm(instance=ctx.version, prefix="f") if ctx.editing else None
    problems = []
    if request.method == "POST":
        if not ctx.editing:
            raise PermissionDenied
        form = FormationForm(request.POST, instance=ctx.version, prefix="f")
        action = request.POST.get("action", "save")
        if action == "cancel":
            services.cancel(ctx.change, request.user)
            messages.success(request, "Votre demande est supprimée : la version publiée reste inchangée.")
            return redirect("formations:search")
        if form.is_valid():
            with transaction.atomic():
                form.save()
                if action == "add_session":
                    sv = services.add_session(ctx.change, request.user)
                    return redirect("formations:session", reference, sv.session.reference)
                if action.startswith("duplicate:"):
                    source = get_session_version(ctx, action.split(":", 1)[1])
                    copy = services.duplicate_session(ctx.change, source, request.user)
                    messages.success(
                        request,
                        f"Session dupliquée : nouvelle session {copy.session.reference}. Modifiez ses dates et lieux.",
                    )
                    return redirect("formations:session", reference, copy.session.reference)
                if action.startswith("remove:"):
                    services.remove_session(ctx.change, get_session_version(ctx, action.split(":", 1)[1]), request.user)
                    messages.success(request, "La session est retirée de la formation.")
                    return redirect("formations:detail", reference)
                services.save_draft(ctx.change, request.user, "Informations générales de la formation")
            if action == "submit":
                try:
                    services.submit(ctx.change, request.user)
                except services.SubmissionBlocked as blocked:
                    problems = blocked.problems
                    messages.error(request, str(blocked))
                else:
                    messages.success(
                        request,
                        "Votre demande est envoyée à l'équipe OFeli, qui la validera dans les 48 heures ouvrées.",
                    )
                    return redirect("formations:detail", reference)
            else:
                messages.success(request, "Brouillon sauvegardé.")
                return redirect("formations:detail", reference)
    sessions = list(
        ctx.version.sessions.select_related("session").prefetch_related(
            "trainers__structure", "places__lieu", "financements__dispositif"
        )
    )
    return render(
        request,
        "formations/detail.html",
        {
            "ctx": ctx,
            "formation": formation,
            "version": ctx.version,
            "form": form,
            "sessions": sessions,
            "problems": problems,
            "state_label": STATE_LABELS[formation_state(formation, ctx.change.status if ctx.change else None)],
            "history": formation.history.select_related("author")[:20],
            "page_title": f"Formation {formation.reference}",
        },
    )


@login_required
@require_POST
def request_change(request, reference):
    """« Demande de modification » (F1)."""
    ctx = get_formation(request, reference)
    if not ctx.may_edit:
        raise PermissionDenied
    try:
        services.start_formation_change(ctx.formation, request.user)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    return redirect("formations:detail", reference)


# --- the session record (F1-F15) ---------------------------------------------------------


@login_required
def session(request, reference, session_reference):
    ctx = get_formation(request, reference)
    sv = get_session_version(ctx, session_reference)
    structure = ctx.formation.structure
    form = SessionForm(instance=sv, structure=structure, prefix="s")
    fin_form = FinancementForm(user=request.user)
    lieu_form = LieuForm(form_id="session-form")
    trainer_query = request.POST.get("trainer_q", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not ctx.editing:
            raise PermissionDenied
        form = SessionForm(request.POST, instance=sv, structure=structure, prefix="s")
        action = request.POST.get("action", "save")
        if action == "add_financement" or action == "refresh_mesures":
            fin_form = FinancementForm(request.POST, user=request.user)
        if action == "create_place":
            lieu_form = LieuForm(request.POST, form_id="session-form")
        if form.is_valid():
            with transaction.atomic():
                form.save()
                done = _session_action(request, ctx, sv, action, fin_form, lieu_form)
            if done == "back":
                services.save_draft(ctx.change, request.user, f"Session {sv.session.reference}")
                messages.success(request, "Session sauvegardée dans le brouillon.")
                return redirect(reverse("formations:detail", args=[reference]) + "#sessions")
            if done is True:
                return redirect(
                    reverse("formations:session", args=[reference, session_reference]) + request.POST.get("anchor", "")
                )
        else:
            messages.error(
                request,
                "La session n'est pas enregistrée : corrigez les champs signalés. Ce que vous avez saisi est conservé.",
            )
    siblings = list(ctx.version.sessions.values_list("session__reference", flat=True))
    position = siblings.index(sv.session.reference)
    trainer_results = []
    if trainer_query or request.POST.get("action") == "search_trainer":
        trainer_results = trainer_search(trainer_query, structure, same_network=bool(request.POST.get("same_network")))
    return render(
        request,
        "formations/session.html",
        {
            "ctx": ctx,
            "sv": sv,
            "form": form,
            "fin_form": fin_form,
            "lieu_form": lieu_form,
            "formation": ctx.formation,
            "trainers": sv.trainers.select_related("structure", "structure__live_version"),
            "places": sv.places.select_related("lieu"),
            "financements": sv.financements.select_related("dispositif", "financeur"),
            "available_places": Lieu.objects.filter(structure__in=_place_owners(sv, structure)).exclude(
                pk__in=sv.places.values("lieu_id")
            ),
            "trainer_query": trainer_query,
            "trainer_results": trainer_results,
            "pager": {
                "position": position + 1,
                "count": len(siblings),
                "previous": siblings[position - 1] if position > 0 else None,
                "next": siblings[position + 1] if position + 1 < len(siblings) else None,
            },
            "page_title": f"Session {sv.session.reference}",
        },
    )


def _place_owners(sv, structure):
    return [structure.pk, *sv.trainers.values_list("structure_id", flat=True)]


def trainer_search(query, structure, same_network=False):
    qs = Structure.objects.select_related("live_version", "type", "etat").order_by("nom")
    if same_network:
        network = Q(siren=structure.siren) if structure.siren else Q(pk=structure.pk)
        if structure.reseau:
            network |= Q(reseau=structure.reseau)
        if structure.parent_id:
            network |= Q(pk=structure.parent_id) | Q(parent_id=structure.parent_id)
        network |= Q(parent_id=structure.pk)
        qs = qs.filter(network)
    if query:
        qs = qs.filter(Q(nom__icontains=query) | Q(reference__iexact=query) | Q(siret=query.replace(" ", "")))
    return qs[:30]


def _session_action(request, ctx, sv, action, fin_form, lieu_form):
    """Run the button's action once the plain fields are saved. Returns True to redirect
    back to the session, "back" to go to the formation, None to re-render."""
    if action == "save":
        return "back"
    if action == "stay":
        return True
    kind, _, arg = action.partition(":")
    if kind == "add_trainer":
        target = Structure.objects.filter(pk=request.POST.get("trainer")).first()
        if target is None:
            messages.error(request, "Sélectionnez l'organisme formateur à ajouter.")
            return None
        principal = not sv.trainers.filter(is_principal=True).exists()
        SessionTrainer.objects.get_or_create(session_version=sv, structure=target, defaults={"is_principal": principal})
        messages.success(request, f"Organisme formateur ajouté : {target.nom}.")
        return True
    if kind == "remove_trainer":
        sv.trainers.filter(pk=arg).delete()
        return True
    if kind == "principal_trainer":
        trainer = sv.trainers.filter(pk=arg).first()
        if trainer:
            sv.trainers.update(is_principal=False)
            SessionTrainer.objects.filter(pk=trainer.pk).update(is_principal=True)
            messages.info(
                request,
                "L'organisme formateur principal a changé. Vérifiez le lieu de formation principal et le lieu d'inscription.",
            )
        return True
    if kind == "add_place":
        lieu = Lieu.objects.filter(
            pk=request.POST.get("place"), structure__in=_place_owners(sv, ctx.formation.structure)
        ).first()
        if lieu is None:
            messages.error(request, "Sélectionnez un lieu de formation parmi ceux proposés.")
            return None
        principal = not sv.places.filter(is_principal=True).exists()
        SessionPlace.objects.get_or_create(session_version=sv, lieu=lieu, defaults={"is_principal": principal})
        return True
    if kind == "create_place":
        if not lieu_form.is_valid():
            return None
        lieu = Lieu.objects.create(
            reference=next_reference("L"),
            structure=ctx.formation.structure,
            created_by=request.user,
            **lieu_form.cleaned_data,
        )
        principal = not sv.places.filter(is_principal=True).exists()
        SessionPlace.objects.create(session_version=sv, lieu=lieu, is_principal=principal)
        record(
            HistoryAction.PLACE_CHANGED,
            request.user,
            structure=ctx.formation.structure,
            details=f"Lieu {lieu.reference} créé : {lieu}",
        )
        messages.success(request, f"Lieu « {lieu.nom} » créé et choisi pour la session.")
        return True
    if kind == "remove_place":
        sv.places.filter(pk=arg).delete()
        return True
    if kind == "principal_place":
        if sv.places.filter(pk=arg).exists():
            sv.places.update(is_principal=False)
            SessionPlace.objects.filter(pk=arg).update(is_principal=True)
        return True
    if kind == "add_financement":
        if fin_form.is_valid():
            Financement.objects.create(
                session_version=sv,
                financeur=fin_form.cleaned_data["financeur"],
                dispositif=fin_form.cleaned_data["dispositif"],
                nb_places=fin_form.cleaned_data["nb_places"],
                numero_marche=fin_form.cleaned_data["numero_marche"],
            )
            return True
        return None
    if kind == "remove_financement":
        sv.financements.filter(pk=arg).delete()
        return True
    if kind in ("refresh_mesures", "search_trainer"):
        return None
    return True


@login_required
def mesures(request):
    """htmx: the mesures of a financeur (F8 dependent list)."""
    form = FinancementForm(request.GET, user=request.user)
    return render(request, "formations/_mesure_select.html", {"fin_form": form})


@login_required
def certification_results(request):
    """htmx type-ahead of the certification search (E2)."""
    query = request.GET.get("q", "").strip()
    results = certification_search(query, include_inactive=request.GET.get("toutes") == "1")[:50] if query else []
    return render(request, "formations/_certification_results.html", {"certifications": results, "q": query})
