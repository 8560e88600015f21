from django import forms

EMAIL_ERRORS = {
    "required": "Saisissez votre adresse e-mail.",
    "invalid": "Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr.",
    "max_length": "L'adresse e-mail ne peut pas dépasser 254 caractères.",
}


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="Votre adresse e-mail",
        max_length=254,
        help_text="Format attendu : prenom.nom@exemple.fr",
        error_messages=EMAIL_ERRORS,
    )
