"""Generate published knowledge articles for demos and the search benchmark.

    manage.py generate_articles --articles 100000

Each article is a case as a county's support centre writes one up: a title naming a place and a fault
of a device or system ("三楼录播教室摄像头画面卡顿的处理"), the problem as a teacher reported it, three to
five troubleshooting steps and a solution, drawn from the faults' own lists, so the words a search
looks for repeat across articles as they do in a real knowledge base (投影机 in thousands of them).
Articles are national (scope: everyone) unless ``--scope-share`` puts that share under a random
county of the tree; the owner is the root unit, the author the first superuser (``--author``).

Rows go in with bulk_create (version 1 each, HTML rendered as plain paragraphs, not through the
Markdown renderer: 100,000 renders would take minutes and the search does not read the HTML).
The search index is not touched: run ``rebuild_knowledge_index`` afterwards (the benchmark times it).

Duplicates. A knowledge base with review refuses an article on a fault it already covers (the
editor shows 可能重复, ``knowledge.duplicates``). The generator does the same for the knowledge base
it finds: a topic (device and fault) whose sample text is a probable duplicate of a published article
already there (not one the generator wrote) is left out, and named on the output. Its own articles
do repeat each topic in many places ("保安室投影机无法开机", "图书馆投影机无法开机"): that mass of similar
text is what the search has to rank through. ``--allow-duplicates`` skips the check. The check reads
the search index as it stands: rebuild it over the existing articles first.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape
from tqdm import tqdm

from accounts.models import User
from helpdesk.core.commands import non_negative_int
from knowledge.duplicates import similar_articles
from knowledge.models import Article, ArticleState, ArticleVersion
from orgtree.models import OrgLevel, OrgUnit

PLACES = (
    "多媒体教室", "录播教室", "计算机教室", "物理实验室", "化学实验室", "音乐教室", "美术教室", "图书馆",
    "阅览室", "会议室", "报告厅", "教师办公室", "校长室", "教务处", "财务室", "德育处", "心理咨询室", "广播室",
    "保安室", "食堂", "体育馆", "学生宿舍", "初一年级", "初三年级", "高二年级", "小学三年级", "幼儿园",
    "教学楼三楼", "实验楼", "行政楼", "综合楼二楼", "分校区", "村小教学点", "中心校",
)  # fmt: skip
SUFFIXES = ("的处理", "的处理方法", "的排查", "的解决办法", "怎么办", "的原因和处理", "的应急处理", "", "的排查步骤")
REPORTERS = ("老师反映", "班主任报告", "教务处反映", "值班老师发现", "学生反映", "管理员巡检时发现", "校长反映")
TIMES = ("今天上午第二节课", "开学第一周", "期中考试前", "昨天下午", "每天早上", "连续三天", "上公开课时", "下雨后")
CLOSINGS = (
    "处理后已恢复正常，建议学校定期检查。",
    "如仍不能解决，请在平台提交问题咨询，由县电教中心上门处理。",
    "已在全县同类设备上排查，未发现同样问题。",
    "请各校信息管理员转告使用老师。",
    "",
)

# (device or system, faults): each fault is (what fails, symptoms, steps, solutions).
FAULTS: tuple[tuple[str, tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]], ...] = (
    ("投影机", (
        ("无法开机", ("按电源键没有反应", "电源灯红灯闪烁", "开机几秒后自动关机"),
         ("检查电源线和插座", "观察温度指示灯", "清理进风口滤网", "检查灯泡使用时间"),
         ("更换电源适配器后恢复", "清洁滤网并冷却后正常开机", "更换灯泡并重置灯泡计时")),
        ("画面模糊", ("投出来的字看不清", "画面边缘发虚", "梯形变形"),
         ("调节对焦环", "检查镜头是否有灰尘", "调整梯形校正"),
         ("清洁镜头并重新对焦", "调整吊架角度并做梯形校正")),
        ("无信号", ("幕布上显示无信号", "电脑画面投不上去", "提示 No Signal"),
         ("检查 HDMI 线两端", "切换信号源", "在电脑上按 Win+P 选择复制"),
         ("切换到正确的输入口", "更换损坏的 HDMI 线", "更新显卡驱动")),
        ("偏色", ("画面发黄", "画面发紫", "颜色不正"),
         ("恢复图像出厂设置", "检查 VGA 接头弯针", "查看灯泡时间"),
         ("更换 VGA 线", "更换老化灯泡", "改用 HDMI 连接")),
        ("风扇噪音大", ("运行时嗡嗡响", "声音越来越大"),
         ("清理灰尘", "检查风扇轴承"), ("清灰后噪音消失", "更换散热风扇")),
    )),
    ("电子白板", (
        ("触控失灵", ("点不动", "写字没有笔迹", "触摸没反应"),
         ("检查触控框 USB 线", "重装触控驱动", "重启白板软件"), ("重新安装驱动并校准", "更换 USB 线")),
        ("定位不准", ("点击位置偏移", "笔迹和笔尖对不上"),
         ("运行定位校准", "检查分辨率设置"), ("九点校准后恢复", "把分辨率改为推荐值后校准")),
    )),
    ("教学一体机", (
        ("没有声音", ("播放视频没声音", "音量调到最大也听不到"),
         ("检查静音", "检查默认播放设备", "检查功放电源"), ("把默认设备改为内置扬声器", "打开功放电源")),
        ("触摸不灵敏", ("要用力按才有反应", "边缘点不到"),
         ("清洁屏幕边框", "检查触摸框遮挡"), ("清除边框上的粉笔灰", "重新校准触摸")),
        ("黑屏", ("开机后屏幕不亮", "有声音没画面"),
         ("检查 OPS 电脑是否插紧", "切换信号通道"), ("重新插紧 OPS 模块", "更换背光板")),
        ("系统无法切换", ("安卓和 Windows 切换不了", "一直停在安卓界面"),
         ("检查 OPS 电源", "在设置中切换默认通道"), ("把开机通道设为 PC", "OPS 重新安装系统")),
    )),
    ("计算机", (
        ("蓝屏", ("开机后蓝屏", "运行中蓝屏重启", "提示错误代码"),
         ("记录错误代码", "拔插内存条", "用还原卡恢复"), ("清理内存金手指", "恢复系统")),
        ("运行缓慢", ("开机要好几分钟", "打开文件很卡", "经常卡死"),
         ("查看任务管理器", "禁用启动项", "检查硬盘空间"), ("更换固态硬盘", "清理启动项和 C 盘")),
        ("无法开机", ("按电源键没反应", "风扇不转"),
         ("检查插线板", "检查主机电源开关", "测试电源"), ("打开插线板开关", "更换电源")),
        ("自动重启", ("用一会就重启", "开机后反复重启"),
         ("检查 CPU 温度", "清理散热器灰尘"), ("更换散热硅脂", "清理灰尘后恢复")),
        ("中病毒", ("弹出很多广告", "文件打不开", "浏览器主页被改"),
         ("断开网络", "全盘查杀", "检查启动项"), ("杀毒后恢复", "重装系统并安装统一杀毒软件")),
    )),
    ("打印机", (
        ("卡纸", ("打印几张就卡纸", "取出纸后还报错"),
         ("取出卡纸", "检查搓纸轮", "更换纸张"), ("更换搓纸轮", "换用干燥纸张")),
        ("脱机", ("显示脱机", "打印任务一直排队"),
         ("检查网线", "查看打印机 IP", "重新添加打印机"), ("设置固定 IP", "重启打印服务")),
        ("打印有黑线", ("打出来有竖条黑线", "字迹发灰"),
         ("清洁硒鼓", "检查墨粉"), ("更换硒鼓", "更换墨粉盒")),
        ("无法共享", ("其他电脑找不到共享打印机", "提示拒绝访问"),
         ("检查共享设置", "开启来宾账户", "检查防火墙"), ("重新设置共享", "安装补丁后恢复")),
    )),
    ("校园网", (
        ("断网", ("整层楼上不了网", "交换机灯不亮"),
         ("检查交换机电源", "检查光纤收发器", "联系运营商"), ("更换交换机电源", "重启收发器")),
        ("网速慢", ("视频一直缓冲", "网页打开很慢"),
         ("测速", "查看带宽占用", "检查中毒电脑"), ("做流量控制", "扩容出口带宽")),
        ("经常掉线", ("隔一会就断一下", "认证后很快下线"),
         ("检查网线水晶头", "查看认证日志"), ("重新压接水晶头", "调整认证超时时间")),
    )),
    ("无线网络", (
        ("连接失败", ("搜得到信号连不上", "一直获取 IP 地址"),
         ("忘记网络后重连", "确认账号认证", "查看在线设备数"), ("下线旧设备后重连", "重启无线 AP")),
        ("信号弱", ("教室后排没有信号", "信号时有时无"),
         ("检查 AP 位置", "查看信道干扰"), ("增加 AP", "调整信道")),
    )),
    ("交换机", (
        ("端口不通", ("插上网线没反应", "指示灯不亮"),
         ("换端口测试", "检查端口配置"), ("启用被关闭的端口", "更换交换机")),
        ("环路广播风暴", ("全楼网络瘫痪", "交换机指示灯狂闪"),
         ("逐个拔线排查", "开启环路检测"), ("拔掉形成环路的网线", "开启生成树协议")),
    )),
    ("录播系统", (
        ("录制没有画面", ("教师机位黑屏", "录制文件只有声音"),
         ("检查摄像头供电", "重新添加摄像头"), ("更换 PoE 端口", "重新配置摄像头 IP")),
        ("直播卡顿", ("观看端一卡一卡", "声音画面不同步"),
         ("检查上行带宽", "降低码率"), ("把码率降到 2M", "使用有线网络")),
        ("跟踪失效", ("镜头不跟着老师走", "画面乱切"),
         ("检查跟踪摄像机", "重新标定讲台区域"), ("重新标定后恢复", "升级跟踪程序")),
    )),
    ("摄像头", (
        ("画面离线", ("监控平台显示离线", "回放查不到录像"),
         ("检查供电", "ping 摄像头地址", "检查录像机硬盘"), ("更换 PoE 交换机", "更换录像机硬盘")),
        ("夜间画面发白", ("晚上画面一片白", "红外灯反光"),
         ("检查护罩", "调整角度"), ("清洁护罩", "关闭红外补光")),
    )),
    ("音响系统", (
        ("有杂音", ("嗞嗞声", "电流声"), ("检查接地", "检查音频线"), ("更换屏蔽线", "加装隔离器")),
        ("没有声音", ("喇叭不响", "功放灯亮但没声"), ("检查分区", "检查线路"), ("重新勾选分区", "修复断线")),
    )),
    ("无线话筒", (
        ("断断续续", ("走动时声音时有时无", "有杂音"),
         ("更换电池", "检查接收器天线", "调整频道"), ("分配不同频段", "更换新电池")),
    )),
    ("智慧教育平台", (
        ("登录失败", ("提示账号不存在", "一直加载", "验证码收不到"),
         ("确认登录方式", "清除缓存", "换浏览器"), ("由学校管理员激活账号", "清除缓存后重试")),
        ("资源无法播放", ("课程视频一直转圈", "提示播放失败"),
         ("检查网络", "更换浏览器"), ("使用 Chrome 浏览器", "切换到流畅清晰度")),
        ("忘记密码", ("密码想不起来", "输错多次被锁"),
         ("点击忘记密码", "用手机号接收验证码"), ("通过手机号重置", "由学校管理员重置")),
    )),
    ("学籍系统", (
        ("转学办理失败", ("找不到学生", "提示学籍状态异常"),
         ("由转入校发起申请", "等待转出校审核"), ("按流程审核后完成", "联系县学籍管理员核实")),
        ("照片上传失败", ("提示格式不符", "照片太大"),
         ("检查照片尺寸", "转换为 JPG"), ("按要求裁剪后上传",)),
    )),
    ("成绩管理系统", (
        ("导入失败", ("提示格式错误", "整张表导不进去"),
         ("下载模板", "检查学号格式", "删除合并单元格"), ("按模板填写后导入",)),
        ("统计结果不对", ("平均分算错", "排名重复"),
         ("检查缺考设置", "重新统计"), ("设置缺考不计入后重新统计",)),
    )),
    ("办公软件", (
        ("未激活", ("提示产品未激活", "功能灰色不能用"),
         ("查看版本", "确认正版授权"), ("使用县正版化平台授权激活",)),
        ("文档打不开", ("提示文件损坏", "乱码"),
         ("用其他软件打开", "修复文档"), ("用打开并修复功能", "从备份恢复")),
        ("格式错乱", ("表格错位", "图片跑位"),
         ("检查字体", "关闭兼容模式"), ("安装缺失字体", "另存为 PDF 发送")),
    )),
    ("视频会议终端", (
        ("对方听不到声音", ("对方听不到我们说话", "麦克风没反应"),
         ("检查静音", "检查麦克风线"), ("取消静音", "把音频输入改为外接麦克风")),
        ("画面卡顿", ("对方画面卡", "马赛克"), ("检查带宽", "降低分辨率"), ("接有线网络", "降低会议码率")),
    )),
    ("电子班牌", (
        ("不更新", ("课表不更新", "通知不显示"), ("检查网络", "查看在线状态"), ("重新配置网络", "重新下发课表")),
        ("刷卡没反应", ("学生刷卡不签到", "刷卡器灯不亮"), ("检查读卡模块", "重启班牌"), ("更换读卡模块",)),
    )),
    ("服务器", (
        ("无法访问", ("网站打不开", "内网系统访问不了"),
         ("检查服务器电源", "检查服务状态", "查看磁盘空间"), ("重启服务", "清理日志释放空间")),
        ("硬盘报警", ("前面板红灯", "阵列降级"), ("查看阵列状态", "确认故障硬盘"), ("更换故障硬盘并重建阵列",)),
    )),
    ("统一身份认证", (
        ("账号被锁定", ("输错密码被锁", "所有系统都登不上"),
         ("等待自动解锁", "联系管理员"), ("30 分钟后自动解锁", "管理员手动解锁")),
        ("手机号变更", ("收不到验证码", "手机号停用"), ("核实身份", "修改绑定手机号"), ("管理员后台修改手机号",)),
    )),
)  # fmt: skip


# The note on the generated articles' version 1: what tells them from the knowledge base they join.
GENERATED_NOTE = "generate_articles"


def covered_topics(stdout=None) -> set[tuple[str, str]]:
    """(device, fault) topics on which a published article not written by this command exists: a
    reviewer would refuse another (``knowledge.duplicates``). A topic's sample is what its articles'
    title and problem say: the device and fault, and every symptom."""
    existing = Article.objects.filter(state=ArticleState.PUBLISHED).exclude(versions__note=GENERATED_NOTE)
    covered = set()
    for device, faults in FAULTS:
        for fault, symptoms, _steps, _solutions in faults:
            found = similar_articles(existing, title=f"{device}{fault}", body="，".join(symptoms), limit=1)
            if found:
                covered.add((device, fault))
                if stdout is not None:
                    stdout.write(
                        f"Left out {device}{fault}: probable duplicate of “{found[0].article.title}” "
                        f"(similarity {found[0].similarity:.2f})"
                    )
    return covered


class Command(BaseCommand):
    help = "Generate published knowledge articles (realistic Chinese text) for demos and the search benchmark."

    def add_arguments(self, parser):
        parser.add_argument("--articles", type=non_negative_int, default=100_000)
        parser.add_argument("--author", help="username of the author (default: the first superuser)")
        parser.add_argument(
            "--scope-share", type=float, default=0.3, help="share scoped to one county's subtree (default 0.3)"
        )
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument(
            "--allow-duplicates",
            action="store_true",
            help="also write topics the knowledge base already covers (no duplicate check)",
        )

    def handle(
        self,
        *args,
        articles: int,
        author: str | None,
        scope_share: float,
        seed: int,
        batch: int,
        allow_duplicates: bool = False,
        **options,
    ):
        users = User.objects.filter(username=author) if author else User.objects.filter(is_superuser=True)
        user = users.order_by("pk").first()
        if user is None:
            raise CommandError("No author: create a superuser or pass --author.")
        root = OrgUnit.objects.filter(depth=1).order_by("pk").first()
        if root is None:
            raise CommandError("No org tree: run load_divisions (or create the root unit) first.")
        counties = list(OrgUnit.objects.filter(level=OrgLevel.COUNTY).values_list("pk", "path")[:5000])
        covered = set() if allow_duplicates else covered_topics(self.stdout if options["verbosity"] else None)
        self.topics = [
            (device, fault) for device, faults in FAULTS for fault in faults if (device, fault[0]) not in covered
        ]
        if not self.topics:
            raise CommandError("Every topic is already covered by a published article (see --allow-duplicates).")
        rng = random.Random(seed)
        now = timezone.now()
        made = 0
        with tqdm(total=articles, unit="article", desc="Articles", disable=options["verbosity"] == 0) as bar:
            while made < articles:
                size = min(batch, articles - made)
                rows = [self._article(rng, now, user, root, counties, scope_share) for _ in range(size)]
                with transaction.atomic():
                    created = Article.objects.bulk_create(rows)
                    ArticleVersion.objects.bulk_create(
                        ArticleVersion(
                            article=article,
                            number=1,
                            title=article.title,
                            problem=article.problem,
                            steps=article.steps,
                            solution=article.solution,
                            author=user,
                            note=GENERATED_NOTE,
                            created_at=article.published_at,
                        )
                        for article in created
                    )
                made += size
                bar.update(size)
        self.stdout.write(f"Generated {made} published articles. Run rebuild_knowledge_index to make them searchable.")

    def _article(self, rng: random.Random, now, user: User, root: OrgUnit, counties, scope_share: float) -> Article:
        device, (fault, symptoms, steps, solutions) = rng.choice(self.topics)
        place = rng.choice(PLACES)
        title = f"{place}{device}{fault}{rng.choice(SUFFIXES)}"
        chosen = rng.sample(symptoms, k=min(len(symptoms), rng.randint(1, 2)))
        problem = (
            f"{rng.choice(REPORTERS)}，{rng.choice(TIMES)}{place}的{device}{fault}：{'，'.join(chosen)}。"
            f"{rng.choice(('影响正常上课。', '已经重启过，问题依旧。', '其他教室正常。', ''))}"
        )
        picked = rng.sample(steps, k=min(len(steps), rng.randint(2, len(steps))))
        step_text = "\n".join(f"{number}. {step}" for number, step in enumerate(picked, 1))
        solution = f"{rng.choice(solutions)}。{rng.choice(CLOSINGS)}"
        published = now - timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60))
        scope_unit, scope_path = None, ""
        if counties and rng.random() < scope_share:
            scope_unit, scope_path = rng.choice(counties)
        return Article(
            title=title[:200],
            problem=problem,
            steps=step_text,
            solution=solution,
            problem_html=f"<p>{escape(problem)}</p>",
            steps_html="".join(f"<p>{escape(line)}</p>" for line in step_text.splitlines()),
            solution_html=f"<p>{escape(solution)}</p>",
            scope_unit_id=scope_unit,
            scope_path=scope_path,
            author=user,
            unit=root,
            unit_path=root.path,
            state=ArticleState.PUBLISHED,
            version=1,
            views=rng.randint(0, 500),
            helpful_count=rng.randint(0, 40),
            published_at=published,
        )
