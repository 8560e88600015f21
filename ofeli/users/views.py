from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import default_token_generator
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from ofeli.backoffice import services as backoffice
from ofeli.core.decorators import carif_required
from ofeli.core.private_files import open_private, private_file_response
from ofeli.structures.models import Structure
from ofeli.workflow.working_hours import age_of

from . import kept_uploads, services, throttling
from .enums import AccountRequestStatus
from .forms import (
    AcceptAccountForm,
    AccountRequestForm,
    ChoosePasswordForm,
    LoginForm,
    RefuseAccountForm,
    ResetRequestForm,
)
from .models import AccountRequest, User


def account_request(request):
    """« Créer mon compte » (A2). The answer is the same whether an account already exists
    with the e-mail or not (K1, no enumeration): its owner is told by e-mail instead."""
    status = 200
    if request.method == "POST":
        # A proof file that passed its checks is kept across a refused post (issue 10).
        form = AccountRequestForm(request.POST, kept_uploads.merge(request, request.FILES))
        blocked = throttling.throttle(request, throttling.account_request_limits(), [throttling.client_ip(request)])
        if blocked:
            form.full_clean()
            form.add_error(None, blocked)
            status = 429
        elif form.is_valid():
            services.request_account(form)
            kept_uploads.forget(request)
            return redirect("users:account_request_done")
        else:
            kept_uploads.remember(request, form)
    else:
        form = AccountRequestForm()
    return render(
        request,
        "users/account_request.html",
        {
            "form": form,
            "page_title": "Créer mon compte",
            "kept_files": kept_uploads.names(request),
        },
        status=status,
    )


def account_request_done(request):
    return render(request, "users/account_request_done.html", {"page_title": "Demande de compte enregistrée"})


def _user_from_uid(uidb64):
    try:
        return User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None


def activate(request, uidb64, token):
    """Activation link → choose and confirm a password → « Sauvegarder » → login (A4)."""
    user = _user_from_uid(uidb64)
    if user is None or not default_token_generator.check_token(user, token):
        return render(
            request, "users/activation_invalid.html", {"page_title": "Lien d'activation invalide"}, status=400
        )
    if request.method == "POST":
        form = ChoosePasswordForm(user, request.POST)
        if form.is_valid():
            form.save()
            messages.success(request, "Votre mot de passe est enregistré. Connectez-vous avec votre adresse e-mail.")
            request.session[LOGIN_EMAIL_KEY] = user.email  # the login form opens with it (A4, issue 10)
            return redirect("users:login")
    else:
        form = ChoosePasswordForm(user)
    return render(request, "users/activate.html", {"form": form, "page_title": "Activer mon compte", "account": user})


LOGIN_EMAIL_KEY = "login_email"


class LoginView(auth_views.LoginView):
    """« Se connecter »; right after the activation the e-mail is already filled in and the
    password field has the focus (A4, issue 10). The e-mail comes from the session, not the
    address bar (it never appears in a URL or a log)."""

    template_name = "users/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True
    extra_context = {"page_title": "Connexion"}

    def get_initial(self):
        initial = super().get_initial()
        email = self.request.session.pop(LOGIN_EMAIL_KEY, "") if self.request.method == "GET" else ""
        if email:
            initial["username"] = email
        return initial

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if form.initial.get("username") and not form.is_bound:
            form.fields["username"].widget.attrs.pop("autofocus", None)
            form.fields["password"].widget.attrs["autofocus"] = True
        return form


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "users/password_reset.html"
    email_template_name = "users/mail_password_reset.txt"
    subject_template_name = "users/mail_password_reset_subject.txt"
    form_class = ResetRequestForm
    success_url = reverse_lazy("users:password_reset_done")
    extra_context = {"page_title": "Mot de passe oublié"}

    def post(self, request, *args, **kwargs):
        """Rate-limited per client address and per typed e-mail (K1); the answer never tells
        whether the address has an account."""
        form = self.get_form()
        email = request.POST.get("email", "").strip().lower()[:254]
        blocked = throttling.throttle(
            request, throttling.password_reset_limits(), [throttling.client_ip(request), email]
        )
        if blocked:
            form.full_clean()
            form.add_error(None, blocked)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        from django.conf import settings

        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "users/password_reset_done.html"
    extra_context = {"page_title": "Mot de passe oublié"}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "users/activate.html"
    form_class = ChoosePasswordForm
    success_url = reverse_lazy("users:login")
    extra_context = {"page_title": "Nouveau mot de passe"}

    def form_valid(self, form):
        messages.success(self.request, "Votre nouveau mot de passe est enregistré. Connectez-vous.")
        return super().form_valid(form)


