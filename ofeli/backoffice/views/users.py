"""Users and roles, kept by the superviseur: the Carif team (gestionnaire, superviseur) and
the OF accounts with their rights on structures."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render

from ofeli.core.decorators import superviseur_required
from ofeli.users.models import User
from ofeli.workflow.models import HistoryEntry

from .. import services
from ..forms import UserCreateForm, UserEditForm, UserFilterForm


@superviseur_required
def user_list(request):
    form = UserFilterForm(request.GET or None)
    rows = User.objects.annotate(structures=Count("memberships")).order_by("last_name", "first_name", "email")
    if form.is_bound and form.is_valid():
        query, role = form.cleaned_data["q"].strip(), form.cleaned_data["role"]
        if query:
            rows = rows.filter(
                Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
            )
        if role:
            rows = rows.filter(role=role)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "backoffice/user_list.html", {"form": form, "page_obj": page, "page_title": "Utilisateurs"})


@superviseur_required
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.create_user(request.user, **form.cleaned_data)
        messages.success(request, f"Compte créé : la clé d'activation est envoyée à {user.email}.")
        return redirect("backoffice:user_edit", user.pk)
    return render(request, "backoffice/user_create.html", {"form": form, "page_title": "Créer un compte"})


@superviseur_required
def user_edit(request, pk):
    account = get_object_or_404(User, pk=pk)
    form = UserEditForm(request.POST or None, instance=account, editor=request.user)
    if request.method == "POST" and form.is_valid():
        changes = services.update_user(
            request.user,
            account,
            form,
            add_structures=form.cleaned_data["add_structures"],
            remove_structures=form.cleaned_data["remove_memberships"],
        )
        messages.success(request, "Compte enregistré." if changes else "Aucune modification.")
        return redirect("backoffice:user_edit", account.pk)
    if request.method == "POST":
        account.refresh_from_db()
    memberships = account.memberships.select_related("structure").order_by("structure__nom")
    journal = HistoryEntry.objects.filter(details__contains=account.email).select_related("author")[:20]
    return render(
        request,
        "backoffice/user_edit.html",
        {
            "account": account,
            "form": form,
            "memberships": memberships,
            "journal": journal,
            "page_title": f"Compte de {account}",
        },
    )
