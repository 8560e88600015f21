"""The structure record « Fiche organisme » (SPEC C1-C9) and the address search (C4, F6).

The record is one page with tabs. Its coordonnées and complément are a versioned draft
edited through a change request (``workflow.services``); contacts and documents are
edited directly and logged. Every view loads the structure with ``_get_structure``, which
refuses a structure the user holds no rights on; contacts and documents are then looked
up *inside* that structure, so a forged id of another structure's row is a 404."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ofeli.core import ban
from ofeli.core.private_files import open_private, private_file_response
from ofeli.formations.models import Formation, SessionTrainer
from ofeli.formations.queries import STATE_LABELS, formation_state, with_open_change
from ofeli.users.models import Membership
from ofeli.users.perms import can_access_structure
from ofeli.workflow import revisions, services
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.history import record
from ofeli.workflow.models import ChangeRequest

from .forms import CoordonneesForm, DocumentForm, StructureContactForm
from .models import Contact, Document, Structure
from .rules import structure_warnings

TABS = [
    ("identite", "Identité"),
    ("coordonnees", "Coordonnées"),
    ("organisation", "Organisation"),
    ("contacts", "Contacts"),
    ("complement", "Complément organisme de formation"),
    ("formations", "Formations de l'OF"),
    ("gestion", "Gestion"),
]
COMPLEMENT_FIELDS = {"labels", "qualites"}
COMPLEMENT_LABEL = "Conventions / labels / qualités"  # its line in workflow.compare.structure_snapshot
NOT_SAVED = (
    "Vos saisies ne sont pas enregistrées : elles restent affichées ci-dessous pour que vous puissiez les reprendre."
)
CONTACTS_PER_PAGE = 50
FORMATIONS_SHOWN = 200
HISTORY_SHOWN = 50


def _get_structure(request, reference):
    structure = get_object_or_404(
        Structure.objects.select_related(
            "type", "etat", "parent", "live_version", "created_by", "admin_updated_by", "of_updated_by"
        ),
        reference=reference,
    )
    if not can_access_structure(request.user, structure):
        raise PermissionDenied
    return structure


def _detail_url(structure, tab=""):
    url = reverse("structures:detail", args=[structure.reference])
    return f"{url}#{tab}" if tab else url


@dataclass
class Record:
    """The open change request of a structure (if any), the version to show (the draft
    while a request is open, else the published one) and whether the user edits it now."""

    change: ChangeRequest | None
    version: object
    editing: bool
    staff_correction: bool


def _record(request, structure):
    change = services.open_change_request(structure=structure)
    staff_correction = bool(change and change.is_staff_correction(request.user))
    editing = bool(change and change.structure_version_id and change.is_editable_by(request.user))
    version = change.structure_version if change and change.structure_version_id else structure.live_version
    return Record(change, version, editing, staff_correction)


# --- the record (C1-C9) --------------------------------------------------------------------


@login_required
def detail(request, reference):
    structure = _get_structure(request, reference)
    rec = _record(request, structure)
    if request.method == "POST":
        return _post_record(request, structure, rec)
    return _render(request, structure, rec)


def _post_record(request, structure, rec):
    """Every button of the record posts the whole form; the plain fields are saved first,
    then the button's action runs (ARCHITECTURE, « Editing pages are one HTML form »)."""
    action = request.POST.get("action", "save")
    if action == "request_change":
        if rec.change is None:
            try:
                services.start_structure_change(structure, request.user)
            except services.WorkflowError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    "Demande de modification ouverte : modifiez votre fiche puis cliquez sur « Soumettre pour "
                    "validation ». La fiche publiée reste en ligne, inchangée, jusqu'à la validation.",
                )
        return redirect(_detail_url(structure))
    if not rec.editing:
        # The user reaches the structure (_get_structure); the request was sent, decided or
        # deleted before this post arrived (R2).
        messages.error(
            request,
            "Vos saisies ne sont pas enregistrées : cette demande n'est plus modifiable, "
            + (
                f"elle est « {rec.change.get_status_display()} »." if rec.change else "elle a été traitée ou supprimée."
            ),
        )
        return redirect(_detail_url(structure))
    if action == "cancel":
        if rec.staff_correction:
            raise PermissionDenied
        try:
            services.cancel(rec.change, request.user)
        except services.WorkflowError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Votre demande est supprimée : la fiche publiée reste inchangée.")
        return redirect(_detail_url(structure))
    if action not in ("save", "submit", "locate_address") or (rec.staff_correction and action == "submit"):
        action = "save"
    form = CoordonneesForm(request.POST, instance=rec.version)
    if not form.is_valid():
        messages.error(
            request,
            "La fiche n'est pas enregistrée : corrigez les champs signalés. Ce que vous avez saisi est conservé.",
        )
        tab = "complement" if set(form.errors) <= COMPLEMENT_FIELDS else "coordonnees"
        return _render(
            request, structure, rec, form=form, active_tab=tab, draft_revision=revisions.posted_token(request.POST)
        )
    if action == "locate_address":
        _locate(request, form.instance)  # network call: outside the transaction
    token = revisions.posted_token(request.POST)
    try:
        # Under the lock of the change request and from the page's revision (R1, R2).
        with services.editing(rec.change, request.user, revisions.STRUCTURE_SCOPE, token) as saved:
            form.save()
            services.save_draft(rec.change, request.user, "Coordonnées et complément de la fiche organisme")
    except services.StaleDraft as stale:
        messages.error(request, str(stale))
        tab = "complement" if action != "locate_address" and _complement_only(stale.conflict) else "coordonnees"
        return _render(request, structure, rec, form=form, active_tab=tab, conflict=stale.conflict)
    except services.WorkflowError as error:
        # Decided or deleted meanwhile: nothing is saved, what was typed stays on the page.
        messages.error(request, f"{error} {NOT_SAVED}")
        return _render(request, structure, rec, form=form, active_tab="coordonnees")
    if action == "locate_address":
        return redirect(_detail_url(structure, "coordonnees"))
    if action == "submit":
        try:
            services.submit(rec.change, request.user)
        except services.SubmissionBlocked as blocked:
            messages.error(request, str(blocked))
            rec = _record(request, structure)
            tab = blocked.problems[0].section or "coordonnees"
            return _render(request, structure, rec, problems=blocked.problems, active_tab=tab, draft_revision=saved)
        except services.WorkflowError as error:
            messages.error(request, str(error))
            return redirect(_detail_url(structure))
        messages.success(
            request,
            "Votre demande de modification est envoyée à l'équipe OFeli, qui la validera dans les 48 heures ouvrées. "
            "La fiche publiée reste en ligne jusqu'à la validation.",
        )
        return redirect(_detail_url(structure))
    messages.success(request, services.CORRECTION_SAVED if rec.staff_correction else "Brouillon sauvegardé.")
    return redirect(_detail_url(structure))


