"""Forms (Flask-WTF): CSRF on every one, labels translated lazily, codes validated.

Repeatable groups (victims, perpetrators, legal provisions) grow with an "add another"
submit button that re-renders the form, so the page works with JavaScript disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import get_translations, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.i18n import nfc
from app.records import codes, dates
from app.store.passphrase import weakness

MAX_GROUP = 50  # victims/perpetrators/provisions per report: enough for a mass detention


class _CatalogTranslations:
    """WTForms' own messages ("This field is required.", "Not a valid choice." ...) from
    Kuager's catalogs, in the page's language.

    WTForms ships Kazakh and Russian catalogs of its own, but they read awkwardly ("Бұл
    өріс міндетті түрде керек.") and nobody here reviews them; subforms (a person, a
    perpetrator) would not get them at all. The plural forms are looked up directly: the
    messages use ``%(min)d`` / ``%(max)d``, which WTForms fills in itself afterwards.
    """

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ungettext(singular, plural, n))


_TRANSLATIONS = _CatalogTranslations()

#: The WTForms messages the forms can show, marked here so extraction puts them in the
#: catalogs (never evaluated). A validator given its own message needs none of these.
_WTFORMS_MESSAGES = (
    _l("This field is required."),
    lazy_ngettext("Field must be at least %(min)d character long.",
                  "Field must be at least %(min)d characters long.", 1),
    lazy_ngettext("Field cannot be longer than %(max)d character.",
                  "Field cannot be longer than %(max)d characters.", 1),
    lazy_ngettext("Field must be exactly %(max)d character long.",
                  "Field must be exactly %(max)d characters long.", 1),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Field must be equal to %(other_name)s."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    lazy_ngettext("'%(value)s' is not a valid choice for this field.",
                  "'%(value)s' are not valid choices for this field.", 1),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    _l("Not a valid integer value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
)


class KuagerForm(FlaskForm):
    """Every page form: CSRF (Flask-WTF), WTForms' own messages from our catalogs."""

    class Meta:
        def get_translations(self, form: Form) -> _CatalogTranslations:
            return _TRANSLATIONS


class KuagerSubform(Form):
    """A repeated group inside a form (no CSRF of its own), translated as KuagerForm."""

    class Meta:
        def get_translations(self, form: Form) -> _CatalogTranslations:
            return _TRANSLATIONS


def _strip_nfc(value: object) -> object:
    """Trim and NFC-normalise text, so ә typed as а + combining mark is stored as ә."""
    return nfc(value.strip()) if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _choices(code_list: codes.CodeList, blank: bool = False) -> Callable[[], list[SelectChoice]]:
    """The choices of a code list, built when a form is made (so in the request's
    language) and sorted as the reader scans them (:func:`codes.reading_order`)."""

    def build() -> list[SelectChoice]:
        items = [SelectChoice(code, text) for code, text in codes.reading_order(code_list)]
        return [SelectChoice("", str(_l("Choose…"))), *items] if blank else items

    return build


def validate_iso_date(_form: Form, field: StringField) -> None:
    """A date as people write it (``app.records.dates``: 08.03.2026, 8 наурыз 2026,
    8 марта 2026, March 2026, 2026-03-08 …), stored as ISO at its precision."""
    value = (field.data or "").strip()
    if not value:
        return
    try:
        parsed = dates.parse(value)
    except dates.DateError as exc:
        if exc.reason == "nonexistent":
            raise ValidationError(_l("This date does not exist.")) from None
        raise ValidationError(
            _l("Write the date as 08.03.2026, 8 March 2026 or 2026-03-08.")
        ) from None
    if parsed.as_date().year < 1900 or parsed.as_date() > date.today():
        raise ValidationError(_l("The date must lie between 1900 and today."))
    field.data = parsed.iso


_COARSER = {7: "month", 4: "year"}  # length of the ISO text -> the precision it implies


