"""The portal works in Chromium under its Content-Security-Policy: nothing is refused on the pages a
user goes through (scripts, styles, htmx requests, the websocket's connect-src), while a script the
page did not ship (an injected inline one) is refused.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_portal import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def record_policy_violations(page) -> list[str]:
    """Chromium reports each refusal on the console ("… violates the following Content Security
    Policy directive …") and as a securitypolicyviolation event; both are collected."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return refused


def test_portal_pages_run_under_the_policy(page, tree, teacher, password, live_server):
    refused = record_policy_violations(page)
    sign_in(page, "teacher_zw", password)
    expect(page.get_by_role("heading", name="您好，张伟")).to_be_visible()
    response = page.request.get(live_server.url + "/")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy

    # htmx: the directory's lazy tree and live search.
    page.goto("/org/")
    page.get_by_role("tab", name="单位组织").click()
    page.get_by_role("button", name="展开 中华人民共和国教育部").click()
    expect(page.locator("#org-tree")).to_contain_text("北京市")
    page.get_by_role("searchbox").fill("zw")
    expect(page.locator("#search-results")).to_contain_text("张伟")

    for path in (
        "/accounts/profile/",
        "/accounts/password/",
        "/accounts/notifications/",
        "/tickets/",
        "/tickets/new/",
        "/tickets/search/",
    ):
        page.goto(path)
        expect(page.locator(".topbar")).to_be_visible()
        # The stylesheet applied: the page is laid out by portal.css, not the browser's defaults.
        assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") != "inline"
    # The websocket was attempted under connect-src (live_server speaks no websocket; refusing it
    # would be a violation here).
    assert refused == [], refused

    # The policy is really enforced: an inline script the server did not send does not run.
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__injected = true';
        document.body.appendChild(s);
    }""")
    assert page.evaluate("window.__injected === undefined")
    assert any("script-src" in text for text in refused), refused


def test_back_office_and_api_docs_run_under_the_policy(page, tree, teacher, password, live_server):
    UserFactory(username="operator", is_staff=True, is_superuser=True)
    refused = record_policy_violations(page)
    page.goto("/admin/login/")
    page.locator("#id_username").fill("operator")
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    expect(page.locator("#site-name")).to_be_visible()
    # The change form with the unit autocomplete (select2) and the inline roles' two-list selector.
    page.goto(f"/admin/accounts/user/{teacher.pk}/change/")
    page.locator(".field-unit .select2-selection").click()
    page.locator(".select2-search__field").fill("海淀")
    expect(page.locator(".select2-results")).to_contain_text("海淀")
    page.keyboard.press("Escape")
    page.goto("/admin/accounts/roleassignment/add/")
    expect(page.locator("#id_handling_groups_from")).to_be_visible()
    page.goto("/admin/accounts/user/?is_active__exact=1")
    expect(page.locator("#result_list")).to_be_visible()
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible(timeout=15_000)
    assert refused == [], refused