def _locate(request, version):
    """« Localiser l'adresse » without JavaScript: the first BAN result geolocates the typed
    address (the typed address itself is kept)."""
    try:
        found = ban.locate(version.adresse, version.code_postal, version.ville)
    except ban.BanUnavailable as error:
        messages.warning(request, f"{error} L'adresse est enregistrée telle que saisie.")
        return
    if found is None or found.latitude is None:
        messages.warning(request, ban.NOT_FOUND_MESSAGE)
        return
    version.code_insee = found.code_insee
    version.latitude, version.longitude = found.latitude, found.longitude
    messages.success(
        request, f"Adresse localisée : {found.label} (latitude {found.latitude}, longitude {found.longitude})."
    )


def _contacts_page(request, structure):
    query = request.GET.get("contacts_q", "").strip()
    rows = Contact.objects.filter(structure=structure).order_by("nom", "prenom", "pk")
    if query:
        for word in query.split():
            rows = rows.filter(
                Q(nom__icontains=word)
                | Q(prenom__icontains=word)
                | Q(reference__iexact=word)
                | Q(fonction__icontains=word)
                | Q(email__icontains=word)
            )
    return query, Paginator(rows, CONTACTS_PER_PAGE).get_page(request.GET.get("contacts_page"))


def _formation_rows(request, structure):
    """C8: formations where the structure is responsible (any state), and formations whose
    published version has a session it trains in."""
    user = request.user
    accessible = (
        None if user.is_carif else set(Membership.objects.filter(user=user).values_list("structure_id", flat=True))
    )

    def may_open(formation):
        return accessible is None or formation.structure_id in accessible

    responsible = with_open_change(Formation.objects.filter(structure=structure).select_related("live_version"))
    responsible_count = responsible.count()
    responsible = list(responsible.order_by("-created_at")[:FORMATIONS_SHOWN])
    drafts = {
        c.formation_id: c.formation_version
        for c in ChangeRequest.objects.filter(
            pk__in=[f.open_change_id for f in responsible if f.open_change_id]
        ).select_related("formation_version")
    }
    trainer_ids = SessionTrainer.objects.filter(
        structure=structure, session_version__formation_version__live_of__isnull=False
    ).values("session_version__formation_version__formation_id")
    trainer = with_open_change(Formation.objects.filter(pk__in=trainer_ids)).select_related("live_version", "structure")
    trainer_count = trainer.count()
    trainer = list(trainer.order_by("-created_at")[:FORMATIONS_SHOWN])

    def rows(formations, versions):
        result = []
        for formation in formations:
            version = versions.get(formation.pk) or formation.live_version
            state = formation_state(formation, formation.open_status)
            result.append(
                {
                    "formation": formation,
                    "intitule": version.intitule if version else "",
                    "state": state,
                    "state_label": STATE_LABELS[state],
                    "link": may_open(formation),
                }
            )
        return result

    return {
        "responsible": rows(responsible, drafts),
        "responsible_count": responsible_count,
        "trainer": rows(trainer, {}),
        "trainer_count": trainer_count,
    }


