"""Referentials kept by the superviseur: financeurs, dispositifs / mesures, structure types
and states, labels (list, create, edit; every change logged), and the certifications
imported from France Compétences (read-only here, see ``manage.py import_certifications``)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from ofeli.core.decorators import superviseur_required
from ofeli.core.text import normalize_search
from ofeli.referentials.enums import CertificationState
from ofeli.referentials.models import Certification
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.models import HistoryEntry

from .. import services
from ..forms import REFERENTIALS, referential_form


def _config(kind):
    config = REFERENTIALS.get(kind)
    if config is None:
        raise Http404
    return config


def _model(config):
    return config["form"]._meta.model


@superviseur_required
def index(request):
    tables = [
        {"kind": kind, "title": config["title"], "count": _model(config).objects.count()}
        for kind, config in REFERENTIALS.items()
    ]
    return render(
        request,
        "backoffice/referentials.html",
        {
            "tables": tables,
            "certifications": Certification.objects.count(),
            "page_title": "Référentiels",
        },
    )


def _cell(obj, name):
    field = obj._meta.get_field(name)
    if field.choices:
        return getattr(obj, f"get_{name}_display")()
    value = getattr(obj, name)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    return "" if value is None else str(value)


@superviseur_required
def referential_list(request, kind):
    config = _config(kind)
    model = _model(config)
    rows = model.objects.all()
    if "financeur" in config["columns"]:
        rows = rows.select_related("financeur")
    query = request.GET.get("q", "").strip()
    if query:
        rows = rows.filter(Q(code__icontains=query) | Q(libelle__icontains=query))
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    form_class = config["form"]
    headers = [form_class.base_fields[name].label or name for name in config["columns"]]
    table = [(obj, [_cell(obj, name) for name in config["columns"]]) for obj in page]
    return render(
        request,
        "backoffice/referential_list.html",
        {
            "kind": kind,
            "config": config,
            "headers": headers,
            "table": table,
            "page_obj": page,
            "q": query,
            "page_title": config["title"],
        },
    )


@superviseur_required
def referential_edit(request, kind, pk=None):
    config = _config(kind)
    instance = get_object_or_404(_model(config), pk=pk) if pk else None
    form = referential_form(kind, request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = services.save_referential(form, request.user, config["title"])
        messages.success(request, f"« {saved} » est enregistré.")
        return redirect("backoffice:referential_list", kind)
    title = f"Modifier {instance}" if instance else f"Ajouter un {config['singular']}"
    return render(
        request,
        "backoffice/referential_edit.html",
        {"kind": kind, "config": config, "form": form, "instance": instance, "page_title": title},
    )


@superviseur_required
def certification_list(request):
    query = request.GET.get("q", "").strip()
    state = request.GET.get("etat", "")
    rows = Certification.objects.select_related("replaced_by").order_by("intitule", "code_certifinfo")
    if state in CertificationState.values:
        rows = rows.filter(etat=state)
    if query:
        digits = query.upper().removeprefix("RNCP").removeprefix("RS").strip()
        if digits.isdigit():
            rows = rows.filter(Q(code_rncp=digits) | Q(code_rs=digits) | Q(code_certifinfo=digits))
        else:
            for word in normalize_search(query).split():
                rows = rows.filter(search_text__contains=word)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    last_import = (
        HistoryEntry.objects.filter(action=HistoryAction.IMPORTED, details__startswith="Certifications")
        .order_by("-created_at")
        .first()
    )
    return render(
        request,
        "backoffice/certification_list.html",
        {
            "page_obj": page,
            "q": query,
            "etat": state,
            "states": CertificationState.choices,
            "last_import": last_import,
            "page_title": "Certifications",
        },
    )
