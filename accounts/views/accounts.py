"""Portal pages for accounts: login/logout, profile, password, and account issuing for unit admins.

Views are thin: forms collect input, accounts.services does the writes and accounts.selectors the
scoped reads. Service errors become form errors; nothing a user types leads to a 500.
"""

from __future__ import annotations

import csv
import io
import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..forms import (
    LoginForm,
    ManagedUserFilterForm,
    ManagedUserForm,
    PasswordChangeForm,
    ProfileForm,
    UsersImportForm,
    apply_errors,
)
from ..models import User

MANAGE_PAGE_SIZE = 50
# Suggestions offered for the unit code fields; the field accepts any unit the admin manages.
UNIT_SUGGESTIONS = 200


def lockout_response(request, credentials, *args, **kwargs):
    """What django-axes answers when an account is locked on this client: portal page or API JSON."""
    message = _("Too many failed logins. This account is locked on this device for 15 minutes.")
    if request.path.startswith("/api/"):
        return HttpResponse(
            json.dumps({"detail": message, "code": "locked_out"}, ensure_ascii=False),
            status=429,
            content_type="application/json",
        )
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _no_store(response: HttpResponse) -> HttpResponse:
    # Pages that show a password must not be kept by the browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


# --- Login and logout ---------------------------------------------------------------------------
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    home = reverse(settings.LOGIN_REDIRECT_URL)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request, home))
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user)
        if form.cleaned_data["remember"]:
            request.session.set_expiry(int(settings.REMEMBER_ME_AGE.total_seconds()))
        else:
            request.session.set_expiry(0)
        return redirect(_safe_next(request, home))
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request, "")})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


# --- Self service -------------------------------------------------------------------------------
@login_required
def profile(request):
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in ("nickname", "phone", "email")}
            if form.cleaned_data["avatar"]:
                data["avatar"] = form.cleaned_data["avatar"]
            elif form.cleaned_data["remove_avatar"]:
                data["avatar"] = ""
            # A fresh copy: a failed update must not leave bad values on request.user for the page frame.
            target = User.objects.get(pk=user.pk)
            try:
                services.profile_update(user=target, data=data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Your profile has been saved."))
                return redirect("accounts:profile")
    else:
        form = ProfileForm(initial={"nickname": user.nickname, "phone": user.phone, "email": user.email})
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "roles": selectors.user_roles(user=user),
        },
    )


@login_required
def devices(request):
    """我的设备: the account's signed-in apps and browsers; any but this one can be signed out here."""
    current_key = request.session.session_key
    if request.method == "POST":
        try:
            device_id = int(request.POST.get("device", ""))
        except ValueError:
            device_id = 0
        current = selectors.device_for_session(session_key=current_key)
        if current is not None and current.pk == device_id:
            # Signing this browser out is the sign-out button's job (it also forgets the session).
            return redirect("accounts:devices")
        try:
            services.device_revoke(user=request.user, device_id=device_id)
        except Http404:
            messages.error(request, _("That device is no longer signed in."))
        else:
            messages.success(request, _("The device has been signed out."))
        return redirect("accounts:devices")
    rows = list(selectors.user_devices(user=request.user))
    for row in rows:
        row.current = bool(current_key) and row.session_key == current_key
    return render(request, "accounts/devices.html", {"devices": rows})


@sensitive_post_parameters("old_password", "new_password", "new_password_confirm")
@login_required
def password_change(request):
    # Forced (first sign-in, or after an administrator's reset): accounts.middleware sends every
    # page here, with the page that was asked for in ``next``.
    forced = request.user.password_change_required
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            passwords = {name: form.cleaned_data[name] for name in PasswordChangeForm.PASSWORD_FIELDS}
            this_browser = selectors.device_for_session(session_key=request.session.session_key)
            # Every other device (app or browser) is signed out and its sockets closed.
            services.password_change(user=request.user, keep_device=this_browser, **passwords)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            # Keep this session signed in (under a new key, which its device row follows).
            old_key = request.session.session_key
            update_session_auth_hash(request, request.user)
            services.browser_session_moved(old_key=old_key, session=request.session)
            messages.success(request, _("Your password has been changed."))
            return redirect(_safe_next(request, reverse("home" if forced else "accounts:profile")))
    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "forced": forced,
            "next": _safe_next(request, ""),
        },
    )


# --- Account management (unit administrators) ---------------------------------------------------
def unit_admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not selectors.is_unit_admin(actor=request.user):
            raise PermissionDenied(_("Only unit administrators manage accounts."))
        return view(request, *args, **kwargs)

    return wrapper


def _unit_suggestions(actor):
    return selectors.managed_units(actor=actor).order_by("path")[:UNIT_SUGGESTIONS]


def _keyset_page(queryset, *, after: str | None, before: str | None):
    """One page in id order, walking the primary key index instead of counting and offsetting."""
    size = MANAGE_PAGE_SIZE
    try:
        after_id = int(after) if after else None
        before_id = int(before) if before else None
    except ValueError:
        after_id = before_id = None
    if before_id is not None:
        rows = list(queryset.filter(pk__lt=before_id).order_by("-pk")[: size + 1])
        has_prev, has_next = len(rows) > size, True
        rows = rows[:size][::-1]
    else:
        if after_id is not None:
            queryset = queryset.filter(pk__gt=after_id)
        rows = list(queryset.order_by("pk")[: size + 1])
        has_prev, has_next = after_id is not None, len(rows) > size
        rows = rows[:size]
    return rows, has_prev, has_next