def _complement_only(conflict):
    """Whether everything changed meanwhile is on the « Complément » tab."""
    return bool(conflict.changes) and all(c.label == COMPLEMENT_LABEL for c in conflict.changes)


def _render(
    request,
    structure,
    rec,
    *,
    form=None,
    problems=(),
    doc_form=None,
    active_tab=None,
    conflict=None,
    draft_revision=None,
):
    if rec.editing and form is None:
        form = CoordonneesForm(instance=rec.version)
    if rec.editing:
        if conflict is not None:
            draft_revision = conflict.token  # the user merges and saves again
        elif draft_revision is None:
            draft_revision = revisions.current_token(rec.change, revisions.STRUCTURE_SCOPE)
    contacts_query, contacts_page = _contacts_page(request, structure)
    if active_tab is None:
        wanted = request.GET.get("onglet", "")
        if wanted in dict(TABS):
            active_tab = wanted
        elif contacts_query or "contacts_page" in request.GET:
            active_tab = "contacts"
        else:
            active_tab = "identite"
    has_principal = Contact.objects.filter(structure=structure, is_principal=True).exists()
    warnings = []
    if rec.editing and rec.version is not None and not problems:
        warnings = structure_warnings(rec.version, has_principal_contact=has_principal)
    history = structure.history.select_related("author")
    labels = list(rec.version.labels.all()) if rec.version is not None else []
    return render(
        request,
        "structures/detail.html",
        {
            "structure": structure,
            "change": rec.change,
            "editing": rec.editing,
            "staff_correction": rec.staff_correction,
            "draft_revision": draft_revision,
            "conflict": conflict,
            "version": rec.version,
            "form": form,
            "problems": problems,
            "warnings": warnings,
            "tabs": TABS,
            "identity": _identity(structure),
            "active_tab": active_tab,
            "contacts_query": contacts_query,
            "contacts_page": contacts_page,
            "has_principal": has_principal,
            "children": structure.children.select_related("type", "etat", "live_version"),
            "parents": [structure.parent] if structure.parent else [],
            "conventions": [label for label in labels if label.kind == "convention"],
            "qualites": [label for label in labels if label.kind == "qualite"],
            "formations": _formation_rows(request, structure),
            "documents": structure.documents.select_related("uploaded_by"),
            "doc_form": doc_form or DocumentForm(),
            "history": history[:HISTORY_SHOWN],
            "history_count": history.count(),
            "page_title": f"Fiche organisme {structure.reference} - {structure.nom}",
        },
    )


