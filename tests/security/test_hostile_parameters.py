"""K1: every URL of the product, with hostile values of each of its parameters (huge,
negative and non-numeric numbers, unknown ids, very long strings, NUL, path tricks), as an OF
user and as Carif staff, never answers 500. Path parameters are swept one at a time (the
others valid, so that the view is reached); query and form parameters are the names the
view's module reads, the fields of its forms (with their prefixes) and its actions."""

import inspect
import re
import time
from urllib.parse import quote

import pytest
from django import forms as django_forms
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from ofeli.exports.models import ExportJob
from ofeli.messaging.models import Memo, Message
from ofeli.users.models import AccountRequest
from tests.factories import (
    ContactFactory,
    LieuFactory,
    MembershipFactory,
    StructureFactory,
    SuperviseurFactory,
    published_formation,
)

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
# what every form and query parameter receives, one request per value (all parameters at once)
HOSTILE = [HUGE, "-1", "abc", "x\x00y"]
# what each path parameter receives in turn (negative and non-numeric values of <int:...> are
# refused by the URL resolver itself: they are sent all the same)
PATH_HOSTILE = [HUGE, "-1", "abc", "987654", "A" * 3000, "x%00y", "..%2F.."]
ACTION_HOSTILE = [HUGE]
LONG = "A" * 3000
TIMES = []
NOT_SWEPT = {"users:logout"}  # logging out would only end the sweep's own session
COMMON = ["page", "q", "next", "action", "tri", "format", "version", "rows", "id", "pk", "token"]


def patterns(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name or ""]))
            yield prefix + str(entry.pattern), name, entry


def view_module(entry):
    callback = entry.callback
    callback = getattr(callback, "view_class", None) or getattr(callback, "__wrapped__", callback)
    return inspect.getmodule(callback)


NAME_RE = re.compile(r"""(?:GET|POST|data|params|query)\s*(?:\.get|\.getlist|\[)\(?\s*f?["']([^"'{}]+)["']""")
PREFIX_RE = re.compile(r"""prefix["']?\s*[,=:]\s*["']([\w-]+)["']""")
ACTION_RE = re.compile(r"""(?:action\s*==\s*|def do_)["']?(\w+)""")


def parameter_names(module):
    """What the view's module reads from the request: names, form fields, actions."""
    source = inspect.getsource(module) if module else ""
    names = set(COMMON) | set(NAME_RE.findall(source))
    prefixes = set(PREFIX_RE.findall(source))
    for value in vars(module).values() if module else ():
        if isinstance(value, type) and issubclass(value, django_forms.BaseForm):
            fields = list(value.base_fields)
            names.update(fields)
            names.update(f"{prefix}-{field}" for prefix in prefixes for field in fields)
    for helper in ("ofeli.formations.session_editor", "ofeli.formations.forms", "ofeli.structures.forms"):
        if module and module.__name__.startswith(helper.rsplit(".", 1)[0]):
            other = __import__(helper, fromlist=["x"])
            src = inspect.getsource(other)
            prefixes |= set(PREFIX_RE.findall(src))
            names |= set(NAME_RE.findall(src))
            for value in vars(other).values():
                if isinstance(value, type) and issubclass(value, django_forms.BaseForm):
                    names.update(f"{prefix}-{field}" for prefix in prefixes for field in value.base_fields)
    return sorted(names)[:900], sorted(set(ACTION_RE.findall(source)))


def actions_of(name, module_actions):
    """The session page runs the buttons of ``session_editor``; other views their own."""
    if name == "formations:session":
        from ofeli.formations import session_editor

        return sorted(set(ACTION_RE.findall(inspect.getsource(session_editor))))
    return module_actions


