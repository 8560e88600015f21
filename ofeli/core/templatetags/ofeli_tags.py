from django import template

from ofeli.core.identifiers import nda_is_in_region
from ofeli.referentials import lheo as lheo_tables

register = template.Library()


@register.filter
def lheo(code, table):
    """``{{ code|lheo:"dict-niveaux" }}`` → the LHEO label of a code."""
    return lheo_tables.label(table, code)


@register.filter
def lheo_coded(code, table):
    """``{{ code|lheo_coded:"dict-type-contact" }}`` → « 5 - Direction »."""
    if code in (None, ""):
        return ""
    return f"{code} - {lheo_tables.label(table, code)}"


@register.filter
def nda_in_region(value):
    """True for an NDA delivered in the instance's region (S2: the region is a setting)."""
    return nda_is_in_region(value or "")