@unit_admin_required
def manage_list(request):
    actor = request.user
    form = ManagedUserFilterForm(request.GET or None)
    users = selectors.managed_users(actor=actor)
    if form.is_valid():
        data = form.cleaned_data
        unit, unit_code = None, data["unit_code"].strip()
        if unit_code:
            unit = selectors.managed_units(actor=actor).filter(code=unit_code).first()
            if unit is None:
                form.add_error("unit_code", _("No unit you manage has this code."))
        active = {"0": False, "1": True}.get(data["active"])
        users = (
            users.none()
            if unit_code and unit is None
            else selectors.managed_users_filtered(
                actor=actor,
                unit=unit,
                subtree=True,
                user_type=data["user_type"] or None,
                is_active=active,
                search=data["q"],
                search_names=False,
            )
        )
    elif form.is_bound:
        users = users.none()
    rows, has_prev, has_next = _keyset_page(users, after=request.GET.get("after"), before=request.GET.get("before"))
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("before", None)
    return render(
        request,
        "accounts/manage/list.html",
        {
            "form": form,
            "rows": rows,
            "prev_query": f"{query.urlencode()}&before={rows[0].pk}" if has_prev and rows else "",
            "next_query": f"{query.urlencode()}&after={rows[-1].pk}" if has_next and rows else "",
            "unit_suggestions": _unit_suggestions(actor),
        },
    )


@unit_admin_required
def manage_create(request):
    actor = request.user
    managed = selectors.managed_units(actor=actor)
    initial = {}
    if actor.unit_id and selectors.can_manage_unit(actor=actor, unit=actor.unit):
        initial["unit_code"] = actor.unit.code
    form = ManagedUserForm(request.POST or None, managed_units=managed, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issued = services.user_create(
                actor=actor,
                username=data["username"],
                name=data["name"],
                unit=form.unit,
                user_type=data["user_type"],
                nickname=data["nickname"],
                phone=data["phone"],
                email=data["email"],
            )
        except ValidationError as exc:
            apply_errors(form, exc, aliases={"unit": "unit_code"})
        else:
            return _no_store(
                render(
                    request,
                    "accounts/manage/issued.html",
                    {
                        "account": issued.user,
                        "password": issued.password,
                        "created": True,
                    },
                )
            )
    return render(
        request,
        "accounts/manage/form.html",
        {
            "form": form,
            "unit_suggestions": _unit_suggestions(actor),
            "creating": True,
        },
    )


def account_edit_form(actor, account, data=None) -> ManagedUserForm:
    initial = {
        "name": account.name,
        "nickname": account.nickname,
        "phone": account.phone,
        "email": account.email,
        "user_type": account.user_type,
        "unit_code": account.unit.code if account.unit else "",
    }
    managed = selectors.managed_units(actor=actor)
    return ManagedUserForm(data, managed_units=managed, editing=True, initial=initial)


@unit_admin_required
def manage_edit(request, pk: int):
    actor = request.user
    account = selectors.managed_user_get(actor=actor, user_id=pk)
    form = account_edit_form(actor, account, request.POST or None)
    names = {"account": account.username}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {name: data[name] for name in ("name", "nickname", "phone", "email", "user_type")}
        changes["unit"] = form.unit
        try:
            # A copy, so a rejected edit does not leave half-applied values on the object we render.
            fresh = selectors.managed_user_get(actor=actor, user_id=pk)
            services.user_update(actor=actor, user=fresh, data=changes)
        except ValidationError as exc:
            apply_errors(form, exc, aliases={"unit": "unit_code"})
        else:
            messages.success(request, _("The account %(account)s has been saved.") % names)
            return redirect("accounts:manage_edit", pk=account.pk)
    # Imported here: the page's roles part lives with the role views, which import this module.
    from .roles import edit_page

    return edit_page(request, account, form)


@require_POST
@unit_admin_required
def manage_set_active(request, pk: int):
    actor = request.user
    account = selectors.managed_user_get(actor=actor, user_id=pk)
    activate = request.POST.get("active") == "1"
    names = {"account": account.username}
    try:
        if activate:
            services.user_activate(actor=actor, user=account)
            messages.success(request, _("The account %(account)s is active again.") % names)
        else:
            services.user_deactivate(actor=actor, user=account)
            messages.success(request, _("The account %(account)s has been deactivated.") % names)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("accounts:manage_edit", pk=account.pk)


@require_POST
@unit_admin_required
def manage_reset_password(request, pk: int):
    actor = request.user
    account = selectors.managed_user_get(actor=actor, user_id=pk)
    try:
        new_password = services.user_reset_password(actor=actor, user=account)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("accounts:manage_edit", pk=account.pk)
    return _no_store(
        render(
            request,
            "accounts/manage/issued.html",
            {
                "account": account,
                "password": new_password,
                "created": False,
            },
        )
    )


@unit_admin_required
def manage_import(request):
    actor = request.user
    form = UsersImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > settings.ACCOUNT_IMPORT_MAX_BYTES:
                raise ValidationError({"file": [_("The file is larger than 5 MB.")]})
            result = services.users_import(actor=actor, filename=upload.name, content=upload.read())
        except ValidationError as exc:
            apply_errors(form, exc)
    response = render(request, "accounts/manage/import.html", {"form": form, "result": result})
    return _no_store(response) if result else response


@unit_admin_required
def manage_import_template(request):
    """An empty import file with the header row, in the user's language (both are accepted)."""
    if (get_language() or "").startswith("zh"):
        header = ["账号", "姓名", "单位代码", "用户类型", "昵称", "手机", "邮箱", "密码"]
    else:
        header = list(services.IMPORT_COLUMNS)
    buffer = io.StringIO()
    csv.writer(buffer).writerow(header)
    # The BOM makes spreadsheet programs open the Chinese header as UTF-8.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="accounts-template.csv"'
    return response