# --- Carif: account requests (A3) -----------------------------------------------------


@carif_required
def account_request_list(request):
    """The queue of account requests (A3): oldest first, with their age in working hours and
    whether a structure with the same SIRET (or SIREN) already exists."""
    status = request.GET.get("etat", AccountRequestStatus.PENDING)
    if status not in AccountRequestStatus.values:
        status = AccountRequestStatus.PENDING
    rows = (
        AccountRequest.objects.filter(status=status)
        .select_related("processed_by", "structure")
        .annotate(
            known_siret=Exists(Structure.objects.filter(siret=OuterRef("siret"))),
        )
        .order_by("created_at" if status == AccountRequestStatus.PENDING else "-processed_at", "pk")
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    for row in page:
        row.age = age_of(row.created_at, now) if row.status == AccountRequestStatus.PENDING else None
    return render(
        request,
        "users/account_request_list.html",
        {
            "page_obj": page,
            "status": status,
            "statuses": AccountRequestStatus.choices,
            "page_title": "Demandes de compte",
        },
    )


@carif_required
def account_request_detail(request, pk):
    account = get_object_or_404(AccountRequest.objects.select_related("structure", "processed_by"), pk=pk)
    accept_form = AcceptAccountForm(account_request=account, prefix="accept")
    refuse_form = RefuseAccountForm(prefix="refuse")
    if request.method == "POST" and account.status == AccountRequestStatus.PENDING:
        try:
            if "accept" in request.POST:
                accept_form = AcceptAccountForm(request.POST, account_request=account, prefix="accept")
                if accept_form.is_valid():
                    services.accept_account_request(account, request.user, **accept_form.cleaned_data)
                    messages.success(
                        request, f"Demande acceptée : la clé d'activation a été envoyée à {account.email}."
                    )
                    return redirect("users:account_requests")
            elif "refuse" in request.POST:
                refuse_form = RefuseAccountForm(request.POST, prefix="refuse")
                if refuse_form.is_valid():
                    backoffice.refuse_account_request(account, request.user, refuse_form.cleaned_data["reason"])
                    messages.success(request, "Demande refusée : le motif a été envoyé au demandeur.")
                    return redirect("users:account_requests")
        except services.AccountRequestError as error:
            messages.error(request, str(error))
            return redirect("users:account_request_detail", pk=account.pk)
    same_siren = Structure.objects.filter(siren=account.siret[:9]).exclude(siret=account.siret).order_by("nom")[:20]
    return render(
        request,
        "users/account_request_detail.html",
        {
            "account": account,
            "accept_form": accept_form,
            "refuse_form": refuse_form,
            "same_siren": same_siren,
            "age": age_of(account.created_at) if account.status == AccountRequestStatus.PENDING else None,
            "page_title": f"Demande de compte de {account.first_name} {account.last_name}",
        },
    )


@carif_required
def account_request_file(request, pk, which):
    account = get_object_or_404(AccountRequest, pk=pk)
    field = {"nda": account.nda_file, "convention": account.convention_file}.get(which)
    if not field:
        raise Http404
    return private_file_response(open_private(field), field.name.rsplit("/", 1)[-1])
