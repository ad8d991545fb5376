from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from orgtree.models import OrgUnit

account_validator = RegexValidator(
    r"^[A-Za-z0-9_.@-]{3,64}$",
    _("An account is 3 to 64 letters, digits or the characters _ . @ -"),
)
phone_validator = RegexValidator(r"^\+?[0-9-]{5,20}$", _("Enter a valid phone number."))


class UserType(models.TextChoices):
    STAFF = "staff", _("Staff")
    TEACHER = "teacher", _("Teacher")
    STUDENT = "student", _("Student")
    PARENT = "parent", _("Parent")


class User(AbstractUser):
    """A platform account. ``username`` is the login account (账号) issued by a superior unit."""

    username = models.CharField(
        _("account"),
        max_length=64,
        unique=True,
        validators=[account_validator],
        error_messages={"unique": _("An account with this name already exists.")},
    )
    name = models.CharField(_("name"), max_length=50)
    nickname = models.CharField(_("nickname"), max_length=50, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/%Y/%m/", blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[phone_validator])
    email = models.EmailField(_("email"), blank=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="members", null=True, blank=True
    )
    user_type = models.CharField(_("user type"), max_length=16, choices=UserType.choices, default=UserType.STAFF)
    # Derived from name by services: what the directory search matches besides account and nickname.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=200, blank=True, editable=False)
    name_initials = models.CharField(_("pinyin initials"), max_length=50, blank=True, editable=False)

    # Raised when the account is deactivated: every session signed in before then stops working
    # and stays dead after reactivation (part of the session auth hash, like the password).
    session_generation = models.PositiveIntegerField(default=0, editable=False)
    # Set when an administrator issues the account or resets its password (the administrator knows
    # that password, so it is good for one sign-in only); cleared when the owner changes it. Until
    # then the portal sends every page to the password page and the API answers 403
    # ``password_change_required`` (accounts.middleware, accounts.permissions).
    password_change_required = models.BooleanField(_("must change password"), default=False, editable=False)

    # AbstractUser's first/last name are not used: Chinese names are one field.
    first_name = None
    last_name = None

    REQUIRED_FIELDS = ["name"]
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [models.Index(fields=["unit", "id"], name="user_unit_id")]
        constraints = [
            # "ZhangWei" and "zhangwei" are one account to the people who read them out.
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_ci_unique",
                violation_error_message=_("An account with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.username})" if self.name else self.username

    def _get_session_auth_hash(self, secret=None):
        # Django's session hash covers the password; a generation > 0 also covers the deactivations
        # so far. Generation 0 keeps Django's own value, so existing sessions survive this change.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        key_salt = "accounts.User.session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    @property
    def display_name(self) -> str:
        return self.nickname or self.name or self.username

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.display_name


class UserSearchTerm(models.Model):
    """One lower-case term a user is found by (account, name, nickname, pinyin, initials).

    Prefix search over this table walks one index in term order and stops at the page size, so
    its cost does not grow with the number of users.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "term"], name="user_search_term_unique")]
        indexes = [
            models.Index(fields=["term", "user"], name="search_term_order"),
            models.Index(fields=["term"], name="search_term_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.term


class HandlingGroup(models.Model):
    """A kind of support work an agent takes on: hardware, software, training, complaints."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("handling group")
        verbose_name_plural = _("handling groups")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    UNIT_ADMIN = "unit_admin", _("Unit administrator")
    SUPPORT_AGENT = "support_agent", _("Support agent")
    ANSWER_REVIEWER = "answer_reviewer", _("Answer reviewer")
    NOTICE_PUBLISHER = "notice_publisher", _("Notice publisher")
    NOTICE_REVIEWER = "notice_reviewer", _("Notice reviewer")


class RoleAssignment(models.Model):
    """A role a user holds in one unit. Unit administrators' power extends to the unit's subtree."""

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="roles")
    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    # Meaningful for support agents only.
    handling_groups = models.ManyToManyField(HandlingGroup, verbose_name=_("handling groups"), blank=True)
    on_duty = models.BooleanField(_("on duty"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [models.UniqueConstraint(fields=["user", "unit", "role"], name="role_assignment_unique")]
        indexes = [models.Index(fields=["unit", "role"], name="role_unit_role")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.unit.name}"


class RoleChangeAction(models.TextChoices):
    GRANTED = "granted", _("Appointed")
    REVOKED = "revoked", _("Removed")
    UPDATED = "updated", _("Changed")


class RoleChange(models.Model):
    """One change to someone's role, kept for the record (who appointed whom, when, and what changed).

    Written by accounts.services in the transaction that makes the change, so a change without its
    record (or a record of a change that was rolled back) cannot exist. Role, unit and the holder are
    copied rather than pointing at the assignment, which a removal deletes. ``before`` and ``after``
    hold ``{"on_duty": bool, "handling_groups": [codes]}``; ``before`` is null for an appointment and
    ``after`` null for a removal.
    """

    user = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="role_changes")
    # Kept when the acting account is deleted: the record outlives it.
    actor = models.ForeignKey(
        User, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    action = models.CharField(_("action"), max_length=16, choices=RoleChangeAction.choices)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role change")
        verbose_name_plural = _("role changes")
        # An account's page and the API read its newest changes first: one index range.
        indexes = [models.Index(fields=["user", "-id"], name="role_change_user_id")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_action_display()} {self.get_role_display()} @ {self.unit_id}"


class Notification(models.Model):
    """One entry of a user's notification centre (the bell): what happened, to which ticket, notice or
    conversation, with the portal link. Written by ``accounts.services.notifications.notify`` in the
    transaction of the change it reports; pushed on the socket after commit."""

    user = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="notifications")
    # A kind registered in accounts.notifications (ticket.assigned, ticket.info_requested …).
    kind = models.CharField(_("kind"), max_length=48)
    title = models.CharField(_("title"), max_length=200)
    body = models.CharField(_("body"), max_length=500, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    # What it is about, for clients that open it natively: "ticket", "notice" or "conversation".
    subject_type = models.CharField(_("subject type"), max_length=24, blank=True)
    subject_id = models.BigIntegerField(_("subject id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The list, newest first, and the unread count: one index range each.
            models.Index(fields=["user", "-id"], name="notification_user_id"),
            models.Index(fields=["user"], name="notification_user_unread", condition=models.Q(read_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class NotificationPreference(models.Model):
    """Which channels besides the portal reach a user for one kind (absent row: the kind's defaults)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(_("kind"), max_length=48)
    email = models.BooleanField(_("e-mail"), default=False)
    push = models.BooleanField(_("push to phone"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_user_kind")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind}"


class PushPlatform(models.TextChoices):
    ANDROID = "android", "Android"
    IOS = "ios", "iOS"
    HARMONY = "harmony", "HarmonyOS"
    WEB = "web", "Web Push"


class PushDevice(models.Model):
    """A phone (or browser) registered for offline notifications through a push provider."""

    user = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="push_devices")
    platform = models.CharField(_("platform"), max_length=16, choices=PushPlatform.choices)
    token = models.CharField(_("push token"), max_length=512)
    name = models.CharField(_("device name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("push device")
        verbose_name_plural = _("push devices")
        # A provider token belongs to one installation: registering it again moves it to the new user.
        constraints = [models.UniqueConstraint(fields=["platform", "token"], name="push_device_platform_token")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.get_platform_display()} {self.name}"


class PushMessage(models.Model):
    """The outbox a push provider backend consumes (accounts.push): one row per device and
    notification, sent by a Celery task, retried until ``sent_at`` is set or attempts run out."""

    device = models.ForeignKey(PushDevice, on_delete=models.CASCADE, related_name="messages")
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+", null=True)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("push message")
        verbose_name_plural = _("push messages")
        indexes = [models.Index(fields=["id"], name="push_message_unsent", condition=models.Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.device_id}: {self.title}"


class DeviceKind(models.TextChoices):
    APP = "app", _("App or script")
    BROWSER = "browser", _("Browser")


class DeviceSession(models.Model):
    """One signed-in device of an account: a phone or script holding its own API tokens, or a
    browser's portal session. Each sign-in is a row, so signing out, revoking or expiring one device
    leaves the others signed in, and the owner sees and revokes them all (我的设备).

    An app's access and refresh tokens are stored as SHA-256 digests only: they are 256-bit random
    values, so a digest needs no salt, and a leaked table opens nothing. A browser row keeps the key
    of its Django session (the session table holds the same key) so that revoking it ends the session.
    """

    user = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="device_sessions")
    kind = models.CharField(_("kind"), max_length=8, choices=DeviceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    # NULL, not "", for the other kind's credential: unique allows many NULLs but one "".
    access_digest = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    refresh_digest = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    session_key = models.CharField(max_length=40, unique=True, null=True, editable=False)  # noqa: DJ001
    created_at = models.DateTimeField(_("signed in at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now)
    # An app's access token is refused after access_expires_at (401 token_expired) and the device
    # signs out by itself at expires_at (its refresh token's end, or the browser session's expiry).
    access_expires_at = models.DateTimeField(_("access expires at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("signed-in device")
        verbose_name_plural = _("signed-in devices")
        indexes = [models.Index(fields=["user", "-last_used_at"], name="device_session_user_used")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="app", access_digest__isnull=False, refresh_digest__isnull=False)
                    | models.Q(kind="browser", session_key__isnull=False)
                ),
                name="device_session_kind_credential",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.name}"
