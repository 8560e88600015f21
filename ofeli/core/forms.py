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


def _safe_pks(field, values):
    """K1: a value that no database identifier can be (« abc », -1, a 30-digit number) is an
    invalid choice before any query (SQLite raises OverflowError past 64 bits)."""
    from .params import as_id

    key = field.to_field_name or "pk"
    if key != "pk":
        return
    for value in values:
        if value not in field.empty_values and as_id(value) is None:
            raise forms.ValidationError(
                field.error_messages["invalid_pk_value"]
                if "invalid_pk_value" in field.error_messages
                else field.error_messages["invalid_choice"],
                code="invalid_pk_value",
                params={"pk": str(value)[:30]},
            )


class SafeModelChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        try:
            _safe_pks(self, [value])
        except forms.ValidationError:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None
        return super().to_python(value)


class SafeModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        try:
            values = frozenset(value)
        except TypeError:
            return super()._check_values(value)
        _safe_pks(self, values)
        return super()._check_values(value)
