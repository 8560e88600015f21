"""A crafted offer for the public search tests (H1): formations published directly (live
version set), with full control over each session's dates, place, modality and financing."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from ofeli.core.models import next_reference
from ofeli.formations import models as fm
from ofeli.public.indexing import rebuild
from ofeli.public.search import KM_PER_DEGREE
from ofeli.referentials import models as rm
from ofeli.structures.models import Lieu
from tests.factories import CertificationFactory, StructureFactory

# Châteauroux (36044) as in the bundled communes file.
CHATEAUROUX = (46.81248, 1.69362)
TODAY = timezone.localdate()

FINANCEURS = {
    "98010": ("Conseil régional", "2"),
    "98014": ("France Travail", "4"),
    "98018": ("OPCO", "16"),
    "98020": ("Privé (Entreprise / Particulier)", "5"),
    "98012": ("Ministère de l'Education nationale", "12"),
}
DISPOSITIFS = {
    "AFC01": "98014",
    "PRF01": "98010",
    "AOP02": "98018",
    "AOP03": "98018",
    "CPR02": "98020",
    "CPF01": "98020",
    "SCO01": "98012",
}
PUBLIC_FUNDS = {"AFC01", "PRF01", "SCO01"}  # as in ofeli/referentials/data/dispositifs.json
_counter = itertools.count(1)


def north_of(point, km):
    """A point ``km`` kilometres due north (same longitude: the haversine distance is exact)."""
    return (point[0] + km / KM_PER_DEGREE, point[1])


def dispositif(code):
    financeur_code = DISPOSITIFS[code]
    libelle, lheo_code = FINANCEURS[financeur_code]
    financeur, _ = rm.Financeur.objects.get_or_create(
        code=financeur_code, defaults={"libelle": libelle, "lheo_code": lheo_code}
    )
    obj, _ = rm.Dispositif.objects.get_or_create(
        code=code,
        defaults={
            "libelle": f"Dispositif {code}",
            "financeur": financeur,
            "entered_by": "OF",
            "is_public_funds": code in PUBLIC_FUNDS,
        },
    )
    return obj


class OfferBuilder:
    def __init__(self):
        self.structure = None

    def place(self, point, ville="Châteauroux", code_postal="36000", code_insee="36044", structure=None):
        return Lieu.objects.create(
            reference=next_reference("L"),
            structure=structure or self.structure,
            nom=f"Centre {next(_counter)}",
            adresse="10 Rue Grande",
            code_postal=code_postal,
            ville=ville,
            code_insee=code_insee,
            latitude=Decimal(f"{point[0]:.6f}"),
            longitude=Decimal(f"{point[1]:.6f}"),
        )

    def formation(
        self,
        intitule,
        *,
        sessions=({},),
        structure=None,
        certification=None,
        objectif="",
        contenu="",
        niveau_sortie="",
        index=True,
    ):
        structure = structure or self.structure or StructureFactory()
        self.structure = self.structure or structure
        formation = fm.Formation.objects.create(
            reference=next_reference("F"), structure=structure, published_at=timezone.now()
        )
        version = fm.FormationVersion.objects.create(
            formation=formation,
            intitule=intitule,
            certification=certification,
            objectif=objectif,
            contenu=contenu,
            niveau_sortie=niveau_sortie,
        )
        formation.live_version = version
        formation.save(update_fields=["live_version"])
        for spec in sessions:
            self.session(version, **spec)
        if index:
            rebuild([formation.pk])
        return formation

    def session(
        self,
        version,
        *,
        debut=TODAY + datetime.timedelta(days=30),
        fin=TODAY + datetime.timedelta(days=120),
        point=CHATEAUROUX,
        ville="Châteauroux",
        code_postal="36000",
        code_insee="36044",
        modalite="0",
        financements=("CPR02",),
        a_la_demande=False,
        entree_sortie_permanente=False,
        **fields,
    ):
        session = fm.Session.objects.create(reference=next_reference("S"), formation=version.formation)
        sv = fm.SessionVersion.objects.create(
            formation_version=version,
            session=session,
            date_debut=debut,
            date_fin=fin,
            modalite_enseignement=modalite,
            a_la_demande=a_la_demande,
            entree_sortie_permanente=entree_sortie_permanente,
            duree_centre=100,
            **fields,
        )
        fm.SessionTrainer.objects.create(session_version=sv, structure=version.formation.structure, is_principal=True)
        if point is not None:
            lieu = self.place(point, ville, code_postal, code_insee, structure=version.formation.structure)
            fm.SessionPlace.objects.create(session_version=sv, lieu=lieu, is_principal=True)
        for code in financements:
            d = dispositif(code)
            fm.Financement.objects.create(session_version=sv, dispositif=d, financeur=d.financeur, nb_places=10)
        return sv


@pytest.fixture(autouse=True)
def _communes(request):
    """The communes come from a data migration: a transactional test elsewhere in the suite
    flushes them, so they are loaded again when missing."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    from ofeli.public.communes import load_communes
    from ofeli.public.models import Commune

    if not Commune.objects.exists():
        load_communes()


