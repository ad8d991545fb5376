from accounts.selectors import directory_search


def test_teacher_found_by_pinyin_initials_and_full_pinyin(teacher, tianjin_teacher):
    for query in ("zw", "zhangwei", "ZhangWei", "张伟", "teacher_zw"):
        found = {t.user_id for t in directory_search(query=query)}
        assert found == {teacher.pk}, query
