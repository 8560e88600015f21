"""The session page's buttons (SPEC F3-F13): each one is an action posted with the whole
form. ``SessionEditor`` builds the querysets the user may choose from (never another
structure's contacts or places, whatever is posted), the row forms, and runs actions."""

import math

from django.contrib import messages
from django.db.models import Q

from ofeli.core import ban
from ofeli.core.models import next_reference
from ofeli.core.text import normalize_search
from ofeli.referentials.models import Certification
from ofeli.structures.forms import ContactForm, LieuForm
from ofeli.structures.models import Contact, Lieu, Structure
from ofeli.structures.places import at_address_of, trainer_lieu
from ofeli.users.perms import accessible_structures
from ofeli.workflow.enums import HistoryAction
from ofeli.workflow.history import record

from .forms import (
    SESSION_FORM,
    BlocsForm,
    CycleForm,
    EquipementForm,
    FinancementForm,
    RecruitmentSlotForm,
    SessionContactForm,
)
from .models import (
    Cycle,
    Equipement,
    Financement,
    SessionBlocs,
    SessionContact,
    SessionPlace,
    SessionTrainer,
)

QUESTION_KEY = "principal_trainer_question"
# Where the page scrolls back to after each action.
ANCHORS = {
    "trainer": "#organisation",
    "principal": "#organisation",
    "place": "#places",
    "contact": "#contacts",
    "financement": "#financements",
    "mesures": "#financements",
    "cycle": "#cycles",
    "blocs": "#blocs",
    "equipement": "#modalites",
    "slot": "#inscription",
}


def anchor_for(action):
    for key, anchor in ANCHORS.items():
        if key in action:
            return anchor
    return ""


def near_duplicates(structure, data):
    """F6: places of the structure that look like the one being created."""
    wanted_address = normalize_search(data.get("adresse", ""))
    wanted_name = normalize_search(data.get("nom", ""))
    found = []
    for lieu in structure.lieux.all():
        same_address = (
            wanted_address
            and normalize_search(lieu.adresse) == wanted_address
            and (lieu.code_postal == data.get("code_postal"))
        )
        same_name = (
            wanted_name
            and normalize_search(lieu.nom) == wanted_name
            and normalize_search(lieu.ville) == normalize_search(data.get("ville", ""))
        )
        close = False
        if lieu.latitude is not None and data.get("latitude") is not None and data.get("longitude") is not None:
            close = _distance_m(lieu.latitude, lieu.longitude, data["latitude"], data["longitude"]) < 100
        if same_address or same_name or close:
            found.append(lieu)
    return found


def _distance_m(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (lat1, lon1, lat2, lon2))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