def _identity(structure):
    """C3: the fields that come from national registers, read-only for OF users."""
    return [
        ("siret", "SIRET", structure.siret),
        ("siren", "SIREN", structure.siren),
        ("uai", "UAI", structure.uai),
        ("nda", "N° de déclaration d'activité (NDA)", structure.nda),
        ("raison_sociale", "Raison sociale", structure.raison_sociale),
        ("nom", "Nom", structure.nom),
        ("type", "Type", str(structure.type) if structure.type else ""),
        ("etat", "État", str(structure.etat) if structure.etat else ""),
    ]


# --- C6 contacts (address book, edited directly, logged) -------------------------------------


@login_required
def contacts_table(request, reference):
    """htmx: the contacts table filtered by « Rechercher » (C6)."""
    structure = _get_structure(request, reference)
    contacts_query, contacts_page = _contacts_page(request, structure)
    return render(
        request,
        "structures/_contacts_table.html",
        {"structure": structure, "contacts_query": contacts_query, "contacts_page": contacts_page},
    )


def _contact_page(request, structure, form, contact=None):
    return render(
        request,
        "structures/contact_form.html",
        {
            "structure": structure,
            "form": form,
            "contact": contact,
            "page_title": f"Contact {contact.reference}" if contact else "Ajouter un contact",
        },
    )


@login_required
def contact_create(request, reference):
    structure = _get_structure(request, reference)
    form = StructureContactForm(request.POST or None, user=request.user, structure=structure)
    if request.method == "POST":
        if form.is_valid():
            contact = form.save(user=request.user)
            messages.success(request, f"Contact {contact.reference} - {contact} créé.")
            return redirect(_contacts_url(structure))
        messages.error(
            request, "Le contact n'est pas créé : corrigez les champs signalés. Ce que vous avez saisi est conservé."
        )
    return _contact_page(request, structure, form)


@login_required
def contact_edit(request, reference, contact_reference):
    structure = _get_structure(request, reference)
    contact = get_object_or_404(Contact, structure=structure, reference=contact_reference)
    form = StructureContactForm(request.POST or None, instance=contact, user=request.user, structure=structure)
    if request.method == "POST":
        if form.is_valid():
            contact = form.save(user=request.user)
            messages.success(request, f"Contact {contact.reference} - {contact} enregistré.")
            return redirect(_contacts_url(structure))
        messages.error(
            request,
            "Le contact n'est pas enregistré : corrigez les champs signalés. Ce que vous avez saisi est conservé.",
        )
    return _contact_page(request, structure, form, contact)


def _contacts_url(structure):
    return reverse("structures:detail", args=[structure.reference]) + "?onglet=contacts#contacts"


def _protected_sessions(error):
    """Numéros CARIF of the sessions that use a contact (SessionContact / contact d'inscription)."""
    references = set()
    for obj in error.protected_objects:
        session_version = getattr(obj, "session_version", None) or obj
        session = getattr(session_version, "session", None)
        if session is not None:
            references.add(session.reference)
    return sorted(references)