def strong_passphrase(_form: Form, field: PasswordField) -> None:
    """Refuse a weak new passphrase with the reason (judged on the server: no script)."""
    reason = weakness(field.data or "")
    if reason is not None:
        raise ValidationError(reason)


class VictimForm(KuagerSubform):
    name = StringField(_l("Name"), filters=[_strip_nfc], validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=_choices(codes.VICTIM_ROLES, blank=True), default="")
    consent = BooleanField(_l("This person agreed to be documented"))
    may_name = BooleanField(_l("May be named publicly"))


class PerpetratorForm(KuagerSubform):
    kind = SelectField(_l("Who"), choices=_choices(codes.PERPETRATORS, blank=True), default="")
    name = StringField(
        _l("Unit, office or person"), filters=[_strip_nfc], validators=[Length(max=200)]
    )


class LegalForm(KuagerSubform):
    code = SelectField(_l("Law"), choices=_choices(codes.LEGAL_CODES, blank=True), default="")
    article = StringField(_l("Article"), filters=[_strip_nfc], validators=[Length(max=40)])


class ReportForm(KuagerForm):
    title = StringField(
        _l("Title"),
        filters=[_strip_nfc],
        validators=[DataRequired(_l("Give the report a short title.")), Length(max=300)],
    )
    description = TextAreaField(
        _l("What happened"),
        filters=[_strip_nfc],
        validators=[DataRequired(_l("Describe what happened.")), Length(max=200_000)],
    )
    occurred_on = StringField(
        _l("Date (start)"), filters=[_strip_nfc], validators=[validate_iso_date]
    )
    occurred_precision = SelectField(
        _l("How precise is the date?"), choices=_choices(codes.DATE_PRECISION), default="day"
    )
    ended_on = StringField(
        _l("Date (end, if it lasted)"), filters=[_strip_nfc], validators=[validate_iso_date]
    )
    region = SelectField(
        _l("Region"),
        choices=_choices(codes.REGIONS, blank=True),
        validators=[DataRequired(_l("Choose a region, or Unknown."))],
    )
    place = StringField(_l("Place"), filters=[_strip_nfc], validators=[Length(max=300)])
    abroad_country = StringField(
        _l("Country (if abroad)"), filters=[_strip_nfc], validators=[Length(max=100)]
    )
    rights = MultiCheckboxField(_l("Rights affected"), choices=_choices(codes.RIGHTS))
    acts = MultiCheckboxField(_l("What was done"), choices=_choices(codes.ACTS))
    victims = FieldList(FormField(VictimForm), min_entries=1, max_entries=MAX_GROUP)
    perpetrators = FieldList(FormField(PerpetratorForm), min_entries=1, max_entries=MAX_GROUP)
    legal = FieldList(FormField(LegalForm), min_entries=1, max_entries=MAX_GROUP)
    sources = MultiCheckboxField(_l("How do you know?"), choices=_choices(codes.SOURCES))
    links = TextAreaField(
        _l("Links (one per line, as plain text)"),
        filters=[_strip_nfc],
        validators=[Length(max=20_000)],
    )
    sensitivity = SelectField(
        _l("Sensitivity"), choices=_choices(codes.SENSITIVITY), default="normal"
    )
    may_publish = BooleanField(_l("May be published"))
    withhold_names = BooleanField(_l("Withhold all names when publishing"), default=True)
    contact = StringField(
        _l("How to contact you (optional)"),
        filters=[_strip_nfc],
        validators=[Optional(), Length(max=300)],
    )
    attachments = MultipleFileField(_l("Attachments (photos, video, documents)"))
    add_victim = SubmitField(_l("Add another person"))
    add_perpetrator = SubmitField(_l("Add another perpetrator"))
    add_legal = SubmitField(_l("Add another provision"))
    save = SubmitField(_l("Save report"))
    # Rendered as <button name="draft" value="1"> (docs: CONTRACT, drafts): kept on this
    # device until the monitor marks it ready; without it a saved report is ready to send.
    draft = SubmitField(_l("Save as draft"))

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """As FlaskForm's; a start date written as a month or a year alone ("March 2026",
        "2026") sets the precision to match when the select still says "Exact day"."""
        ok = super().validate(extra_validators)
        implied = _COARSER.get(len(self.occurred_on.data or ""))
        if ok and implied and self.occurred_precision.data == "day":
            self.occurred_precision.data = implied
        return ok

    def grow_requested(self) -> bool:
        """Handle an "add another" button: append an empty row; True if one was pressed."""
        for button, group in (
            (self.add_victim, self.victims),
            (self.add_perpetrator, self.perpetrators),
            (self.add_legal, self.legal),
        ):
            if button.data and len(group.entries) < MAX_GROUP:
                group.append_entry()
                return True
        return False


