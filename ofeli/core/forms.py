"""Form bases: DSFR markup (django-dsfr), pasted-text cleaning (E4), field-tied errors."""

from django import forms
from dsfr.forms import DsfrBaseForm

from .text import clean_pasted_text


class CleanTextMixin:
    """Strips stray control characters from every text field (E4)."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and isinstance(self.fields.get(name), forms.CharField):
                cleaned[name] = clean_pasted_text(value)
        return cleaned


class DsfrContextMixin:
    """Required fields carry the guide's « * » (DSFR's own default), without the
    deprecation warning django-dsfr emits about that choice."""

    def get_context(self):
        context = forms.BaseForm.get_context(self)
        context["DSFR_MARK_OPTIONAL_FIELDS"] = False
        return context


class Form(CleanTextMixin, DsfrContextMixin, DsfrBaseForm):
    pass


class ModelForm(CleanTextMixin, DsfrContextMixin, forms.ModelForm, DsfrBaseForm):
    pass


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


def limited_textarea(max_length, rows=6):
    """Textarea with a live counter (see app.js) and the limit announced to screen readers."""
    return forms.Textarea(attrs={"rows": rows, "data-maxlength": max_length})
