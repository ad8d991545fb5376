"""API shapes of accounts: what clients send (strict, length-checked) and what they get back.

Public user fields (the directory) never include phone or email; full records are for the user
themselves and for the administrators who manage them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.core.api.serializers import StrictSerializer
from orgtree.api.serializers import UnitRefSerializer
from orgtree.models import OrgUnit

from ..models import DeviceSession, HandlingGroup, Role, RoleAssignment, RoleChange, User, UserType, account_validator

ACCOUNT_MAX = User._meta.get_field("username").max_length
NAME_MAX = User._meta.get_field("name").max_length
NICKNAME_MAX = User._meta.get_field("nickname").max_length
PHONE_MAX = User._meta.get_field("phone").max_length
EMAIL_MAX = User._meta.get_field("email").max_length
PASSWORD_MAX = 128
SEARCH_MAX = 64
# What one's own profile and an administrator's view of an account both show.
ACCOUNT_FIELDS = ("id", "account", "name", "nickname", "avatar", "phone", "email", "unit", "user_type")


# --- Shared shapes --------------------------------------------------------------------------------
class UnitSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ("id", "name", "code", "level")
        read_only_fields = fields


class PublicUserSerializer(serializers.ModelSerializer):
    """What any signed-in user may see of another (directory, members, search)."""

    account = serializers.CharField(source="username", read_only=True)
    unit = UnitRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ("id", "account", "name", "nickname", "avatar", "unit")
        read_only_fields = fields


class RoleAssignmentSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    unit = UnitRefSerializer(read_only=True)
    handling_groups = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = RoleAssignment
        fields = ("id", "user", "role", "role_display", "unit", "handling_groups", "on_duty")
        read_only_fields = fields


class ProfileSerializer(serializers.ModelSerializer):
    """The signed-in user's own record (2.2.1)."""

    account = serializers.CharField(source="username", read_only=True)
    email = serializers.CharField(read_only=True, help_text=_("E-mail address; empty when none was given."))
    unit = UnitSummarySerializer(read_only=True, allow_null=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        # password_change_required: every other operation answers 403 until the password is changed.
        fields = (*ACCOUNT_FIELDS, "roles", "password_change_required")
        read_only_fields = fields

    @extend_schema_field(RoleAssignmentSerializer(many=True))
    def get_roles(self, user: User) -> list[dict]:
        from ..selectors import user_roles

        return RoleAssignmentSerializer(user_roles(user=user), many=True, context=self.context).data


class AccountSerializer(serializers.ModelSerializer):
    """A managed account as its administrators see it."""

    account = serializers.CharField(source="username", read_only=True)
    # Not an EmailField: most accounts have no address, and "" is not a valid `format: email`, so
    # a generated client that checks formats would refuse the answer.
    email = serializers.CharField(read_only=True, help_text=_("E-mail address; empty when none was given."))
    unit = UnitSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = (
            *ACCOUNT_FIELDS,
            "is_active",
            "date_joined",
            "last_login",
        )
        read_only_fields = fields


class IssuedAccountSerializer(serializers.Serializer):
    user = AccountSerializer(read_only=True)
    password = serializers.CharField(
        read_only=True, help_text=_("The account's password, shown this once; hand it to its owner.")
    )


# --- Token login ----------------------------------------------------------------------------------
class TokenLoginSerializer(StrictSerializer):
    username = serializers.CharField(max_length=ACCOUNT_MAX, help_text=_("The login account (账号)."))
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, style={"input_type": "password"})
    device_name = serializers.CharField(
        max_length=DeviceSession._meta.get_field("name").max_length,
        required=False,
        allow_blank=True,
        help_text=_("What the owner will recognise this device by on its device list; default: the User-Agent."),
    )


class TokenRefreshSerializer(StrictSerializer):
    refresh_token = serializers.CharField(
        max_length=200, help_text=_("The refresh token of the last sign-in or refresh.")
    )


class DeviceSerializer(serializers.ModelSerializer):
    """One signed-in device of the account: an app (phone, script) or a browser session."""

    current = serializers.SerializerMethodField(help_text=_("True for the device this request was made from."))

    class Meta:
        model = DeviceSession
        fields = ("id", "kind", "name", "created_at", "last_used_at", "expires_at", "current")
        read_only_fields = fields

    def get_current(self, device: DeviceSession) -> bool:
        request = self.context.get("request")
        if request is None:
            return False
        if isinstance(request.auth, DeviceSession):
            return request.auth.pk == device.pk
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        return bool(session_key) and device.session_key == session_key


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        read_only=True, help_text=_("The access token: send it as `Authorization: Token <token>` (or `Bearer`).")
    )
    expires_at = serializers.DateTimeField(
        read_only=True, help_text=_("After this the token answers 401 `token_expired`: refresh it.")
    )
    refresh_token = serializers.CharField(
        read_only=True,
        help_text=_("Trade it for a new token pair at `POST /api/v1/auth/token/refresh/`; shown only here."),
    )
    refresh_expires_at = serializers.DateTimeField(
        read_only=True, help_text=_("Refresh before this, or sign in again; every refresh moves it on.")
    )
    device = DeviceSerializer(read_only=True)
    user = ProfileSerializer(read_only=True)


class RefreshedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    refresh_token = serializers.CharField(read_only=True)
    refresh_expires_at = serializers.DateTimeField(read_only=True)


# --- Self service ---------------------------------------------------------------------------------
class ProfileTextSerializer(StrictSerializer):
    """The JSON form of a profile edit (documentation); an avatar is sent as multipart."""

    nickname = serializers.CharField(max_length=NICKNAME_MAX, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=PHONE_MAX, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=EMAIL_MAX, allow_blank=True, required=False)