class PublicReportForm(ReportForm):
    """The public site's form: the same fields, a plainer submit button."""

    save = SubmitField(_l("Send report"))


class PassphraseForm(KuagerForm):
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired()])
    submit = SubmitField(_l("Unlock"))


class SetupForm(KuagerForm):
    passphrase = PasswordField(_l("New passphrase"), validators=[DataRequired(),
                                                                 strong_passphrase])
    confirm = PasswordField(
        _l("Repeat the passphrase"),
        validators=[DataRequired(), EqualTo("passphrase", _l("The two passphrases differ."))],
    )
    role = SelectField(
        _l("This device is"),
        default="field",
        choices=_choices(
            (
                ("field", _l("a field device (write and export reports)")),
                ("coordinator", _l("a coordinator's machine (import and review)")),
            )
        ),
    )
    submit = SubmitField(_l("Create the encrypted store"))


class ChangePassphraseForm(KuagerForm):
    current = PasswordField(_l("Current passphrase"), validators=[DataRequired()])
    passphrase = PasswordField(_l("New passphrase"), validators=[DataRequired(),
                                                                 strong_passphrase])
    confirm = PasswordField(
        _l("Repeat the new passphrase"),
        validators=[DataRequired(), EqualTo("passphrase", _l("The two passphrases differ."))],
    )
    submit = SubmitField(_l("Change passphrase"))


class DuressForm(KuagerForm):
    current = PasswordField(_l("Passphrase"), validators=[DataRequired()])
    duress = PasswordField(_l("Duress passphrase"), validators=[DataRequired(),
                                                               strong_passphrase])
    confirm = PasswordField(
        _l("Repeat the duress passphrase"),
        validators=[DataRequired(), EqualTo("duress", _l("The two passphrases differ."))],
    )
    submit = SubmitField(_l("Set the duress passphrase"))


class DuressClearForm(KuagerForm):
    current = PasswordField(_l("Passphrase"), validators=[DataRequired()])
    submit = SubmitField(_l("Remove the duress passphrase"))


class LockoutForm(KuagerForm):
    #: Asked as ``kuager lockout`` asks it: a local client of a store unlocked on the
    #: command line must not be able to arm (or disarm) the erase.
    current = PasswordField(_l("Passphrase"), validators=[DataRequired()])
    wipe_after = IntegerField(
        _l("Erase the store after this many wrong passphrases in a row (empty: never)"),
        validators=[Optional(), NumberRange(min=1, max=1000)],
    )
    show_remaining = BooleanField(_l("Show on the unlock page how many tries are left"))
    submit = SubmitField(_l("Save lockout"))


class RetentionForm(KuagerForm):
    current = PasswordField(_l("Passphrase"), validators=[DataRequired()])
    days = IntegerField(
        _l("Delete exported reports this many days after their export (empty: keep them)"),
        validators=[Optional(), NumberRange(min=1, max=36500)],
    )
    submit = SubmitField(_l("Save retention"))


class WipeForm(KuagerForm):
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired()])
    confirm = StringField(_l("Type yes to confirm"), validators=[DataRequired()])
    submit = SubmitField(_l("Destroy everything now"))


class ConfirmForm(KuagerForm):
    """A bare form for buttons that change state (delete, lock): it carries the CSRF token."""

    submit = SubmitField(_l("Confirm"))
