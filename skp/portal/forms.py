"""The portal's forms (Flask-WTF: every form carries its CSRF token), with Dutch messages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField, TelField
from wtforms.validators import Email, InputRequired, Length, Regexp, ValidationError

from skp.domain.organisation import ContactRole, iban

REQUIRED = "Vul dit veld in."


class NameForm(FlaskForm):
    naam = StringField("Uw naam", description="Zoals collega's u kennen, bijvoorbeeld 'Anna de "
                       "Vries'.", validators=[InputRequired(REQUIRED), Length(max=200)])


class DevLoginForm(FlaskForm):
    persona = SelectField("Medewerker", validators=[InputRequired(REQUIRED)])


class IbanForm(FlaskForm):
    iban = StringField("IBAN", description="Bijvoorbeeld NL91 ABNA 0417 1643 00.",
                       validators=[InputRequired(REQUIRED), Length(max=42)])
    tenaamstelling = StringField("Ten name van", validators=[InputRequired(REQUIRED),
                                                             Length(max=200)])

    def validate_iban(self, field: StringField) -> None:
        try:
            iban(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc).capitalize() + ".") from None


class ContactForm(FlaskForm):
    naam = StringField("Naam", validators=[InputRequired(REQUIRED), Length(max=200)])
    email = EmailField("E-mailadres", validators=[
        InputRequired(REQUIRED), Email("Vul een geldig e-mailadres in."), Length(max=254)])
    telefoon = TelField("Telefoonnummer", description="Bijvoorbeeld 030 123 45 67.",
                        validators=[InputRequired(REQUIRED), Regexp(
                            r"^\+?[0-9 ()-]{8,20}$", message="Vul een geldig telefoonnummer "
                                                             "in.")])
    rol = SelectField("Rol", choices=[(r.value, r.label) for r in ContactRole],
                      validators=[InputRequired(REQUIRED)])


class NotifyForm(FlaskForm):
    email = EmailField("E-mailadres", validators=[
        InputRequired(REQUIRED), Email("Vul een geldig e-mailadres in."), Length(max=254)])


class RequestForm(FlaskForm):
    soort = RadioField("Wat vraagt u aan?", choices=[
        ("module", "Een module"), ("extension", "Verlengen afhandeltermijn")],
        validators=[InputRequired("Kies wat u aanvraagt.")])
    module = SelectField("Module", choices=[], validate_choice=False)
    dagen = SelectField("Verlenging", choices=[("7", "7 dagen"), ("14", "14 dagen"),
                                               ("28", "28 dagen")])