class SessionEditor:
    def __init__(self, request, ctx, sv):
        self.request = request
        self.user = request.user
        self.ctx = ctx
        self.sv = sv
        self.formation = ctx.formation
        self.structure = ctx.formation.structure
        self.data = request.POST if request.method == "POST" else None
        self.action = (self.data or {}).get("action", "")
        self.duplicates = []
        self.asked = False  # the principal trainer changed: « mettre à jour ... ? » is asked
        trainer_ids = list(sv.trainers.values_list("structure_id", flat=True))
        self.owner_ids = {self.structure.pk, *trainer_ids}

    # --- what the user may choose from -------------------------------------------------

    def editable_owner_ids(self):
        """The session's structures (responsable and formateurs) whose address book the user
        holds rights on: the responsable always (the user edits its formation)."""
        if not hasattr(self, "_editable_owner_ids"):
            if self.user.is_carif:
                self._editable_owner_ids = set(self.owner_ids)
            else:
                mine = set(accessible_structures(self.user).filter(pk__in=self.owner_ids).values_list("pk", flat=True))
                self._editable_owner_ids = mine | {self.structure.pk}
        return self._editable_owner_ids

    def place_choices(self):
        """F6: the places of the user's own structures in this session, the places already
        chosen, and, of another structure that is organisme formateur, only its places at its
        published address (what « default the trainer's address » needs, no more: K1)."""
        editable = self.editable_owner_ids()
        foreign = self.owner_ids - editable
        return Lieu.objects.filter(
            Q(structure_id__in=editable)
            | at_address_of(foreign)
            | Q(pk__in=self.sv.places.values("lieu_id"))
            | Q(pk__in=self.sv.recruitment_slots.exclude(lieu=None).values("lieu_id"))
        ).select_related("structure")

    def home_for(self, structure):
        """Where a place at ``structure``'s address is created when it has none: in that
        structure if the user holds rights on it, else in the session's own structure."""
        return structure if structure.pk in self.editable_owner_ids() else self.structure

    def contact_structure_ids(self):
        """F7: contacts of the user's structures (siège and antennes); staff see those of the
        responsible and trainer structures."""
        if self.user.is_carif:
            return self.owner_ids
        return self.user.memberships.values("structure_id")

    def contact_choices(self):
        return Contact.objects.filter(
            Q(structure_id__in=self.contact_structure_ids()) | Q(pk__in=self.sv.contacts.values("contact_id"))
        ).select_related("structure")

    def certification_choices(self):
        version = self.ctx.version
        ids = {version.certification_id} if version.certification_id else set()
        ids |= set(self.sv.blocs.values_list("certification_id", flat=True))
        return Certification.objects.filter(pk__in=ids, blocs__isnull=False).distinct()

    def recruitment_structures(self):
        return Structure.objects.filter(pk__in=self.owner_ids)

    # --- row forms ----------------------------------------------------------------------

    def _bound(self, prefix_action):
        return self.data if self.action == prefix_action else None

    def build_forms(self):
        new_formation = self.formation.live_version_id is None
        self.fin_form = FinancementForm(
            self.data if self.action in ("add_financement", "refresh_mesures") else None,
            user=self.user,
            new_formation=new_formation,
        )
        if self.action == "locate_place":
            # « Localiser l'adresse » without JavaScript: geolocate the typed address (F6).
            located, level, message = ban.locate_into(self.data, prefix="lieu-")
            getattr(messages, level)(self.request, message)
            self.lieu_form = LieuForm(located, form_id=SESSION_FORM)
        else:
            self.lieu_form = LieuForm(self._bound("create_place"), form_id=SESSION_FORM)
        self.new_contact_form = ContactForm(
            self._bound("create_contact"), user=self.user, structure=self.structure, form_id=SESSION_FORM
        )
        self.contact_form = SessionContactForm(self._bound("add_contact"), contacts=self.contact_choices())
        self.cycle_form = CycleForm(
            self._bound("add_cycle"),
            duree_cycle=self.ctx.version.duree_cycle,
            taken=self.sv.cycles.values_list("annee", flat=True),
        )
        self.blocs_form = BlocsForm(self._bound("add_blocs"), certifications=self.certification_choices())
        self.equipement_form = EquipementForm(self._bound("add_equipement"))
        self.slot_form = RecruitmentSlotForm(
            self._bound("add_slot"),
            sv=self.sv,
            places=self.place_choices(),
            structures=self.recruitment_structures(),
            initial={"structure": self.principal_trainer_id() or self.structure.pk},
        )

    # The panels of the page (their <details> id and title) and the form each one posts.
    PANELS = {
        "add_financement": ("fin_form", "add-financement", "Ajouter un financement"),
        "create_place": ("lieu_form", "create-place", "Créer un nouveau lieu de formation"),
        "locate_place": ("lieu_form", "create-place", "Créer un nouveau lieu de formation"),
        "add_contact": ("contact_form", "add-contact", "Ajouter un contact"),
        "create_contact": ("new_contact_form", "create-contact", "Créer un nouveau contact"),
        "add_cycle": ("cycle_form", "add-cycle", "Ajouter un cycle"),
        "add_blocs": ("blocs_form", "add-blocs", "Ajouter des blocs de compétences"),
        "add_equipement": ("equipement_form", "add-equipement", "Ajouter un équipement"),
        "add_slot": ("slot_form", "add-slot", "Ajouter une modalité de recrutement"),
    }

    def open_panel(self):
        """The id of the panel of the refused action, re-opened on the page (or "")."""
        panel = self.PANELS.get(self.action)
        return panel[1] if panel else ""

    def error_items(self, form):
        """Every error of the page (the session's fields, then the refused panel's), each with
        the id of its field, for the error summary at the top of the page (one link each)."""
        items = []
        forms = [(form, "", "")]
        panel = self.PANELS.get(self.action)
        if panel and getattr(self, panel[0], None) is not None:
            forms.append((getattr(self, panel[0]), panel[1], panel[2]))
        for bound, panel_id, panel_title in forms:
            if not bound.is_bound:
                continue
            for name, errors in bound.errors.items():
                if name == "__all__" or name not in bound.fields:
                    anchor, label = panel_id or "session-form", panel_title or "Session"
                else:
                    field = bound[name]
                    anchor = field.id_for_label or field.auto_id or panel_id
                    label = f"{panel_title} — {field.label}" if panel_title else str(field.label)
                items.extend({"anchor": anchor, "label": label, "message": str(e)} for e in errors)
        return items

    def principal_trainer_id(self):
        return self.sv.trainers.filter(is_principal=True).values_list("structure_id", flat=True).first()

    # --- actions ------------------------------------------------------------------------

    def run(self):
        """Runs the posted action; returns the anchor to redirect to ("" for the top of the
        page), or None to re-render the page (with the forms' errors)."""
        kind, _, arg = self.action.partition(":")
        handler = getattr(self, f"do_{kind}", None)
        if handler is None:
            return ""
        done = handler(arg) if arg else handler()
        if done and self.asked:
            return "#principal-question"  # the question is drawn where the page opens (F3)
        return anchor_for(kind) if done else None

    def do_stay(self):
        return True

    def do_search_trainer(self):
        return False

    def do_search_contact(self):
        return False  # « Rechercher » a contact without JavaScript: the page comes back with the results

    def do_refresh_mesures(self):
        return False

    # F3 organismes formateurs
    def do_add_trainer(self):
        target = Structure.objects.filter(pk=self.data.get("trainer")).first()
        if target is None:
            messages.error(self.request, "Sélectionnez l'organisme formateur à ajouter.")
            return False
        principal = not self.sv.trainers.filter(is_principal=True).exists()
        SessionTrainer.objects.get_or_create(
            session_version=self.sv, structure=target, defaults={"is_principal": principal}
        )
        messages.success(self.request, f"Organisme formateur ajouté : {target.nom}.")
        if principal:
            self.ask_principal_question()
        return True

    def do_remove_trainer(self, pk):
        trainer = self.sv.trainers.filter(pk=pk).first()
        if trainer is None:
            return True
        was_principal = trainer.is_principal
        trainer.delete()
        if was_principal:
            successor = self.sv.trainers.order_by("pk").first()
            if successor:
                SessionTrainer.objects.filter(pk=successor.pk).update(is_principal=True)
                self.ask_principal_question()
        return True

    def do_principal_trainer(self, pk):
        trainer = self.sv.trainers.filter(pk=pk).first()
        if trainer and not trainer.is_principal:
            self.sv.trainers.update(is_principal=False)
            SessionTrainer.objects.filter(pk=trainer.pk).update(is_principal=True)
            self.ask_principal_question()
        return True

    def ask_principal_question(self):
        self.request.session[QUESTION_KEY] = self.sv.pk
        self.asked = True

    def do_principal_update_no(self):
        self.request.session.pop(QUESTION_KEY, None)
        return True

    def do_principal_update_yes(self):
        """F3 « Oui »: the principal place and the registration place follow the new
        principal trainer's address."""
        self.request.session.pop(QUESTION_KEY, None)
        trainer = self.sv.trainers.filter(is_principal=True).select_related("structure__live_version").first()
        if trainer is None:
            return True
        lieu = trainer_lieu(trainer.structure, self.user, home=self.home_for(trainer.structure))
        if lieu is None:
            messages.warning(
                self.request,
                f"L'adresse de {trainer.structure.nom} est incomplète : choisissez ou créez le lieu de formation.",
            )
            return True
        # The principal place is *updated*: the former one (the previous trainer's address)
        # leaves the session, so that switching back and forth never publishes it (F3).
        former = self.sv.places.filter(is_principal=True).exclude(lieu=lieu).select_related("lieu").first()
        if former is not None:
            former.delete()
        place, created = SessionPlace.objects.get_or_create(
            session_version=self.sv, lieu=lieu, defaults={"is_principal": True}
        )
        if not created:
            SessionPlace.objects.filter(pk=place.pk).update(is_principal=True)
        self.sv.lieu_inscription = lieu
        self.sv.save(update_fields=["lieu_inscription"])
        replaced = f" (remplace {former.lieu})" if former is not None else ""
        messages.success(self.request, f"Lieu de formation principal et lieu d'inscription : {lieu}{replaced}.")
        return True

    # F6 lieux
    def do_add_place(self):
        lieu = self.place_choices().filter(pk=self.data.get("place")).first()
        if lieu is None:
            messages.error(self.request, "Sélectionnez un lieu de formation parmi ceux proposés.")
            return False
        principal = not self.sv.places.filter(is_principal=True).exists()
        SessionPlace.objects.get_or_create(session_version=self.sv, lieu=lieu, defaults={"is_principal": principal})
        return True

    def do_create_place(self):
        if not self.lieu_form.is_valid():
            return False
        data = self.lieu_form.cleaned_data
        self.duplicates = near_duplicates(self.structure, data)
        if self.duplicates and not self.data.get("lieu-confirm_new"):
            messages.warning(
                self.request,
                "Un lieu semblable existe déjà : choisissez-le dans la liste, ou confirmez qu'il s'agit d'un autre lieu.",
            )
            return False
        fields = {k: v for k, v in data.items() if k != "confirm_new"}
        lieu = Lieu.objects.create(
            reference=next_reference("L"), structure=self.structure, created_by=self.user, **fields
        )
        principal = not self.sv.places.filter(is_principal=True).exists()
        SessionPlace.objects.create(session_version=self.sv, lieu=lieu, is_principal=principal)
        record(
            HistoryAction.PLACE_CHANGED,
            self.user,
            structure=self.structure,
            details=f"Lieu {lieu.reference} créé : {lieu}",
        )
        messages.success(self.request, f"Lieu « {lieu.nom} » créé et choisi pour la session.")
        return True

    def do_remove_place(self, pk):
        place = self.sv.places.filter(pk=pk).first()
        if place:
            was_principal = place.is_principal
            place.delete()
            successor = self.sv.places.order_by("pk").first()
            if was_principal and successor:
                SessionPlace.objects.filter(pk=successor.pk).update(is_principal=True)
        return True

    def do_principal_place(self, pk):
        if self.sv.places.filter(pk=pk).exists():
            self.sv.places.update(is_principal=False)
            SessionPlace.objects.filter(pk=pk).update(is_principal=True)
        return True

    # F7 contacts
    def do_add_contact(self):
        if not self.contact_form.is_valid():
            return False
        data = self.contact_form.cleaned_data
        if data["is_principal"]:
            self.sv.contacts.update(is_principal=False)
        principal = data["is_principal"] or not self.sv.contacts.filter(is_principal=True).exists()
        SessionContact.objects.create(
            session_version=self.sv, contact=data["contact"], type_contact=data["type_contact"], is_principal=principal
        )
        return True

    def do_create_contact(self):
        """F7 « Créer un nouveau contact », restricted to the user's structures, then chosen
        for the session (« Sauvegarder et Choisir »)."""
        if not self.new_contact_form.is_valid():
            return False
        contact = self.new_contact_form.save(user=self.user)
        principal = not self.sv.contacts.filter(is_principal=True).exists()
        SessionContact.objects.create(
            session_version=self.sv,
            contact=contact,
            type_contact=self.data.get("ct-type_contact") or (contact.types[0] if contact.types else ""),
            is_principal=principal,
        )
        messages.success(self.request, f"Contact {contact.reference} « {contact} » créé et choisi pour la session.")
        return True

    def do_locate_place(self):
        return False

    def do_remove_contact(self, pk):
        self.sv.contacts.filter(pk=pk).delete()
        return True

    def do_principal_contact(self, pk):
        if self.sv.contacts.filter(pk=pk).exists():
            self.sv.contacts.update(is_principal=False)
            SessionContact.objects.filter(pk=pk).update(is_principal=True)
        return True

    # F8 financements
    def do_add_financement(self):
        if not self.fin_form.is_valid():
            return False
        data = self.fin_form.cleaned_data
        Financement.objects.create(
            session_version=self.sv,
            financeur=data["financeur"],
            dispositif=data["dispositif"],
            etat=data.get("etat") or "DI",
            etat_recrutement=data.get("etat_recrutement") or "1",
            nb_places=data["nb_places"],
            numero_marche=data["numero_marche"],
        )
        return True

    def do_remove_financement(self, pk):
        financement = self.sv.financements.select_related("dispositif").filter(pk=pk).first()
        if financement and financement.dispositif.entered_by == "CARIF" and not self.user.is_carif:
            messages.error(self.request, "Ce financement est saisi par l'équipe OFeli : vous ne pouvez pas le retirer.")
            return False
        self.sv.financements.filter(pk=pk).delete()
        return True

    # F9 cycles
    def do_add_cycle(self):
        if not self.cycle_form.is_valid():
            return False
        Cycle.objects.create(session_version=self.sv, **self.cycle_form.cleaned_data)
        return True

    def do_remove_cycle(self, pk):
        self.sv.cycles.filter(pk=pk).delete()
        return True

    # F10 blocs
    def do_add_blocs(self):
        if not self.blocs_form.is_valid():
            return False
        data = self.blocs_form.cleaned_data
        row = SessionBlocs.objects.create(
            session_version=self.sv, certification=data["certification"], type_validation=data["type_validation"]
        )
        row.blocs.set(data["blocs"])
        return True

    def do_remove_blocs(self, pk):
        self.sv.blocs.filter(pk=pk).delete()
        return True

    # F12 équipements
    def do_add_equipement(self):
        if not self.equipement_form.is_valid():
            return False
        Equipement.objects.create(session_version=self.sv, **self.equipement_form.cleaned_data)
        return True

    def do_remove_equipement(self, pk):
        self.sv.equipements.filter(pk=pk).delete()
        return True

    # F13 modalités de recrutement
    def do_add_slot(self):
        if not self.slot_form.is_valid():
            return False
        slot = self.slot_form.save(commit=False)
        slot.session_version = self.sv
        if self.slot_form.cleaned_data.get("use_trainer_address") and not slot.lieu_id:
            slot.lieu = trainer_lieu(slot.structure, self.user, home=self.home_for(slot.structure))
        slot.save()
        return True

    def do_remove_slot(self, pk):
        self.sv.recruitment_slots.filter(pk=pk).delete()
        return True
