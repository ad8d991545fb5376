from notices import selectors, services


def test_publish_and_read(publish, people, tree):
    notice = publish()
    assert notice.state == "published"
    assert selectors.unread_count(user=people.teacher_a) == 1
    assert selectors.unread_count(user=people.tj_teacher) == 0
    services.notice_mark_read(user=people.teacher_a, notice=notice)
    assert selectors.unread_count(user=people.teacher_a) == 0
    written = services.compute_notice_stats(notice.pk)
    assert written
