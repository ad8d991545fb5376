"""How the knowledge base reads Chinese: normalise the wording, cut it into terms, highlight matches.

The ticket search (helpdesk/core/search.py) needs every bigram of the query in a row: right for a
ticket number or a phrase an agent remembers, wrong for a question typed in one's own words.
``打印机连不上网络`` and ``网络打印机无法连接的处理方法`` share 打印/印机/网络 but not 连不/不上, and
``投影仪没有信号`` shares no bigram with ``投影机显示无信号`` beyond 投影 and 信号. So the knowledge base
ranks instead of filtering (BM25 over the terms, knowledge/search.py) and brings both sides to the
same words first:

1. **Synonyms** of the domain (``SYNONYMS``): every variant is rewritten to its group's canonical form,
   in the indexed text and in the query alike (投影仪 → 投影机, 连不上 → 无法连接, 电脑 → 计算机,
   没有信号 → 无信号). Longest variant first, so 连接不上 is not read as 连接 + 不上.
2. **Related words** (``RELATED``) widen a query only, at a lower weight: 网线 also looks for 网络 and
   无线网络, since a teacher's 网线 problem is often written up as a network problem, but an article
   about network cables should still rank first for it.
3. **Terms**: overlapping character pairs of each Chinese run (a single-character run is its own
   term), other scripts as whole lower-case words. Pairs holding a particle (的, 了, 吗 …) and the
   fillers of a question (怎么, 请问, 一下 …) are dropped: they match everywhere and mean nothing.

The index stores the terms of the normalised text; highlighting maps the normalised text back to the
original characters (``normalise`` keeps, for each normalised character, the span it came from), so a
hit on 投影机 marks the 投影仪 a reader wrote.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")

# Groups of words that mean the same thing in a school's IT support; the first is what the index
# keeps. Written as teachers and agents write (typos such as 登陆 included).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("投影机", "投影仪", "投影设备", "投影器"),
    ("计算机", "电脑", "微机", "台式机", "台式电脑"),
    # A room, not the device: "计算机教室的录播系统" is no answer to a question about one's computer.
    ("机房", "计算机教室", "电脑教室", "微机室", "微机教室", "计算机房", "电脑室", "计算机机房", "电脑机房"),
    ("笔记本", "笔记本电脑", "手提电脑"),
    ("无法连接", "连不上", "连接不上", "不能连接", "连接失败", "接不上", "无法连上", "连不了"),
    ("无法上网", "上不了网", "不能上网", "上不去网", "断网", "没网", "没有网", "网断了"),
    ("无线网络", "wifi", "无线网", "wi fi", "wi-fi", "wlan"),
    ("无信号", "没有信号", "没信号", "无输入信号", "信号丢失"),
    ("无声音", "没有声音", "没声音", "没声", "无声", "声音出不来", "不出声", "没有声"),
    ("无法开机", "开不了机", "开不开机", "不能开机", "开机没反应", "不开机", "无法启动", "启动不了"),
    ("无法登录", "登不上", "登录不了", "登录不上", "不能登录", "登不进去", "进不去", "登陆不上", "登陆不了"),
    ("登录", "登陆"),
    ("账号", "帐号", "账户", "帐户", "用户名"),
    ("密码", "口令"),
    ("忘记密码", "忘了密码", "密码忘了", "密码忘记了", "密码忘记", "不记得密码"),
    ("卡顿", "很卡", "卡死", "卡住", "太卡", "反应慢", "运行慢", "特别慢", "很慢"),
    ("网速慢", "网很慢", "网络很慢", "网速很慢", "网速特别慢", "网络慢"),
    ("显示器", "显示屏", "屏幕"),
    ("音箱", "音响", "喇叭", "扬声器"),
    ("麦克风", "话筒", "麦克"),
    ("摄像头", "摄像机", "镜头"),
    ("电子白板", "交互白板", "智能白板", "白板"),
    ("一体机", "触控一体机", "教学一体机", "触摸一体机"),
    ("优盘", "u盘", "移动硬盘"),
    ("硬盘", "磁盘"),
    ("报错", "提示错误", "出错", "错误提示", "弹出错误", "报告错误"),
    ("打不开", "无法打开", "不能打开", "打开不了", "点不开", "开不了"),
    ("安装", "装不上", "无法安装", "安装不了", "装不了"),
    ("升级", "更新"),
    # A screen that shows old content "does not update": stale data, not a software update.
    ("未同步", "不更新", "没更新", "没有更新", "不刷新", "不同步", "没同步"),
    ("杀毒", "防病毒", "查毒"),
    ("病毒", "木马", "勒索软件"),
    ("卡纸", "夹纸", "纸卡住", "卡住纸"),
    ("打印机", "打印设备", "复印机", "一体打印机"),
    ("黑屏", "屏幕不亮", "显示器不亮", "屏幕黑了", "黑了屏"),
    ("花屏", "画面闪烁", "屏幕闪", "闪屏", "画面乱码"),
    ("偏色", "发黄", "颜色不对", "颜色失真", "发绿", "发紫"),
    ("触控失灵", "触摸失灵", "点不动", "触摸没反应", "触控没反应", "触屏失灵", "触摸不准", "触控不准"),
    ("课件", "ppt", "幻灯片", "演示文稿"),
    ("成绩", "分数"),
    ("课表", "排课"),
    ("直播", "网课", "在线课堂", "线上课"),
    ("录播", "录课", "录制课程"),
    ("校园网", "学校网络", "学校的网"),
    ("交换机", "交换器"),
    ("路由器", "路由"),
    ("停电", "断电", "没电"),
    ("蓝屏", "蓝色屏幕"),
    ("重置", "找回", "初始化"),
    ("邮箱", "电子邮件", "邮件"),
    ("智慧教育平台", "国家中小学智慧教育平台", "智慧中小学", "国家教育平台"),
    ("身份证", "身份证号"),
    ("学籍", "学籍系统", "学籍平台"),
)

# Words close enough that a query for one should also find the others, but not the same thing.
RELATED: tuple[tuple[str, ...], ...] = (
    ("网络", "网线", "无线网络", "校园网"),
    ("无法上网", "无法连接", "网速慢"),
    ("投影机", "一体机", "电子白板"),
    ("黑屏", "无信号", "无法开机"),
    ("无声音", "音箱", "麦克风"),
    ("卡顿", "网速慢"),
    ("无法登录", "密码", "账号"),
    ("忘记密码", "重置"),
    ("打不开", "报错"),
)
RELATED_WEIGHT = 0.5

# Question fillers: words every question has and no article is about.
STOP_TERMS = frozenset(
    [
        "怎么",
        "怎样",
        "如何",
        "什么",
        "为什",
        "请问",
        "一下",
        "麻烦",
        "帮忙",
        "老师",
        "我们",
        "我的",
        "你们",
        "是不",
        "能不",
        "可不",
        "不是",
        "是否",
        "应该",
        "需要",
        "可以",
        "情况",
        "现在",
        "今天",
        "昨天",
        "刚才",
        "突然",
        "一直",
        "总是",
        "出现",
        "这个",
        "那个",
        "还是",
        "有没",
        "没法",
        "有时",
        "问题",
        "处理",
        "方法",
        "解决",
        "办法",
        "排查",
        # The setting of nearly every question, not what it is about.
        "上课",
        "学校",
        "正在",
        "时候",
        "一会",
    ]
)
# A pair holding one of these is a grammatical particle's, not a word's.
PARTICLES = frozenset("的了吗呢吧啊呀么")
MAX_QUERY_TERMS = 40


def _build_rewriter() -> tuple[re.Pattern[str], dict[str, str]]:
    canonical: dict[str, str] = {}
    for group in SYNONYMS:
        for word in group:
            canonical.setdefault(word, group[0])
    # Longest first: the regex alternation takes the first alternative that matches.
    words = sorted(canonical, key=len, reverse=True)
    return re.compile("|".join(re.escape(word) for word in words)), canonical


_REWRITE, _CANONICAL = _build_rewriter()
_SPACES = re.compile(r"[\s\-_]+")


@dataclass(frozen=True)
class Normalised:
    """The rewritten text and, for each of its characters, the span of the original it stands for."""

    text: str
    spans: tuple[tuple[int, int], ...]


def normalise(text: str) -> Normalised:
    """Lower case, synonyms rewritten to their canonical form set apart by spaces; every character
    of the result remembers the span of ``text`` it came from (empty for the added spaces)."""
    # Character by character: a few letters lower to two characters, which would shift the spans.
    lowered = "".join(char if len(char.lower()) != 1 else char.lower() for char in text or "")
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _REWRITE.finditer(lowered):
        for index in range(position, match.start()):
            out.append(lowered[index])
            spans.append((index, index + 1))
        replacement = _CANONICAL[match.group(0)]
        # Spaces around the word: a pair across its edge (机无 in 打印机无法连接) belongs to no word.
        out.extend(f" {replacement} ")
        spans.extend([(match.start(), match.start())] + [(match.start(), match.end())] * len(replacement))
        spans.append((match.end(), match.end()))
        position = match.end()
    for index in range(position, len(lowered)):
        out.append(lowered[index])
        spans.append((index, index + 1))
    return Normalised("".join(out), tuple(spans))


def _terms_of_normalised(text: str) -> list[str]:
    terms: list[str] = []
    for piece in _PIECE.findall(_SPACES.sub(" ", text)):
        if _CJK_RUN.fullmatch(piece):
            if len(piece) == 1:
                if piece not in PARTICLES:
                    terms.append(piece)
                continue
            for index in range(len(piece) - 1):
                pair = piece[index : index + 2]
                if pair[0] in PARTICLES or pair[1] in PARTICLES or pair in STOP_TERMS:
                    continue
                terms.append(pair)
        else:
            terms.append(piece[:32])
    return terms


def document_terms(text: str) -> Counter[str]:
    """Term → frequency in one field of an article (its title, or its body)."""
    return Counter(_terms_of_normalised(normalise(text).text))


def query_terms(query: str) -> dict[str, float]:
    """Term → weight for a query: its own terms at 1, those of related words at ``RELATED_WEIGHT``.
    At most ``MAX_QUERY_TERMS`` (a long question pasted as a query still costs a bounded search)."""
    normal = normalise(query).text
    weights: dict[str, float] = {}
    for term in _terms_of_normalised(normal):
        weights.setdefault(term, 1.0)
    for group in RELATED:
        if any(word in normal for word in group):
            for word in group:
                for term in _terms_of_normalised(word):
                    weights.setdefault(term, RELATED_WEIGHT)
    return dict(list(weights.items())[:MAX_QUERY_TERMS])


def highlight(text: str, terms: set[str] | frozenset[str]) -> str:
    """``text`` HTML-escaped, with every stretch where a term matches wrapped in ``<mark>``."""
    marked = _marked_positions(text, terms)
    return _render(text, marked, 0, len(text))


def snippet(text: str, terms: set[str] | frozenset[str], width: int = 90) -> str:
    """The ``width`` characters of ``text`` holding the most matched characters, escaped and marked,
    with … where it was cut."""
    marked = _marked_positions(text, terms)
    if len(text) <= width:
        return _render(text, marked, 0, len(text))
    flags = [1 if index in marked else 0 for index in range(len(text))]
    window = sum(flags[:width])
    best_start, best = 0, window
    for start in range(1, len(text) - width + 1):
        window += flags[start + width - 1] - flags[start - 1]
        if window > best:
            best_start, best = start, window
    # Start a few characters before the first match so it reads in context.
    first = next((index for index in range(best_start, best_start + width) if flags[index]), best_start)
    start = max(0, first - 12)
    end = min(len(text), start + width)
    return ("…" if start else "") + _render(text, marked, start, end) + ("…" if end < len(text) else "")


def _marked_positions(text: str, terms: set[str] | frozenset[str]) -> set[int]:
    if not terms or not text:
        return set()
    normal = normalise(text)
    marked: set[int] = set()
    for term in terms:
        start = normal.text.find(term)
        while start != -1:
            for index in range(start, start + len(term)):
                span_start, span_end = normal.spans[index]
                marked.update(range(span_start, span_end))
            start = normal.text.find(term, start + 1)
    return marked


def _render(text: str, marked: set[int], start: int, end: int) -> str:
    out: list[str] = []
    index = start
    while index < end:
        inside = index in marked
        stop = index
        while stop < end and (stop in marked) == inside:
            stop += 1
        chunk = html.escape(text[index:stop])
        out.append(f"<mark>{chunk}</mark>" if inside else chunk)
        index = stop
    return "".join(out)
