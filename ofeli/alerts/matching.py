"""Which indexed sessions match an alert's criteria: the public search's own conditions
(``public.search``: words, place and radius with the remote sessions, dates, code, facet
groups), applied to ``PublishedSession`` without the sort and the pages. A test checks that
this finds exactly the sessions the public search counts for the same criteria."""

from django.db.models import Q

from ofeli.public.models import PublishedSession
from ofeli.public.search import (
    DEFAULT_RAYON,
    FACETS,
    Results,
    code_condition,
    date_condition,
    place_condition,
    text_condition,
)
from ofeli.public.status import STATUSES, status_rank_expression

JOINABLE_RANKS = sorted({s.rank for s in STATUSES if s.joinable})
assert not {s.rank for s in STATUSES if not s.joinable} & set(JOINABLE_RANKS)  # the ranks tell them apart


def matching_sessions(data, today):
    """PublishedSession rows matching the cleaned data of a valid ``SearchForm``, not finished."""
    qs = PublishedSession.objects.all()
    condition = Q(date_fin__gte=today) | Q(date_fin__isnull=True)
    text_q, _, _ = text_condition(data.get("q") or "")
    if text_q is not None:
        condition &= text_q
    if data.get("lieu"):
        results = Results(rayon=data.get("rayon") or DEFAULT_RAYON, place_text=data["lieu"])
        qs, place_q, _ = place_condition(results, qs)
        condition &= place_q
    condition &= date_condition(data.get("debut_min"), data.get("debut_max"))
    condition &= code_condition(data.get("code"))
    for name, _, options, make in FACETS:
        values = [v for v in data.get(name) or [] if v in dict(options)]
        if values:
            group = Q()
            for value in values:
                group |= make(value)
            condition &= group
    return qs.filter(condition)


def joinable(qs, today):
    """Only the sessions one can still join (P1: à venir, inscriptions ouvertes, entrée
    permanente), by the same rules as the status shown on the cards."""
    return qs.alias(status_rank=status_rank_expression(today)).filter(status_rank__in=JOINABLE_RANKS)