@login_required
def contact_delete(request, reference, contact_reference):
    structure = _get_structure(request, reference)
    contact = get_object_or_404(Contact, structure=structure, reference=contact_reference)
    others = Contact.objects.filter(structure=structure).exclude(pk=contact.pk).exists()
    blocked = ""
    if contact.is_principal and others:
        blocked = (
            "Ce contact est le contact principal de la structure : désignez d'abord un autre contact principal "
            "(la personne responsable de l'établissement), puis supprimez celui-ci."
        )
    if request.method == "POST" and not blocked:
        label = f"{contact.reference} - {contact}"
        try:
            with transaction.atomic():
                contact.delete()
                record(
                    HistoryAction.CONTACT_CHANGED,
                    request.user,
                    structure=structure,
                    details=f"Contact {label} supprimé",
                )
        except ProtectedError as error:
            sessions = _protected_sessions(error)
            blocked = (
                "Ce contact ne peut pas être supprimé : il est utilisé par "
                + (f"la session {sessions[0]}" if len(sessions) == 1 else f"les sessions {', '.join(sessions)}")
                + " (contact de session ou contact d'inscription, y compris dans des versions déjà publiées). "
                "Choisissez un autre contact dans ces sessions, ou modifiez ce contact plutôt que de le supprimer."
            )
        else:
            messages.success(request, f"Contact {label} supprimé.")
            return redirect(_contacts_url(structure))
    if request.method == "POST" and blocked:
        messages.error(request, blocked)
    return render(
        request,
        "structures/contact_delete.html",
        {
            "structure": structure,
            "contact": contact,
            "blocked": blocked,
            "page_title": f"Supprimer le contact {contact}",
        },
    )


# --- C9 documents (sent to the Carif, private files) -----------------------------------------


@login_required
@require_POST
def document_upload(request, reference):
    structure = _get_structure(request, reference)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        with transaction.atomic():
            document = form.save(commit=False)
            document.structure = structure
            document.uploaded_by = request.user
            document.save()
            record(
                HistoryAction.DOCUMENT_ADDED, request.user, structure=structure, details=f"Document « {document.nom} »"
            )
        messages.success(request, f"Document « {document.nom} » envoyé à l'équipe OFeli.")
        return redirect(reverse("structures:detail", args=[structure.reference]) + "?onglet=gestion#gestion")
    messages.error(request, "Le document n'est pas envoyé : corrigez les champs signalés.")
    return _render(request, structure, _record(request, structure), doc_form=form, active_tab="gestion")


@login_required
def document_download(request, reference, pk):
    """Documents are private: served here, to the structure's users and Carif staff only."""
    structure = _get_structure(request, reference)
    document = get_object_or_404(Document, pk=pk, structure=structure)
    return private_file_response(open_private(document.fichier), document.fichier.name.rsplit("/", 1)[-1])


# --- C4 / F6 address search (htmx partial) ------------------------------------------------------


@login_required
def address_suggestions(request):
    """« Rechercher une adresse » type-ahead, « Localiser l'adresse » (mode=locate) and « Me
    géolocaliser » (mode=reverse&lat=&lon=, the BAN reverse endpoint proxied here so that the
    browser only talks to OFeli): a partial of BAN suggestions, each carrying the address
    fields and the geolocation.
    When the BAN fails, the partial says so (status 200, so that htmx shows it) and the
    user types the address by hand. See docs/structures.md."""
    if request.GET.get("mode") == "reverse":
        return _address_of_position(request)
    query = " ".join(request.GET.get("q", "").split())
    mode = "locate" if request.GET.get("mode") == "locate" else "search"
    try:
        limit = 1 if mode == "locate" else max(1, min(int(request.GET.get("limit", 5)), 10))
    except ValueError:
        limit = 5
    results, error = [], ""
    if len(query) >= ban.MIN_QUERY_LENGTH:
        try:
            results = ban.search(query, limit=limit)
        except ban.BanUnavailable as exc:
            error = str(exc)
    return render(
        request,
        "core/address_suggestions.html",
        {
            "query": query,
            "mode": mode,
            "results": results,
            "error": error,
            "searched": len(query) >= ban.MIN_QUERY_LENGTH,
        },
    )


def _address_of_position(request):
    """« Me géolocaliser » (C4, F6): the BAN address nearest to the browser's position."""
    found, error, bad = None, "", False
    try:
        found = ban.reverse(request.GET.get("lat", ""), request.GET.get("lon", ""))
    except ValueError:
        bad = True
    except ban.BanUnavailable as exc:
        error = str(exc)
    return render(
        request,
        "core/address_suggestions.html",
        {"mode": "reverse", "found": found, "error": error, "bad_position": bad, "searched": True},
    )
