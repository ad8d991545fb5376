"""The manual's support flow (2.4.1–2.4.4) in real browsers, one per person: a teacher asks, the county
agent accepts and answers, the reviewer approves, and the teacher, whose page stays open all along,
sees the answer arrive over the websocket, confirms and rates.

Live updates need the websocket, which pytest-django's live server (WSGI) does not speak, so these
tests run the platform's ASGI application (HTTP and /ws/) in Daphne, in a thread of the test process
(the ``asgi_server`` and ``open_browser`` fixtures of tests/browser/conftest.py).

Elements are found by ids and data attributes rather than by their (translated) labels.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from accounts.models import HandlingGroup, Role
from tests.factories import UserFactory, grant
from tickets.models import Ticket, TicketEvent, TicketState

# The server threads need committed data; serialized_rollback puts back the rows data migrations
# made (handling groups, SLA policies) for the transactional tests that follow.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

QUESTION_TITLE = "三年级二班投影仪无法开机"
ANSWER = "请检查投影仪电源线是否插紧，并长按电源键 5 秒重启。"
APPROVED = ANSWER + "如仍无法开机，请联系区电教馆上门维修。"


def sign_in(page, account: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(account)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    expect(page.locator(".welcome")).to_be_visible()


def live(page) -> None:
    """Wait for the page's websocket: events sent before it is open would not reach this page."""
    expect(page.locator("#ws-status")).to_have_attribute("data-state", "open")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 40), (30, 90, 168)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def county(tree):
    """海淀区's support centre: one agent on duty for every type, and an answer reviewer."""
    agent = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    grant(agent, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
    reviewer = UserFactory(username="hd_reviewer", name="李娜", unit=tree.haidian, user_type="staff")
    grant(reviewer, tree.haidian, Role.ANSWER_REVIEWER)
    return agent, reviewer


def test_ask_answer_review_and_receive_the_answer_live(open_browser, teacher, county, password, screenshot):
    agent_user, _reviewer_user = county

    # The agent's queue is open before the question exists: it must show up there by itself.
    agent = open_browser()
    sign_in(agent, "hd_agent", password)
    agent.locator(".mainnav a[href='/tickets/']").click()
    expect(agent.locator("#ticket-list")).to_have_attribute("data-view", "assigned")
    live(agent)

    # 问题咨询: the teacher asks, with a screenshot attached.
    teacher_page = open_browser()
    sign_in(teacher_page, "teacher_zw", password)
    teacher_page.locator(".mainnav a[href='/tickets/']").click()
    teacher_page.locator("#ask-question").click()
    teacher_page.locator("#id_title").fill(QUESTION_TITLE)
    teacher_page.locator("#id_type").select_option("hardware")
    teacher_page.locator("#id_priority").select_option("P2")
    teacher_page.locator("#id_description").fill("上课时投影仪指示灯常亮，但按电源键没有反应，也没有报警声音。")
    expect(teacher_page.locator("#id_contact_name")).to_have_value("张伟")
    teacher_page.locator("#id_contact_info").fill("13800138000")
    teacher_page.locator("#id_attachments").set_input_files(
        files=[{"name": "投影仪.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    screenshot(teacher_page, "10-ticket-ask")
    teacher_page.locator("#ticket-create-form button[type=submit]").click()
    expect(teacher_page).to_have_url(re.compile(r"/tickets/\d+/$"))
    ticket = Ticket.objects.get(title=QUESTION_TITLE)
    assert ticket.number.startswith("TS") and ticket.assignee == agent_user
    expect(teacher_page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.NEW)
    expect(teacher_page.locator("#ticket-main")).to_contain_text("投影仪.png")
    live(teacher_page)
    # From here on the teacher's page is never reloaded; a marker on the window would not survive a reload.
    teacher_page.evaluate("window.__sameDocument = true")
    screenshot(teacher_page, "11-ticket-asked")

    # 问题回答: the county agent finds it in the queue, accepts it and answers.
    row = agent.locator(f'#ticket-list tr[data-ticket-id="{ticket.pk}"]')
    expect(row).to_contain_text(QUESTION_TITLE)
    expect(row).to_contain_text("138****8000")
    screenshot(agent, "12-agent-queue")
    row.locator("a").first.click()
    agent.locator('form[data-action="accept"] button[type=submit]').click()
    expect(agent.locator("#ticket-state")).to_have_attribute("data-state", TicketState.IN_PROGRESS)
    # The teacher's open page follows along.
    expect(teacher_page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.IN_PROGRESS)

    agent.locator("#ticket-compose details.action-more summary").first.click()
    agent.locator("#id_note-body").fill("同型号上周也坏过一台，疑似电源板问题。")
    agent.locator('form[data-action="note"] button[type=submit]').click()
    expect(agent.locator("#ticket-conversation [data-internal]")).to_contain_text("疑似电源板问题")
    agent.locator("#id_answer-solution").fill(ANSWER)
    agent.locator('form[data-action="answer"] button[type=submit]').click()
    expect(agent.locator("#ticket-state")).to_have_attribute("data-state", TicketState.PENDING_REVIEW)
    live(agent)
    screenshot(agent, "13-agent-answered")
    # Not the asker's to read before review, and never the internal note.
    expect(teacher_page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.PENDING_REVIEW)
    expect(teacher_page.locator("#ticket-solution")).to_have_count(0)
    expect(teacher_page.locator("#ticket-main")).not_to_contain_text("疑似电源板问题")

    # 答案审核: the reviewer edits the answer a little and approves it.
    reviewer = open_browser()
    sign_in(reviewer, "hd_reviewer", password)
    reviewer.locator(".mainnav a[href='/tickets/']").click()
    expect(reviewer.locator("#ticket-list")).to_have_attribute("data-view", "review")
    reviewer.locator(f'#ticket-list tr[data-ticket-id="{ticket.pk}"] a').first.click()
    expect(reviewer.locator("#id_approve-solution")).to_have_value(ANSWER)
    reviewer.locator("#id_approve-solution").fill(APPROVED)
    screenshot(reviewer, "14-reviewer-approves")
    reviewer.locator('form[data-action="approve"] button[type=submit]').click()
    expect(reviewer.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED)

    # 接收答案: the approved answer appears on the teacher's page by itself.
    expect(teacher_page.locator("#ticket-solution")).to_contain_text("请联系区电教馆上门维修")
    expect(teacher_page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED)
    confirm = teacher_page.locator('form[data-action="confirm"] button[type=submit]')
    expect(confirm).to_be_visible()
    assert teacher_page.evaluate("window.__sameDocument") is True
    screenshot(teacher_page, "15-teacher-receives-answer")

    confirm.click()
    expect(teacher_page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.RESOLVED)
    rate = teacher_page.locator('form[data-action="rate"]')
    rate.locator('input[value="very_satisfied"]').check()
    rate.locator("textarea").fill("响应很快，问题已解决。")
    rate.locator("button[type=submit]").click()
    expect(teacher_page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.CLOSED)
    expect(teacher_page.locator("#ticket-rating")).to_have_attribute("data-rating", "very_satisfied")
    timeline = teacher_page.locator("#ticket-timeline li")
    expect(timeline.first).to_have_attribute("data-kind", "created")
    screenshot(teacher_page, "16-teacher-rated")

    ticket.refresh_from_db()
    assert (ticket.state, ticket.rating, ticket.solution) == (TicketState.CLOSED, "very_satisfied", APPROVED)
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    for kind in ("created", "accepted", "answer_submitted", "reviewed", "confirmed", "rated"):
        assert kind in kinds, kinds
    assert ticket.events.filter(kind=TicketEvent.Kind.REVIEWED, actor__username="hd_reviewer").exists()
    # The agent's page heard about the rating too.
    expect(agent.locator("#ticket-state")).to_have_attribute("data-state", TicketState.CLOSED)


def test_search_sla_follow_up_and_review_switch(open_browser, teacher, county, tree, password, screenshot):
    """答案查询 for the asker, the per-ticket SLA view, and the supervisor's side: a poor rating's
    follow-up, and the unit's switch for reviewing answers."""
    from tickets import services

    agent_user, reviewer_user = county
    supervisor = UserFactory(username="hd_super", name="王主任", unit=tree.haidian, user_type="staff")
    grant(supervisor, tree.haidian, Role.UNIT_ADMIN)
    printer = services.ticket_create(
        asker=teacher,
        title="打印机卡纸",
        description="办公室打印机频繁卡纸，清理后仍然出现。",
        type="hardware",
        priority="P3",
        contact_info="13800138000",
    )
    services.ticket_accept(ticket=printer, agent=agent_user)
    services.ticket_submit_answer(ticket=printer, agent=agent_user, solution="请更换搓纸轮。")
    services.ticket_approve(ticket=printer, reviewer=reviewer_user)
    services.ticket_confirm(ticket=printer, asker=teacher)
    services.ticket_create(
        asker=teacher,
        title="教务系统无法登录",
        description="输入密码后页面一直转圈。",
        type="software",
        priority="P1",
        contact_info="13800138000",
    )

    page = open_browser()
    sign_in(page, "teacher_zw", password)
    page.goto("/tickets/search/")
    page.locator("#id_q").fill("打印机")
    page.locator("#ticket-search-form button[type=submit]").click()
    results = page.locator("#search-results tr[data-ticket-id]")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("打印机卡纸")
    screenshot(page, "17-search-answers")

    results.locator("a").first.click()
    rate = page.locator('form[data-action="rate"]')
    rate.locator('input[value="dissatisfied"]').check()
    rate.locator("textarea").fill("等了两天才有人处理。")
    rate.locator("button[type=submit]").click()
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", TicketState.CLOSED)
    page.goto(f"/tickets/{printer.pk}/sla/")
    expect(page.locator('#ticket-sla li[data-target="first_response"]')).to_be_visible()
    expect(page.locator('#ticket-sla li[data-target="resolution"]')).to_have_class(re.compile("is-met"))
    screenshot(page, "18-ticket-sla")

    boss = open_browser()
    sign_in(boss, "hd_super", password)
    boss.goto("/tickets/follow-ups/")
    row = boss.locator(f'#follow-ups tr[data-follow-up-id="{printer.follow_up.pk}"]')
    expect(row).to_contain_text("等了两天才有人处理。")
    row.locator("textarea").fill("已电话回访，说明周末值班安排，老师表示理解。")
    screenshot(boss, "19-follow-ups")
    row.locator("button[type=submit]").click()
    expect(boss.locator(".messages .success")).to_be_visible()
    printer.follow_up.refresh_from_db()
    assert printer.follow_up.done_by == supervisor

    boss.goto("/tickets/settings/")
    switch = boss.locator(f'#review-settings tr[data-unit-id="{tree.haidian.pk}"]')
    expect(switch).to_have_attribute("data-review", "on")
    switch.locator("button[type=submit]").click()
    expect(boss.locator(f'#review-settings tr[data-unit-id="{tree.haidian.pk}"]')).to_have_attribute(
        "data-review", "off"
    )
    screenshot(boss, "20-review-settings")


# --- Every way an answer is published reaches the asker's open pages live (issue 18, item 1) -------------
DRAFT = "请检查投影仪电源线是否插紧。"
EDITED = "请检查投影仪电源线是否插紧；如仍无法开机，请联系区电教馆上门维修。"


def _asked_and_accepted(teacher, agent):
    from tickets import services

    ticket = services.ticket_create(
        asker=teacher,
        title=QUESTION_TITLE,
        description="指示灯常亮，按电源键没有反应。",
        type="hardware",
        priority="P2",
        contact_info="13800138000",
    )
    return services.ticket_accept(ticket=ticket, agent=agent)


def _asker_watching(open_browser, password, ticket):
    """The asker's list of questions and the ticket's page, each in a tab of its own, left open."""
    detail = open_browser()
    sign_in(detail, "teacher_zw", password)
    listing = detail.context.new_page()
    listing.goto("/tickets/?view=mine")
    detail.goto(f"/tickets/{ticket.pk}/")
    for page in (detail, listing):
        live(page)
        # Never reloaded from here on; a marker on the window would not survive a reload.
        page.evaluate("window.__sameDocument = true")
    return detail, listing


def _expect_published(detail, listing, ticket, text: str) -> None:
    # The yardstick: within 4 s, without a reload.
    expect(detail.locator("#ticket-solution")).to_contain_text(text, timeout=4000)
    expect(detail.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED, timeout=4000)
    expect(detail.locator('form[data-action="confirm"]')).to_be_visible(timeout=4000)
    row = listing.locator(f'#ticket-list tr[data-ticket-id="{ticket.pk}"]')
    expect(row).to_have_attribute("data-state", TicketState.ANSWERED, timeout=4000)
    for page in (detail, listing):
        assert page.evaluate("window.__sameDocument") is True


@pytest.mark.parametrize("path", ["approve", "approve_edited", "publish_without_review"])
def test_every_way_an_answer_is_published_reaches_the_askers_open_pages(
    open_browser, teacher, county, tree, password, path
):
    from tickets import services

    agent_user, _reviewer = county
    if path == "publish_without_review":
        supervisor = UserFactory(username="hd_super", unit=tree.haidian, user_type="staff")
        grant(supervisor, tree.haidian, Role.UNIT_ADMIN)
        services.support_settings_set(unit=tree.haidian, admin=supervisor, review_required=False)
    ticket = _asked_and_accepted(teacher, agent_user)
    if path != "publish_without_review":
        services.ticket_submit_answer(ticket=ticket, agent=agent_user, solution=DRAFT)
    detail, listing = _asker_watching(open_browser, password, ticket)
    if path != "publish_without_review":
        expect(detail.locator("#ticket-state")).to_have_attribute("data-state", TicketState.PENDING_REVIEW)
        expect(detail.locator("#ticket-solution")).to_have_count(0)

    # The change is made in the browser of the person who makes it, as in the support centre.
    if path == "publish_without_review":
        actor = open_browser()
        sign_in(actor, "hd_agent", password)
        actor.goto(f"/tickets/{ticket.pk}/")
        actor.locator("#id_answer-solution").fill(EDITED)
        actor.locator('form[data-action="answer"] button[type=submit]').click()
    else:
        actor = open_browser()
        sign_in(actor, "hd_reviewer", password)
        actor.goto(f"/tickets/{ticket.pk}/")
        expect(actor.locator("#id_approve-solution")).to_have_value(DRAFT)
        if path == "approve_edited":
            actor.locator("#id_approve-solution").fill(EDITED)
        actor.locator('form[data-action="approve"] button[type=submit]').click()
    expect(actor.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED)

    published = DRAFT if path == "approve" else EDITED
    _expect_published(detail, listing, ticket, published)
    ticket.refresh_from_db()
    assert ticket.solution == published


def test_an_approval_that_lands_while_the_askers_page_is_refreshing_still_shows(
    open_browser, teacher, county, password
):
    """The asker's page is fetching its answer part after the agent answered (the "in review" state)
    when the reviewer approves an edited answer. The refresh that was in flight brings the old state;
    the page must fetch again rather than stay there until a reload."""
    agent_user, _reviewer = county
    ticket = _asked_and_accepted(teacher, agent_user)
    detail, listing = _asker_watching(open_browser, password, ticket)
    detail.evaluate(
        "window.__heard = []; document.addEventListener('platform:event', e => window.__heard.push(e.detail))"
    )
    # Hold the answer part's response as a slow network would: fetched from the server at once (so
    # it says "in review"), delivered to the page only once the approval has been announced.
    held, holding = [], [True]

    def hold(route):
        if holding[0]:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    detail.route(lambda url: "part=main" in url, hold)

    agent = open_browser()
    sign_in(agent, "hd_agent", password)
    agent.goto(f"/tickets/{ticket.pk}/")
    agent.locator("#id_answer-solution").fill(DRAFT)
    agent.locator('form[data-action="answer"] button[type=submit]').click()
    expect(agent.locator("#ticket-state")).to_have_attribute("data-state", TicketState.PENDING_REVIEW)
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        detail.wait_for_timeout(50)
    assert held, "the asker's page did not start refreshing after the answer was submitted"

    reviewer = open_browser()
    sign_in(reviewer, "hd_reviewer", password)
    reviewer.goto(f"/tickets/{ticket.pk}/")
    reviewer.locator("#id_approve-solution").fill(EDITED)
    reviewer.locator('form[data-action="approve"] button[type=submit]').click()
    expect(reviewer.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED)
    detail.wait_for_function("window.__heard.some(e => e.payload && e.payload.state === 'answered')")

    holding[0] = False
    for route, response in held:
        route.fulfill(response=response)
    _expect_published(detail, listing, ticket, EDITED)
    expect(detail.locator("#ticket-main")).not_to_contain_text("待审核")


def test_an_approval_made_while_the_askers_socket_was_down_shows_once_it_is_back(
    open_browser, teacher, county, password
):
    """A websocket drops (a proxy restart, a laptop waking, a network change) and the approval is
    announced to nobody; when the page's socket is back (resuming from the last event id it saw),
    the page gets the approval."""
    from tickets import services

    agent_user, _reviewer = county
    ticket = _asked_and_accepted(teacher, agent_user)
    services.ticket_submit_answer(ticket=ticket, agent=agent_user, solution=DRAFT)
    sockets, down = [], [False]

    def through_the_network(ws):
        if down[0]:
            ws.close()  # still unreachable: the page tries again later
        else:
            ws.connect_to_server()
            sockets.append(ws)

    detail = open_browser()
    # The page's socket carries ?last_event_id=: match the path, whatever the query.
    detail.route_web_socket(re.compile(r"/ws/(\?.*)?$"), through_the_network)
    sign_in(detail, "teacher_zw", password)
    detail.goto(f"/tickets/{ticket.pk}/")
    live(detail)
    detail.evaluate("window.__sameDocument = true")
    expect(detail.locator("#ticket-state")).to_have_attribute("data-state", TicketState.PENDING_REVIEW)

    down[0] = True
    sockets[-1].close()
    expect(detail.locator("#ws-status")).to_have_attribute("data-state", "closed")
    reviewer = open_browser()
    sign_in(reviewer, "hd_reviewer", password)
    reviewer.goto(f"/tickets/{ticket.pk}/")
    reviewer.locator("#id_approve-solution").fill(EDITED)
    reviewer.locator('form[data-action="approve"] button[type=submit]').click()
    expect(reviewer.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED)
    # Announced while the asker's page had no socket: nothing arrived.
    expect(detail.locator("#ticket-state")).to_have_attribute("data-state", TicketState.PENDING_REVIEW)

    down[0] = False
    live(detail)  # the page's own reconnect (backoff of a few seconds)
    expect(detail.locator("#ticket-solution")).to_contain_text(EDITED, timeout=4000)
    expect(detail.locator("#ticket-state")).to_have_attribute("data-state", TicketState.ANSWERED)
    assert detail.evaluate("window.__sameDocument") is True


def test_the_workbench_tab_counts_follow_ticket_events(open_browser, teacher, county, password, screenshot):
    """The tab counts come back with every live refresh of the list (tickets/_nav.html out of band):
    a question filed elsewhere raises the agent's counts on the open workbench, without a reload."""
    agent = open_browser()
    sign_in(agent, "hd_agent", password)
    agent.goto("/tickets/?view=pool")
    pool = agent.locator('.ticket-tabs a[data-view="pool"] .tab-count')
    queue = agent.locator('.ticket-tabs a[data-view="assigned"] .tab-count')
    expect(pool).to_have_text("0")
    expect(queue).to_have_text("0")
    live(agent)

    asker = open_browser()
    sign_in(asker, "teacher_zw", password)
    asker.goto("/tickets/new/")
    asker.locator("#id_title").fill("机房电脑无法联网")
    asker.locator("#id_type").select_option("software")
    asker.locator("#id_description").fill("机房二十台电脑都连不上校园网。")
    asker.locator("#id_contact_info").fill("13800138000")
    asker.locator("#ticket-create-form button[type=submit]").click()
    expect(asker).to_have_url(re.compile(r"/tickets/\d+/$"))

    expect(pool).to_have_text("1")
    expect(queue).to_have_text("1")
    ticket = Ticket.objects.get(title="机房电脑无法联网")
    expect(agent.locator(f'#ticket-list tr[data-ticket-id="{ticket.pk}"]')).to_be_visible()
    screenshot(agent, "workbench-live-count")
