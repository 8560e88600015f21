"""Back office: the partners' use of the API and their access (J3), for the superviseur."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from ofeli.core.decorators import superviseur_required
from ofeli.exports.models import Partner

from .models import ApiAccess, ApiResource, ApiUsage

DAYS = 7


class AccessForm(forms.Form):
    resources = forms.MultipleChoiceField(
        label="Ressources autorisées",
        choices=ApiResource.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    rate_limit = forms.IntegerField(
        label="Appels par minute",
        required=False,
        min_value=1,
        max_value=100_000,
        help_text="Vide : la valeur par défaut.",
    )


@superviseur_required
def usage(request):
    today = timezone.localdate()
    since = today - timedelta(days=DAYS - 1)
    partners = list(Partner.objects.order_by("name"))
    accesses = {a.partner_id: a for a in ApiAccess.objects.filter(partner__in=partners)}
    totals = {
        row["partner"]: row
        for row in ApiUsage.objects.filter(day__gte=since)
        .values("partner")
        .annotate(calls=Sum("calls"), refused=Sum("refused"))
    }
    today_calls = dict(ApiUsage.objects.filter(day=today).values_list("partner", "calls"))
    if request.method == "POST":
        pk = request.POST.get("partner", "")
        partner = get_object_or_404(Partner, pk=int(pk) if pk.isdigit() and len(pk) < 12 else 0)
        form = AccessForm(request.POST, prefix=f"p{partner.pk}")
        if form.is_valid():
            ApiAccess.objects.update_or_create(
                partner=partner,
                defaults={"resources": form.cleaned_data["resources"], "rate_limit": form.cleaned_data["rate_limit"]},
            )
            messages.success(request, f"Accès API de « {partner.name} » enregistré.")
            return redirect("api_usage")
        messages.error(request, "Vérifiez le nombre d'appels par minute.")
    rows = []
    for partner in partners:
        access = accesses.get(partner.pk)
        rows.append(
            {
                "partner": partner,
                "today": today_calls.get(partner.pk, 0),
                "week": (totals.get(partner.pk) or {}).get("calls") or 0,
                "refused": (totals.get(partner.pk) or {}).get("refused") or 0,
                "form": AccessForm(
                    initial={
                        "resources": access.resources if access else [r.value for r in ApiResource],
                        "rate_limit": access.rate_limit if access else None,
                    },
                    prefix=f"p{partner.pk}",
                ),
            }
        )
    return render(request, "api/usage.html", {"rows": rows, "days": DAYS, "page_title": "API partenaires"})