@pytest.fixture
def world():
    structure = StructureFactory()
    user = MembershipFactory(structure=structure).user
    formation = published_formation(structure, sessions=1)
    session = formation.live_version.sessions.get().session
    contact = ContactFactory(structure=structure)
    LieuFactory(structure=structure)
    account = AccountRequest.objects.create(
        siret="21860076500018",
        nda="24370369337",
        last_name="Dupont",
        first_name="Marie",
        phone="0238000000",
        email="marie@example.org",
        nda_file="demandes/absent.pdf",  # the file is missing from the disk
        consent_at=timezone.now(),
    )
    job = ExportJob.objects.create(user=user, structure=structure, format="xlsx")
    message = Message.objects.create(structure=structure, author=user, subject="Objet", body="Texte")
    memo = Memo.objects.create(user=user, text="Mémo")
    staff = SuperviseurFactory()
    change = formation.change_requests.first()
    return {
        "user": user,
        "staff": staff,
        "structure": structure,
        "formation": formation,
        "session": session,
        "contact": contact,
        "pks": {
            "users:": account.pk,
            "exports:": job.pk,
            "workflow:": change.pk,
            "messaging:attachment": message.pk,
            "messaging:memo": memo.pk,
            "backoffice:user": user.pk,
            "structures:document": 1,
        },
    }


def valid_value(world, route, name, param):
    reference_of = world["formation"].reference
    if param == "reference":
        if any(part in route for part in ("structures/", "organisme/", "messagerie/")):
            return world["structure"].reference
        if "sessions/<str:reference>" in route:
            return world["session"].reference
        return reference_of
    if param == "session_reference":
        return world["session"].reference
    if param == "contact_reference":
        return world["contact"].reference
    if param == "pk":
        return str(next((pk for key, pk in world["pks"].items() if name.startswith(key)), 1))
    return {"version": "2.3", "kind": "financeurs", "which": "nda", "sequence": "1"}.get(param, "x")


PARAM_RE = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def build(route, values):
    route = route.replace("^", "").replace("$", "")
    return "/" + PARAM_RE.sub(lambda m: values[m.group(2) or m.group(3)], route)


def sweep(client, login, world, failures):
    for route, name, entry in patterns():
        if name in NOT_SWEPT:
            continue
        params = [m.group(2) or m.group(3) for m in PARAM_RE.finditer(route)]
        valid = {p: quote(valid_value(world, route, name, p), safe="") for p in params}
        urls = [build(route, valid)]
        for param in params:
            urls += [build(route, {**valid, param: value}) for value in PATH_HOSTILE]
        module = view_module(entry)
        names, actions = parameter_names(module)
        actions = actions_of(name, actions)
        requests = [("get", url, None) for url in urls]
        for value in HOSTILE:
            data = dict.fromkeys(names, value)
            requests.append(("get", urls[0], data))
            requests.append(("post", urls[0], data))
        requests.append(("get", urls[0], dict.fromkeys(names, LONG)))
        for action in actions:
            for value in ACTION_HOSTILE:
                data = dict.fromkeys(names, value) | {"action": f"{action}:{value}"}
                requests.append(("post", urls[0], data))
        started = time.monotonic()
        for method, url, data in requests:
            client.force_login(login)
            try:
                with transaction.atomic():
                    status = getattr(client, method)(url, data or {}).status_code
            except Exception as error:  # noqa: BLE001 - every crash is collected and reported
                failures.append(f"{method.upper()} {name} {url[:120]} {repr(data)[:200]} -> {error!r}"[:600])
                continue
            if status == 500 or (status > 500 and name != "health"):  # /sante/ answers 503 by design
                failures.append(f"{method.upper()} {name} {url[:120]} {repr(data)[:200]} -> {status}")
        TIMES.append((time.monotonic() - started, len(requests), name))


def test_k1_every_url_with_hostile_parameters_never_answers_500(world):
    """As the OF user and as Carif staff (a superviseur: every staff screen)."""
    failures = []
    sweep(Client(), world["user"], world, failures)
    sweep(Client(), world["staff"], world, failures)
    for elapsed, count, name in sorted(TIMES, reverse=True)[:15]:
        print(f"{elapsed:6.1f}s {count:4d} {name}")
    assert not failures, f"{len(failures)} answers 500:\n" + "\n".join(dict.fromkeys(failures))
