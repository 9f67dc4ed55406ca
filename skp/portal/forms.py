"""The portal's forms (Flask-WTF: every form carries its CSRF token), with Dutch messages."""

from __future__ import annotations

import uuid

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
)
from wtforms.validators import Email, InputRequired, Length, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from skp.demo import DEV_EMPLOYEES
from skp.domain.organisation import ContactRole, iban

REQUIRED = "Vul dit veld in."


def sentence(reason: str) -> str:
    """A rule's reason ("dit is geen geldig IBAN") as a message next to a field."""
    return reason[:1].upper() + reason[1:] + "."


class NameForm(FlaskForm):
    naam = StringField("Uw naam", description="Zoals collega's u kennen, bijvoorbeeld 'Anna de "
                       "Vries'.", validators=[InputRequired(REQUIRED), Length(max=200)])


class DevLoginForm(FlaskForm):
    persona = SelectField("Medewerker", validators=[InputRequired(REQUIRED)],
                          choices=[SelectChoice(p.key, p.label) for p in DEV_EMPLOYEES])


class IbanForm(FlaskForm):
    iban = StringField("IBAN", description="Bijvoorbeeld NL91 ABNA 0417 1643 00.",
                       validators=[InputRequired(REQUIRED), Length(max=42)])
    tenaamstelling = StringField("Ten name van", validators=[InputRequired(REQUIRED),
                                                             Length(max=200)])

    def validate_iban(self, field: StringField) -> None:
        try:
            iban(field.data or "")
        except ValueError as exc:
            raise ValidationError(sentence(str(exc))) from None


class ContactForm(FlaskForm):
    naam = StringField("Naam", validators=[InputRequired(REQUIRED), Length(max=200)])
    email = EmailField("E-mailadres", validators=[
        InputRequired(REQUIRED), Email("Vul een geldig e-mailadres in."), Length(max=254)])
    telefoon = TelField("Telefoonnummer", description="Bijvoorbeeld 030 123 45 67.",
                        validators=[InputRequired(REQUIRED), Regexp(
                            r"^\+?[0-9 ()-]{8,20}$", message="Vul een geldig telefoonnummer "
                                                             "in.")])
    rol = SelectField("Rol", choices=[SelectChoice(r.value, r.label) for r in ContactRole],
                      validators=[InputRequired(REQUIRED)])


class NotifyForm(FlaskForm):
    email = EmailField("E-mailadres", validators=[
        InputRequired(REQUIRED), Email("Vul een geldig e-mailadres in."), Length(max=254)])
    meldingen = SelectMultipleField(
        "Welke meldingen?", choices=[SelectChoice("new", "Nieuwe berichten"),
                                     SelectChoice("reminder", "Herinneringen voordat berichten "
                                                              "verlopen")],
        default=["new", "reminder"], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired("Kies nieuwe berichten, herinneringen of allebei.")])


class RequestForm(FlaskForm):
    soort = RadioField("Wat vraagt u aan?", choices=[
        SelectChoice("module", "Een module"),
        SelectChoice("extension", "Verlengen afhandeltermijn")],
        validators=[InputRequired("Kies wat u aanvraagt.")])
    module = SelectField("Module", choices=[], validate_choice=False)
    dagen = SelectField("Verlenging", choices=[SelectChoice(d, f"{d} dagen")
                                               for d in ("7", "14", "28")])


class MessageForm(FlaskForm):
    """What every message form has besides the body: its Kenmerk."""

    kenmerk = HiddenField()

    def ensure_kenmerk(self) -> str:
        """The form's Kenmerk: the one it was shown with, or a new one."""
        try:
            self.kenmerk.data = str(uuid.UUID(self.kenmerk.data or ""))
        except ValueError:
            self.kenmerk.data = str(uuid.uuid4())
        kenmerk: str = self.kenmerk.data
        return kenmerk


class NewMessageForm(MessageForm):
    """A new message also names its recipient (from the address book)."""

    ontvanger = SelectField("Ontvanger", validate_choice=False)
