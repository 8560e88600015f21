"""Formation and session screens of the OF user (SPEC D1-D3 essentials, E1-E6, F1-F15).

Each editing page is one HTML form: every button posts everything the user typed, and
the view saves the plain fields before running the button's action. A validation error
re-renders the page with what was typed (F15); a half-complete draft is saved as is."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ofeli.core.decorators import structure_required
from ofeli.core.text import normalize_search
from ofeli.referentials.models import Certification
from ofeli.structures.models import Structure
from ofeli.workflow import revisions, services

from .access import get_formation, get_session_version
from .duplicates import duplicate_candidates
from .forms import CertificationChoiceForm, DuplicateSessionForm, FinancementForm, FormationForm, SessionForm
from .models import Formation, SessionVersion
from .queries import STATE_LABELS, formation_state
from .rules import PLAIN_FIELDS, formation_problems, session_sections, stale_dates_problems
from .session_editor import QUESTION_KEY, SessionEditor

NOT_SAVED = (
    "Vos saisies ne sont pas enregistrées : elles restent affichées ci-dessous pour que vous puissiez les reprendre."
)

# --- creating a formation (E1-E4) --------------------------------------------------------


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
            change = services.create_formation(
                structure,
                request.user,
                intitule=intitule,
                certification=certification,
                **services.certification_fields(certification),
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
    qs = Certification.objects.select_related("replaced_by")  # E2, Q1: the successor is shown
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
    submitted_attempt = False
    conflict = None
    draft_revision = None
    if request.method == "POST":
        if not ctx.editing:
            return _not_editable(request, ctx, redirect("formations:detail", reference))
        form = FormationForm(request.POST, instance=ctx.version, prefix="f")
        action = request.POST.get("action", "save")
        if action == "cancel":
            try:
                services.cancel(ctx.change, request.user)
            except services.WorkflowError as error:
                messages.error(request, str(error))
                return redirect("formations:detail", reference)
            messages.success(request, "Votre demande est supprimée : la version publiée reste inchangée.")
            return redirect("formations:search")
        # Invalid: re-rendered below with the errors and what was typed (F15).
        if form.is_valid():
            try:
                response, draft_revision = _save_formation_page(request, ctx, form, action)
                if response is not None:
                    return response
                services.submit(ctx.change, request.user)
            except services.StaleDraft as stale:
                conflict = stale.conflict
                messages.error(request, str(stale))
            except services.SubmissionBlocked as blocked:
                problems = blocked.problems
                submitted_attempt = True
                messages.error(request, str(blocked))
            except services.WorkflowError as error:
                # Decided, sent or deleted by someone else meanwhile (R2): nothing is saved,
                # what was typed stays on the page.
                if not Formation.objects.filter(pk=formation.pk).exists():
                    messages.error(request, str(error))
                    return redirect("formations:search")
                messages.error(request, f"{error} {NOT_SAVED}")
            else:
                messages.success(
                    request,
                    "Votre demande est envoyée à l'équipe OFeli, qui la validera dans les 48 heures ouvrées.",
                )
                return redirect("formations:detail", reference)
    sessions = list(
        ctx.version.sessions.select_related("session").prefetch_related(
            "trainers__structure", "places__lieu", "financements__dispositif"
        )
    )
    sessions_query = request.GET.get("sessions_q", "").strip()
    if sessions_query:
        sessions = [sv for sv in sessions if session_matches(sv, sessions_query)]
    if ctx.editing and not problems and request.method == "GET" and not ctx.staff_correction:
        # Rules that would block « Soumettre pour validation », listed before the user tries.
        problems = formation_problems(ctx.version)
    if ctx.editing:
        draft_revision = _page_token(request, ctx, revisions.FORMATION_SCOPE, draft_revision, conflict)
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
            "submitted_attempt": submitted_attempt,
            "sessions_query": sessions_query,
            "draft_revision": draft_revision,
            "conflict": conflict,
            "state_label": STATE_LABELS[formation_state(formation, ctx.change.status if ctx.change else None)],
            "history": formation.history.select_related("author")[:20],
            "page_title": f"Formation {formation.reference}",
        },
    )


def _not_editable(request, ctx, response):
    """A post to a page whose request was sent, decided or deleted before it arrived (R2):
    refused with a message, or 403 for a user who may not edit the formation at all."""
    if not ctx.may_edit:
        raise PermissionDenied
    status = ctx.change.get_status_display() if ctx.change else None
    reason = f"elle est « {status} »" if status else "elle a été traitée ou supprimée entre-temps"
    messages.error(request, f"Vos saisies ne sont pas enregistrées : cette demande n'est plus modifiable, {reason}.")
    return response


def _save_formation_page(request, ctx, form, action):
    """Saves the formation page and runs its button in one transaction, under the lock of
    the change request and from the page's revision (R1, R2): returns (the redirect, or None
    for « Soumettre pour validation », sent next; the page's new revision). Raises ``StaleDraft`` when someone saved
    the page since it was loaded, ``WorkflowError`` when the request is no longer editable."""
    reference = ctx.formation.reference
    token = revisions.posted_token(request.POST)
    with services.editing(ctx.change, request.user, revisions.FORMATION_SCOPE, token) as saved:
        form.save()
        if action == "add_session":
            sv = services.add_session(ctx.change, request.user)
            return redirect("formations:session", reference, sv.session.reference), saved
        if action.startswith("duplicate:"):
            # The copy is made once the user has given its dates (F2): see duplicate_session.
            source = get_session_version(ctx, action.split(":", 1)[1])
            services.save_draft(ctx.change, request.user, "Informations générales de la formation")
            return redirect("formations:duplicate_session", reference, source.session.reference), saved
        if action.startswith("remove:"):
            services.remove_session(ctx.change, get_session_version(ctx, action.split(":", 1)[1]), request.user)
            messages.success(request, "La session est retirée de la formation.")
            return redirect("formations:detail", reference), saved
        services.save_draft(ctx.change, request.user, "Informations générales de la formation")
    if action == "submit":
        return None, saved
    messages.success(request, services.CORRECTION_SAVED if ctx.staff_correction else "Brouillon sauvegardé.")
    return redirect("formations:detail", reference), saved


def next_year(day):
    """The same day one year later (28/02 for a 29/02)."""
    if day is None:
        return None
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@login_required
def duplicate_session(request, reference, session_reference):
    """« Dupliquer » (E6, F2): asks the dates of the new session (next year's by default),
    then copies every field and moves every other date of the session by the same offset."""
    ctx = get_formation(request, reference)
    if not ctx.editing:
        raise PermissionDenied
    source = get_session_version(ctx, session_reference)
    initial = {"date_debut": next_year(source.date_debut), "date_fin": next_year(source.date_fin)}
    form = DuplicateSessionForm(request.POST or None, source=source, initial=initial)
    if request.method == "POST" and form.is_valid():
        debut, fin = form.cleaned_data["date_debut"], form.cleaned_data["date_fin"]
        try:
            copy = services.duplicate_session(ctx.change, source, request.user, date_debut=debut, date_fin=fin)
        except services.WorkflowError as error:
            messages.error(request, str(error))
            return redirect("formations:detail", reference)
        moved = ""
        if source.date_debut:
            days = (debut - source.date_debut).days
            moved = (
                f" Les dates d'inscription et des modalités de recrutement sont décalées de {days} jour"
                f"{'s' if abs(days) > 1 else ''} : vérifiez-les."
            )
        messages.success(
            request,
            f"Session dupliquée : nouvelle session {copy.session.reference} du {debut:%d/%m/%Y} au {fin:%d/%m/%Y}."
            f"{moved} Vérifiez aussi ses lieux.",
        )
        return redirect("formations:session", reference, copy.session.reference)
    return render(
        request,
        "formations/duplicate.html",
        {
            "ctx": ctx,
            "formation": ctx.formation,
            "version": ctx.version,
            "source": source,
            "form": form,
            "slots": source.recruitment_slots.exclude(date=None),
            "page_title": f"Dupliquer la session {source.session.reference}",
        },
    )


def _page_token(request, ctx, scope, saved, conflict):
    """The revision an editing page is rendered with: the current one after a save refused
    as stale (the user merges and saves again), the one of the save just made, the one the
    page was loaded from when nothing was saved (a validation error: a save made by someone
    else meanwhile must still be detected), else the current one."""
    if conflict is not None:
        return conflict.token
    if saved is not None:
        return saved
    posted = revisions.posted_token(request.POST) if request.method == "POST" else None
    if posted is not None:
        return posted
    return revisions.current_token(ctx.change, scope)


def session_matches(sv, query):
    """E6 « Rechercher » on the sessions list: every word must appear in the row."""
    row = " ".join(
        [
            sv.session.reference,
            sv.date_debut.strftime("%d/%m/%Y") if sv.date_debut else "",
            sv.date_fin.strftime("%d/%m/%Y") if sv.date_fin else "",
            *(f"{p.lieu.ville} {p.lieu.departement}" for p in sv.places.all()),
            *(f"{f.dispositif.libelle} {f.numero_marche}" for f in sv.financements.all()),
            *(t.structure.nom for t in sv.trainers.all()),
        ]
    )
    haystack = normalize_search(row)
    return all(word in haystack for word in normalize_search(query).split())


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
    """The session record (F1-F15): read mode, or one form with every section when a
    change request is open and editable."""
    ctx = get_formation(request, reference)
    sv = get_session_version(ctx, session_reference)
    if request.method == "POST" and not ctx.editing:
        return _not_editable(request, ctx, redirect("formations:session", reference, session_reference))
    editing = {}
    conflict = None
    draft_revision = None
    if ctx.editing:
        editor = SessionEditor(request, ctx, sv)
        published = None
        if ctx.formation.live_version_id and ctx.formation.live_version_id != sv.formation_version_id:
            published = ctx.formation.live_version.sessions.filter(session=sv.session).first()
        form_kwargs = {
            "instance": sv,
            "structure": ctx.formation.structure,
            "places": editor.place_choices(),
            "contacts": editor.contact_choices(),
            "published": published,
            "prefix": "s",
        }
        form = SessionForm(**form_kwargs)
        if request.method == "POST":
            form = SessionForm(request.POST, **form_kwargs)
            if form.is_valid():
                token = revisions.posted_token(request.POST)
                anchor = None
                try:
                    # The plain fields and the button's action, in one transaction, under the
                    # lock of the change request and from the page's revision (R1, R2).
                    with services.editing(ctx.change, request.user, revisions.session_scope(sv), token) as saved:
                        form.save()
                        editor.build_forms()
                        if editor.action == "save":
                            services.save_draft(ctx.change, request.user, f"Session {sv.session.reference}")
                            messages.success(
                                request,
                                services.CORRECTION_SAVED
                                if ctx.staff_correction
                                else "Session sauvegardée dans le brouillon.",
                            )
                            for _field, message in stale_dates_problems(sv):
                                # Flagged at save, refused at submission (F2, F13).
                                messages.warning(request, f"Session {sv.session.reference} : {message}")
                            return redirect(reverse("formations:detail", args=[reference]) + "#sessions")
                        anchor = editor.run()
                    draft_revision = saved  # re-rendered below: the token of this very save
                except services.StaleDraft as stale:
                    conflict = stale.conflict
                    messages.error(request, str(stale))
                    editor.build_forms()
                except services.WorkflowError as error:
                    if not SessionVersion.objects.filter(pk=sv.pk).exists():
                        # The draft was deleted meanwhile (« Supprimer ma demande »).
                        messages.error(request, str(error))
                        if Formation.objects.filter(pk=ctx.formation.pk).exists():
                            return redirect("formations:detail", reference)
                        return redirect("formations:search")
                    messages.error(request, f"{error} {NOT_SAVED}")
                    editor.build_forms()
                if anchor is not None:
                    return redirect(reverse("formations:session", args=[reference, session_reference]) + anchor)
            else:
                editor.build_forms()
                messages.error(
                    request,
                    "La session n'est pas enregistrée : corrigez les champs signalés. Ce que vous avez saisi est conservé.",
                )
        else:
            editor.build_forms()
        trainer_query = request.POST.get("trainer_q", "").strip()
        searched = editor.action == "search_trainer"
        trainer_results = []
        if searched:
            same_network = bool(request.POST.get("same_network"))
            trainer_results = trainer_search(trainer_query, ctx.formation.structure, same_network=same_network)
        contact_query = request.POST.get("contact_q", "").strip()
        contact_searched = editor.action in ("search_contact", "add_contact")
        editing = {
            "form": form,
            "editor": editor,
            # F7 « Personne » (issue 10): searched, not a drop-down; kept after a refused choice.
            "contact_query": contact_query,
            "contact_searched": contact_searched,
            "contact_selected": request.POST.get("ct-contact", "") if contact_searched else "",
            **(contact_search(editor, contact_query) if contact_searched else {}),
            "available_places": editor.place_choices().exclude(pk__in=sv.places.values("lieu_id")),
            "trainer_query": trainer_query,
            "trainer_results": trainer_results,
            "trainer_searched": searched,
            "principal_question": request.session.get(QUESTION_KEY) == sv.pk,
            # A refused action comes back with every error listed at the top (U1) and its
            # panel open.
            "error_items": editor.error_items(form) if request.method == "POST" else [],
            "open_panel": editor.open_panel() if request.method == "POST" else "",
            "sections": session_sections(sv, ctx.formation, ctx.version),
            "date_warnings": [
                (f"id_s-{field}" if field in PLAIN_FIELDS else field, message)
                for field, message in stale_dates_problems(sv)
            ],
            "apprenticeship": sv.financements.filter(dispositif__is_apprenticeship=True).exists(),
            "draft_revision": _page_token(request, ctx, revisions.session_scope(sv), draft_revision, conflict),
            "conflict": conflict,
        }
    siblings = list(ctx.version.sessions.values_list("session__reference", flat=True))
    position = siblings.index(sv.session.reference)
    return render(
        request,
        "formations/session.html",
        {
            "ctx": ctx,
            "sv": sv,
            "formation": ctx.formation,
            "version": ctx.version,
            "trainers": sv.trainers.select_related("structure", "structure__live_version"),
            "places": sv.places.select_related("lieu"),
            "contacts": sv.contacts.select_related("contact", "contact__structure"),
            "financements": sv.financements.select_related("dispositif", "financeur"),
            "cycles": sv.cycles.all(),
            "blocs_rows": sv.blocs.select_related("certification").prefetch_related("blocs"),
            "equipements": sv.equipements.all(),
            "slots": sv.recruitment_slots.select_related("lieu", "structure"),
            "pager": {
                "position": position + 1,
                "count": len(siblings),
                "previous": siblings[position - 1] if position > 0 else None,
                "next": siblings[position + 1] if position + 1 < len(siblings) else None,
            },
            "page_title": f"Session {sv.session.reference}",
            **editing,
        },
    )


@login_required
def trainer_results(request, reference, session_reference):
    """htmx type-ahead of « Rechercher une structure » (F3)."""
    ctx = get_formation(request, reference)
    get_session_version(ctx, session_reference)
    query = request.GET.get("trainer_q", "").strip()
    same_network = bool(request.GET.get("same_network"))
    results = trainer_search(query, ctx.formation.structure, same_network) if (query or same_network) else []
    return render(
        request,
        "formations/_trainer_results.html",
        {"trainer_results": results, "searched": bool(query or same_network)},
    )


CONTACT_RESULTS_MAX = 30


def contact_search(editor, query):
    """F7 « Personne » of a session contact (issue 10): the contacts the user may choose
    (``SessionEditor.contact_choices``: those of the user's structures) not yet in the
    session, matching every word of ``query`` on name, first name, e-mail or reference,
    accents and case ignored (« aurelie » finds « Aurélie »); all of them (up to
    CONTACT_RESULTS_MAX) for an empty query, as the magnifier shows. An address book is a
    few dozen rows (the user's structures only): the words are matched in Python, which
    ignores accents the same way on SQLite and PostgreSQL; one query whatever the size."""
    qs = (
        editor.contact_choices()
        .exclude(pk__in=editor.sv.contacts.values("contact_id"))
        .select_related("structure__live_version")
        .order_by("nom", "prenom", "pk")
    )
    words = normalize_search(query).split()[:5]
    rows = [
        contact
        for contact in qs
        if all(
            word in normalize_search(f"{contact.nom} {contact.prenom} {contact.email} {contact.reference}")
            for word in words
        )
    ]
    return {"contact_results": rows[:CONTACT_RESULTS_MAX], "contact_more": len(rows) > CONTACT_RESULTS_MAX}


@login_required
def contact_results(request, reference, session_reference):
    """htmx type-ahead of « Personne » in « Ajouter un contact » (F7, issue 10)."""
    ctx = get_formation(request, reference)
    sv = get_session_version(ctx, session_reference)
    if not ctx.editing:
        raise PermissionDenied
    query = request.GET.get("contact_q", "").strip()[:100]
    return render(
        request,
        "formations/_contact_results.html",
        {"contact_query": query, "contact_searched": True, **contact_search(SessionEditor(request, ctx, sv), query)},
    )


def trainer_search(query, structure, same_network=False):
    """F3: the structures list, filtered by text and « Même réseau » (same SIREN, same
    network, parent and attached structures)."""
    qs = Structure.objects.select_related("live_version", "type", "etat").order_by("nom")
    if same_network:
        network = Q(pk=structure.pk) | Q(parent_id=structure.pk)
        if structure.siren:
            network |= Q(siren=structure.siren)
        if structure.reseau:
            network |= Q(reseau=structure.reseau)
        if structure.parent_id:
            network |= Q(pk=structure.parent_id) | Q(parent_id=structure.parent_id)
        qs = qs.filter(network)
    if query:
        compact = query.replace(" ", "")
        qs = qs.filter(Q(nom__icontains=query) | Q(reference__iexact=query) | Q(siret=compact) | Q(nda=compact))
    return qs[:30]


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