class ProfileUpdateSerializer(ProfileTextSerializer):
    avatar = serializers.ImageField(
        required=False, allow_null=True, help_text=_("PNG, JPEG, GIF or WebP, at most 2 MB; null removes it.")
    )


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)
    new_password_confirm = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False)


class PasswordChangedSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)
    token = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text=_(
            "Every other device of the account was signed out; the device the change was made from "
            "stays signed in with its token, so this is null (kept for older clients)."
        ),
    )


class DutySerializer(StrictSerializer):
    on_duty = serializers.BooleanField()
    assignment = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("One support-agent role to change; without it every support-agent role changes."),
    )


# --- Directory ------------------------------------------------------------------------------------
class DirectoryQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        max_length=SEARCH_MAX,
        trim_whitespace=True,
        help_text=_("Start of an account, name, nickname, pinyin or pinyin initials (张伟: zw, zhangwei)."),
        error_messages={"required": _("Enter a search term."), "blank": _("Enter a search term.")},
    )


# --- Account management ---------------------------------------------------------------------------
class AccountQuerySerializer(serializers.Serializer):
    unit = serializers.IntegerField(required=False, min_value=1, help_text=_("Accounts of this unit."))
    subtree = serializers.BooleanField(required=False, help_text=_("With unit: also the units below it."))
    user_type = serializers.ChoiceField(choices=UserType.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    search = serializers.CharField(
        max_length=SEARCH_MAX, required=False, help_text=_("Start of the account or the name.")
    )


class AccountCreateSerializer(StrictSerializer):
    # The model's validator here too, so the schema shows clients the pattern the server enforces.
    account = serializers.CharField(max_length=ACCOUNT_MAX, validators=[account_validator])
    name = serializers.CharField(max_length=NAME_MAX)
    unit = serializers.IntegerField(min_value=1, help_text=_("Id of the account's unit."))
    user_type = serializers.ChoiceField(choices=UserType.choices, default=UserType.STAFF)
    nickname = serializers.CharField(max_length=NICKNAME_MAX, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=PHONE_MAX, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=EMAIL_MAX, allow_blank=True, required=False)
    password = serializers.CharField(
        max_length=PASSWORD_MAX,
        trim_whitespace=False,
        required=False,
        help_text=_("The initial password; a random one is made when it is left out."),
    )


class AccountUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_MAX, required=False)
    nickname = serializers.CharField(max_length=NICKNAME_MAX, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=PHONE_MAX, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=EMAIL_MAX, allow_blank=True, required=False)
    user_type = serializers.ChoiceField(choices=UserType.choices, required=False)
    unit = serializers.IntegerField(min_value=1, required=False, help_text=_("Move the account to this unit."))


class AccountImportSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text=_(
            "A .csv (UTF-8 or GB18030) or .xlsx file, at most 5 MB. Header row: account (账号), name (姓名), "
            "unit_code (单位代码) and optionally user_type, nickname, phone, email, password."
        )
    )


class ImportCreatedSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    id = serializers.IntegerField()
    account = serializers.CharField()
    password = serializers.CharField()


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    messages = serializers.ListField(child=serializers.CharField())


class ImportResultSerializer(serializers.Serializer):
    created = ImportCreatedSerializer(many=True)
    errors = ImportErrorSerializer(
        many=True, help_text=_("Always empty: a file with a bad row answers 400 and creates nothing.")
    )


class RoleGrantSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)
    unit = serializers.IntegerField(min_value=1, help_text=_("The unit the role is held in."))
    handling_groups = serializers.ListField(
        child=serializers.SlugField(max_length=HandlingGroup._meta.get_field("code").max_length),
        required=False,
        max_length=20,
        help_text=_("Codes of the handling groups a support agent serves (hardware, software, ...)."),
    )
    on_duty = serializers.BooleanField(default=True)


class MembersQuerySerializer(serializers.Serializer):
    subtree = serializers.BooleanField(
        required=False, default=False, help_text=_("Include the members of every unit below this one.")
    )


# --- Roles: an agent's settings and the record of changes -----------------------------------------
HANDLING_GROUP_CODE_MAX = HandlingGroup._meta.get_field("code").max_length


class RoleUpdateSerializer(StrictSerializer):
    handling_groups = serializers.ListField(
        child=serializers.SlugField(max_length=HANDLING_GROUP_CODE_MAX),
        required=False,
        max_length=20,
        help_text=_("Codes of the handling groups the agent serves; the list replaces the current one."),
    )
    on_duty = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": [_("Give handling_groups or on_duty (or both).")]})
        return attrs


class RoleChangeActorSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="username", read_only=True)

    class Meta:
        model = User
        fields = ("id", "account", "name")
        read_only_fields = fields


class RoleStateSerializer(serializers.Serializer):
    """An agent's settings before or after a change; empty for roles that have none."""

    on_duty = serializers.BooleanField(required=False)
    handling_groups = serializers.ListField(child=serializers.CharField(), required=False)


class RoleChangeSerializer(serializers.ModelSerializer):
    actor = RoleChangeActorSerializer(read_only=True, allow_null=True)
    unit = UnitRefSerializer(read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    before = RoleStateSerializer(read_only=True, allow_null=True)
    after = RoleStateSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RoleChange
        fields = (
            "id",
            "created_at",
            "user",
            "actor",
            "unit",
            "role",
            "role_display",
            "action",
            "action_display",
            "before",
            "after",
        )
        read_only_fields = fields
