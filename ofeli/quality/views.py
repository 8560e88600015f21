"""Offer quality screens: the OF's « Certifications à vérifier » (Q1) and the Carif's quality
dashboard (Q4)."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ofeli.backoffice.services import log
from ofeli.core.decorators import carif_required
from ofeli.exports.excel import safe_text
from ofeli.formations.access import get_formation, get_session_version
from ofeli.formations.models import Formation
from ofeli.messaging import notifications
from ofeli.messaging.models import Message
from ofeli.referentials.models import Certification
from ofeli.users.perms import can_edit_formation

from . import readiness
from .checks import BY_SLUG, CHECKS, counters
from .enums import FlagReason
from .watch import ReplacementError, label_of, open_flags, replace_certification, successor_of

PER_PAGE = 50
MESSAGE_ROWS = 200  # rows listed in one structure's message


@login_required
def certifications_to_check(request):
    """« Certifications à vérifier » of the current structure (staff: of every structure)."""
    structure = None if request.user.is_carif else request.current_structure
    if structure is None and not request.user.is_carif:
        return redirect("choose_structure")
    flags = (
        open_flags(structure)
        .select_related("session", "formation__structure", "formation__live_version", "certification")
        .prefetch_related(Prefetch("certification__replaced_by", queryset=Certification.objects.all()))
        .order_by("formation__reference", "session__reference")
    )
    page = Paginator(flags, PER_PAGE).get_page(request.GET.get("page"))
    for flag in page.object_list:
        flag.successor = successor_of(flag.certification)
        flag.successor_label = label_of(flag.successor) if flag.successor else ""
        flag.certification_label = label_of(flag.certification)
    return render(
        request,
        "quality/certifications.html",
        {"page_obj": page, "flags": page.object_list, "page_title": "Certifications à vérifier", "reasons": FlagReason},
    )


@login_required
@require_POST
def replace(request, reference):
    formation = get_object_or_404(Formation, reference=reference[:10])
    if not can_edit_formation(request.user, formation):
        raise PermissionDenied
    try:
        change = replace_certification(formation, request.user)
    except ReplacementError as error:
        messages.error(request, str(error))
        return redirect("quality:certifications")
    messages.success(
        request,
        f"Certification remplacée par {label_of(change.formation_version.certification)} dans une demande de "
        "modification : vérifiez les blocs de compétences des sessions, puis « Soumettre pour validation ».",
    )
    return redirect("formations:detail", formation.reference)


@login_required
@require_http_methods(["GET", "POST"])
def readiness_panel(request, reference, session_reference=None):
    """Q3: the readiness panel of a formation or a session page, for htmx. GET: from the
    version shown; POST (the page's form as typed): from what is typed, never saved. Only a
    user with rights on the structure, or Carif staff (``get_formation``: 403, or 404)."""
    ctx = get_formation(request, reference[:10])
    if ctx.version is None:
        raise PermissionDenied
    sv = get_session_version(ctx, session_reference[:10]) if session_reference is not None else None
    data = request.POST if request.method == "POST" else None
    context = readiness.panel(request, ctx, sv, data)
    response = render(request, "quality/_readiness.html", {"panel": context})
    response["Cache-Control"] = "private, no-store"
    return response


@carif_required
def dashboard(request):
    counts = counters()
    cards = [(check, counts[check.slug]) for check in CHECKS]
    return render(request, "quality/dashboard.html", {"cards": cards, "page_title": "Qualité de l'offre"})


def _filters(request):
    q = request.GET.get("q", "").strip()[:100]
    departement = request.GET.get("departement", "").strip()[:3]
    if departement and not (departement.isdigit() or departement.upper() in ("2A", "2B")):
        departement = ""
    return q, departement


def _cell(value):
    if hasattr(value, "tzinfo") and value is not None and hasattr(value, "hour"):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def _display(check, row):
    values = []
    for _, path in check.columns:
        value = row[path]
        if path == "reason":
            value = FlagReason(value).label
        values.append(value)
    return values


def _excel(check, rows):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(check.title[:31])
    sheet.append([header for header, _ in check.columns])
    for row in rows.iterator(chunk_size=2000):
        cells = []
        for value in _display(check, row):
            value = _cell(value)
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=safe_text(value))
                cell.data_type = "s"  # user data is text, never a formula (D5)
                value = cell
            cells.append(value)
        sheet.append(cells)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(handle)
    handle.seek(0)
    response = FileResponse(
        handle, as_attachment=True, filename=f"qualite-{check.slug}-{timezone.localdate():%Y%m%d}.xlsx"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@carif_required
def check_list(request, slug):
    check = BY_SLUG.get(slug)
    if check is None:
        raise Http404
    q, departement = _filters(request)
    rows = check.rows(q, departement)
    if request.method == "POST":
        return _message_structures(request, check, rows)
    if request.GET.get("format") == "xlsx":
        return _excel(check, rows)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    table = [_display(check, row) for row in page.object_list]
    return render(
        request,
        "quality/check_list.html",
        {
            "check": check,
            "headers": [header for header, _ in check.columns],
            "table": table,
            "page_obj": page,
            "q": q,
            "departement": departement,
            "query": request.GET.urlencode(),
            "default_subject": f"Qualité de l'offre : {check.title.lower()}",
            "page_title": check.title,
        },
    )


def _message_structures(request, check, rows):
    """One message to each structure concerned, listing its own rows (I1)."""
    subject = request.POST.get("subject", "").strip()[:200]
    intro = request.POST.get("body", "").strip()[:5000]
    if not subject or not intro:
        messages.error(request, "Indiquez l'objet et le texte du message.")
        return redirect(request.get_full_path())
    by_structure = {}
    for row in rows.iterator(chunk_size=2000):
        lines = by_structure.setdefault(row[check.structure_path], [])
        if len(lines) < MESSAGE_ROWS:
            lines.append(" — ".join(str(_cell(v)) for v in _display(check, row) if v not in (None, "")))
    if not by_structure:
        messages.error(request, "Aucune structure n'est concernée : aucun message n'a été envoyé.")
        return redirect(request.get_full_path())
    with transaction.atomic():
        sent = Message.objects.bulk_create(
            [
                Message(
                    structure_id=structure_id,
                    author=request.user,
                    from_carif=True,
                    subject=subject,
                    body=intro + "\n\n" + "\n".join(f"- {line}" for line in lines),
                )
                for structure_id, lines in by_structure.items()
            ],
            batch_size=500,
        )
        notifications.carif_messages(sent)
        log(request.user, f"Message « {subject} » envoyé à {len(sent)} structure(s) (qualité : {check.title})")
    messages.success(request, f"Message envoyé à {len(sent)} structure{'s' if len(sent) > 1 else ''}.")
    return redirect(reverse("quality:check", args=[check.slug]))