@pytest.fixture
def offer(db):
    return OfferBuilder()


@pytest.fixture
def rncp_cert(db):
    return CertificationFactory(code_certifinfo="31999", intitule="CAP boucher", code_rncp="12345", niveau_sortie="13")


@pytest.fixture
def rs_cert(db):
    return CertificationFactory(
        code_certifinfo="84001", intitule="Habilitation électrique", code_rncp="", code_rs="5062", niveau_sortie="1"
    )


# --- axe-core, vendored from the npm registry by the test set-up (no CDN) ----------------

import hashlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from django.conf import settings  # noqa: E402

AXE_VERSION = "4.11.0"
AXE_SHA256 = "e9e5863c33a874f09bc01acd9234b7e3c871479f5eef8802fa582544465e6d01"  # package/axe.min.js


def _axe_cache():
    return Path(os.environ.get("OFELI_AXE_CACHE", Path(settings.BASE_DIR) / "var" / "cache" / "axe-core"))


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"axe-core cannot be vendored in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def axe_source():
    """axe.min.js of the pinned axe-core, fetched once with ``npm pack`` into var/cache/."""
    target = _axe_cache() / AXE_VERSION / "axe.min.js"
    if not target.exists():
        npm = shutil.which("npm")
        if not npm:
            _unavailable("npm is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                subprocess.run(
                    [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent"],
                    cwd=tmp,
                    check=True,
                    capture_output=True,
                    timeout=180,
                )
            except (subprocess.SubprocessError, OSError) as error:
                _unavailable(f"npm pack axe-core@{AXE_VERSION} failed: {error}")
            tgz = next(Path(tmp).glob("axe-core-*.tgz"))
            with tarfile.open(tgz) as tar:
                data = tar.extractfile("package/axe.min.js").read()
        if hashlib.sha256(data).hexdigest() != AXE_SHA256:
            pytest.fail(f"axe-core@{AXE_VERSION}: unexpected checksum")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    data = target.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, f"corrupted {target}"
    return data.decode("utf-8")


def axe_violations(page, axe_source, impacts=("serious", "critical")):
    """Run axe-core on the page; the serious and critical violations, readable."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (no inline script) stays on.
        page.evaluate(axe_source + "\n;undefined")
    violations = page.evaluate(
        """async () => {
            // Colours are measured once every transition (a DSFR modal fading in) has ended.
            const finite = document.getAnimations().filter(a => a.effect && a.effect.getTiming().iterations !== Infinity);
            await Promise.all(finite.map(a => a.finished.catch(() => null)));
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary).slice(0, 5)}));
        }"""
    )
    return [v for v in violations if v["impact"] in impacts]


# Browser tests of the public site at a desktop and a phone width (P1-P5).
SIZES = {"1280px": (1280, 800), "375px": (375, 740)}


def open_screen(browser, live_server, size, **options):
    """A browser context at ``size`` and its page, with the console and script errors it collects."""
    width, height = SIZES[size]
    context = browser.new_context(
        locale="fr-FR", base_url=live_server.url, viewport={"width": width, "height": height}, **options
    )
    context.set_default_timeout(30_000)  # a shared 2-core machine can be slow
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors
