from django.core.exceptions import ValidationError


class OfeliPasswordValidator:
    """SPEC A4: at least 8 characters, one upper-case letter and one special character."""

    min_length = 8

    def validate(self, password, user=None):
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError("Le mot de passe doit contenir au moins 8 caractères.", code="password_too_short")
            )
        if not any(c.isupper() for c in password):
            errors.append(
                ValidationError(
                    "Le mot de passe doit contenir au moins une lettre majuscule.", code="password_no_upper"
                )
            )
        if all(c.isalnum() for c in password):
            errors.append(
                ValidationError(
                    "Le mot de passe doit contenir au moins un caractère spécial (par exemple ! ? @ # -).",
                    code="password_no_special",
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return "8 caractères minimum dont un caractère majuscule et un caractère spécial."
