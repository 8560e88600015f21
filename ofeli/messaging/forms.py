from django import forms

from ofeli.core import forms as base
from ofeli.core.uploads import validate_upload

from .models import Memo, Message, original_name


class MessageForm(base.ModelForm):
    class Meta:
        model = Message
        fields = ["subject", "body", "attachment"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}
        help_texts = {"attachment": "PDF, image ou document bureautique, 5 Mo maximum."}

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        return validate_upload(upload) if upload else upload

    def save(self, commit=True):
        upload = self.cleaned_data.get("attachment")
        if upload:
            # stored under a safe name (models.attachment_path), downloaded under this one
            self.instance.attachment_name = original_name(upload.name)
        return super().save(commit=commit)


class MemoForm(base.ModelForm):
    class Meta:
        model = Memo
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}
