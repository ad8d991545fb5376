"""Portal forms. They only collect input: rules live in accounts.services, whose errors the views
copy onto the form (``helpdesk.core.forms.apply_errors``) so the user sees them next to the field they concern."""

from __future__ import annotations

from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

# Re-exported: accounts.views imports it from here; it lives in the shared layer (every app's views use it).
from helpdesk.core.forms import apply_errors  # noqa: F401
from orgtree.models import OrgUnit

from .models import HandlingGroup, Role, UserType


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Account"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    # What it does, not "remember the password": the session lasts REMEMBER_ME_AGE (14 days).
    remember = forms.BooleanField(label=_("Keep me signed in for 14 days"), required=False)

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        username, password = cleaned.get("username"), cleaned.get("password")
        if username and password:
            # authenticate() with the request lets django-axes count this attempt.
            self.user = authenticate(self.request, username=username, password=password)
            if self.user is None:
                raise ValidationError(
                    _("The account or password is incorrect, or the account is deactivated."),
                    code="invalid_login",
                )
        return cleaned


class ProfileForm(forms.Form):
    nickname = forms.CharField(label=_("Nickname"), required=False, strip=True)
    phone = forms.CharField(label=_("Phone"), required=False, strip=True)
    email = forms.CharField(
        label=_("Email"), required=False, strip=True, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    avatar = forms.FileField(
        label=_("Avatar"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove the current avatar"), required=False)


class PortalCaptchaInput(CaptchaTextInput):
    """The library's widget drawn by our template: a Chinese alt text and a refresh button that
    static/js/captcha.js wires up (the library ships no script, and inline ones are refused)."""

    template_name = "accounts/widgets/captcha.html"


class PasswordChangeForm(forms.Form):
    """The portal's password change (2.2.2), with the manual's 验证码. The API has none: it keeps
    token sign-in and the lockout after failed logins instead."""

    old_password = forms.CharField(
        label=_("Old password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password_confirm = forms.CharField(
        label=_("Confirm the new password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    captcha = CaptchaField(
        label=_("Verification code"),
        error_messages={"invalid": _("The verification code is wrong; type the new one shown.")},
        widget=PortalCaptchaInput(attrs={"autocomplete": "off", "autocapitalize": "off", "maxlength": 8}),
    )

    PASSWORD_FIELDS = ("old_password", "new_password", "new_password_confirm")


def unit_choice_label(unit: OrgUnit) -> str:
    """How the unit picker writes a unit into the field: "海淀实验小学（S110108001）"."""
    return f"{unit.name}（{unit.code}）"


class UnitCodeField(forms.CharField):
    """A unit the actor manages, searched by name, pinyin or code (the picker: a datalist that htmx
    refills from ``accounts:manage_unit_search`` as the user types, no inline script), or typed as a
    code by keyboard users. Cleans to the code (or the name, when no code was given); the form or
    view checks that the actor manages it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Unit"))
        kwargs.setdefault("max_length", 160)
        attrs = {
            "list": "managed-units",
            "autocomplete": "off",
            "placeholder": _("Name, pinyin or code"),
            "hx-get": reverse_lazy("accounts:manage_unit_search"),
            "hx-trigger": "input changed delay:250ms",
            "hx-target": "#managed-units",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
        kwargs.setdefault("widget", forms.TextInput(attrs=attrs))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value).strip()
        # "名称（代码）" from the picker (full- or half-width brackets): the code decides.
        for opening, closing in (("（", "）"), ("(", ")")):
            if text.endswith(closing) and opening in text:
                return text[text.rindex(opening) + 1 : -1].strip()
        return text

    @staticmethod
    def resolve(units, text: str) -> OrgUnit | None:
        """The unit of ``units`` (a scoped queryset) with this code, else the only one with this name."""
        if not text or units is None:
            return None
        unit = units.filter(code=text).first()
        if unit is None:
            named = list(units.filter(name=text)[:2])
            unit = named[0] if len(named) == 1 else None
        return unit


class ManagedUserForm(forms.Form):
    """Create or edit an issued account."""

    username = forms.CharField(label=_("Account"), required=True)
    name = forms.CharField(label=_("Name"), required=True)
    unit_code = UnitCodeField()
    user_type = forms.ChoiceField(label=_("User type"), choices=UserType.choices, initial=UserType.TEACHER)
    nickname = forms.CharField(label=_("Nickname"), required=False)
    phone = forms.CharField(label=_("Phone"), required=False)
    email = forms.CharField(label=_("Email"), required=False, widget=forms.EmailInput)

    def __init__(self, *args, managed_units=None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.managed_units = managed_units
        self.unit: OrgUnit | None = None
        code = self.initial.get("unit_code")
        if code and managed_units is not None and not self.is_bound:
            # Shown as the picker writes it; a bare code is accepted all the same.
            unit = managed_units.filter(code=code).first()
            if unit is not None:
                self.initial["unit_code"] = unit_choice_label(unit)
        if editing:
            # The account is the login name: fixed once issued.
            del self.fields["username"]

    def clean_unit_code(self) -> str:
        self.unit = UnitCodeField.resolve(self.managed_units, self.cleaned_data["unit_code"])
        if self.unit is None:
            raise ValidationError(_("No unit you manage has this name or code; choose one from the list."))
        return self.unit.code


class ManagedUserFilterForm(forms.Form):
    q = forms.CharField(label=_("Account starts with"), required=False, max_length=64)
    unit_code = UnitCodeField(required=False)
    user_type = forms.ChoiceField(
        label=_("User type"), required=False, choices=[("", _("All types")), *UserType.choices]
    )
    active = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), ("1", _("Active")), ("0", _("Deactivated"))]
    )


class UsersImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"), widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}))


# --- Roles (account page) ------------------------------------------------------------------------
class HandlingGroupsField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Handling groups"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(queryset=HandlingGroup.objects.order_by("id"), **kwargs)


class RoleGrantForm(forms.Form):
    """Appoint a role. The unit is picked from a list of units the administrator manages (never a
    typed code); any managed unit is accepted, the list is only bounded for the page's sake."""

    role = forms.ChoiceField(label=_("Role"))
    unit = forms.TypedChoiceField(label=_("Unit"), coerce=int, empty_value=None)
    handling_groups = HandlingGroupsField(help_text=_("Support agents only: the kinds of requests they take."))
    on_duty = forms.BooleanField(label=_("On duty"), required=False, initial=True)

    def __init__(self, *args, units=(), managed_units=None, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.managed_units = managed_units
        self.unit_obj: OrgUnit | None = None
        self.fields["role"].choices = [("", "—"), *(roles or Role.choices)]
        self.fields["unit"].choices = [("", "—"), *((unit.pk, f"{unit.name}（{unit.code}）") for unit in units)]
        # Accept any unit the actor manages, not only the ones the list shows.
        self.fields["unit"].valid_value = lambda value: True

    def clean_unit(self):
        unit_id = self.cleaned_data.get("unit")
        if unit_id is None:
            raise ValidationError(_("Choose a unit."))
        self.unit_obj = self.managed_units.filter(pk=unit_id).first() if self.managed_units is not None else None
        if self.unit_obj is None:
            raise ValidationError(_("You can only manage accounts in your own unit and the units below it."))
        return unit_id


class AgentSettingsForm(forms.Form):
    """A support agent's handling groups and duty, changed by an administrator."""

    handling_groups = HandlingGroupsField()
    on_duty = forms.BooleanField(label=_("On duty"), required=False)


class NotificationPreferencesForm(forms.Form):
    """The preferences section of the notification centre: per kind, e-mail and push on or off (the
    portal is always on). Each checkbox posts its kind's name under ``email`` or ``push``."""

    email = forms.MultipleChoiceField(required=False)
    push = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, kinds: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        for name in ("email", "push"):
            self.fields[name].choices = kinds

    def choices(self) -> dict[str, dict[str, bool]]:
        """``{kind: {"email": bool, "push": bool}}`` for every kind: an unticked box is a choice too."""
        email, push = set(self.cleaned_data["email"]), set(self.cleaned_data["push"])
        return {kind: {"email": kind in email, "push": kind in push} for kind, _label in self.kinds}
