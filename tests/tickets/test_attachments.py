"""Ticket attachments: what is accepted (checked by content, not name), where it is stored, and who
can download it."""

import hashlib
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import HandlingGroup, Role
from tests.factories import UserFactory, grant
from tickets import services
from tickets.models import Ticket, TicketAttachment, TicketState
from tickets.services.attachments import attachment_add, sanitize_filename

pytestmark = pytest.mark.django_db


# --- Real small files ---------------------------------------------------------------------------
def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >> endobj\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "海淀实验小学"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("日志/error.log", "ERROR 连接超时\n")
    return buffer.getvalue()


def ole_bytes(stream: str) -> bytes:
    """A minimal compound file (the container of .doc/.xls/.ppt, and of .msi) with one named stream."""
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD

    def u32(value: int) -> bytes:
        return value.to_bytes(4, "little")

    header = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16))
    header += (0x3E).to_bytes(2, "little") + (3).to_bytes(2, "little") + b"\xfe\xff"
    header += (9).to_bytes(2, "little") + (6).to_bytes(2, "little") + bytes(6)
    header += u32(0) + u32(1) + u32(1) + u32(0) + u32(4096) + u32(end) + u32(0) + u32(end) + u32(0)
    header += u32(0) + u32(free) * 108  # DIFAT: the FAT is sector 0
    fat = u32(fat_sector) + u32(end) + u32(free) * 126

    def entry(name: str, kind: int, child: int = free) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        name_field = raw.ljust(64, b"\0") + len(raw).to_bytes(2, "little")
        links = u32(free) + u32(free) + u32(child)  # left, right, child
        return name_field + bytes([kind, 1]) + links + bytes(36) + u32(end) + bytes(8)

    directory = entry("Root Entry", 5, child=1) + entry(stream, 2) + bytes(128 * 2)
    return bytes(header) + fat + directory


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    # The declared content type is the client's word and is ignored; only the bytes count.
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- Fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def agent(tree):
    user = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    assignment = grant(user, tree.haidian, Role.SUPPORT_AGENT)
    assignment.handling_groups.set(HandlingGroup.objects.all())
    return user


@pytest.fixture
def ticket(teacher, agent) -> Ticket:
    return services.ticket_create(
        asker=teacher,
        title="打印机卡纸",
        description="教务处打印机频繁卡纸",
        type="hardware",
        contact_info="13800000000",
    )


def stored_files(settings) -> list[Path]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def download(client, user, attachment: TicketAttachment, ticket_id: int | None = None):
    if user is not None:
        client.force_login(user)
    url = reverse("tickets:attachment", args=[ticket_id or attachment.ticket_id, attachment.pk])
    return client.get(url)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Accepted files -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("截图.png", png_bytes(), "image/png"),
        ("photo.JPG", jpeg_bytes(), "image/jpeg"),
        ("维修报告.pdf", PDF, "application/pdf"),
        ("说明.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("名单.xlsx", xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("旧版说明.doc", ole_bytes("WordDocument"), "application/msword"),
        ("旧表格.xls", ole_bytes("Workbook"), "application/vnd.ms-excel"),
        ("日志.zip", zip_bytes(), "application/zip"),
        ("error.log", "2024-05-01 错误：连接超时\n".encode(), "text/plain; charset=utf-8"),
        ("记录.txt", "打印机型号 HP-1020\r\n".encode("gb18030"), "text/plain; charset=gb18030"),
    ],
)
def test_valid_files_are_stored_privately_with_checksum_and_detected_type(
    settings, ticket, teacher, name, content, content_type
):
    attachment = attachment_add(ticket=ticket, user=teacher, upload=upload(name, content))

    attachment.refresh_from_db()
    assert attachment.original_name == name
    assert attachment.content_type == content_type
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.uploaded_by == teacher and not attachment.internal
    path = Path(attachment.file.path).resolve()
    assert path.is_relative_to(Path(settings.PRIVATE_MEDIA_ROOT).resolve())
    assert not path.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not path.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    # The stored name is ours: nothing of the uploader's name (or extension) reaches the disk.
    assert name.rsplit(".", 1)[0] not in path.name and "." not in path.name
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)),  # extension not allowed
        ("page.html", b"<script>alert(1)</script>"),  # rendered by browsers: never allowed
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("noextension", b"hello"),
        ("截图.png", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)),  # an executable renamed
        ("截图.png", PDF),  # another allowed type renamed
        ("截图.png", b"\x89PNG\r\n\x1a\n" + bytes(64)),  # a PNG signature in front of garbage
        ("empty.txt", b""),
        ("dump.log", b"line one\n\x00\x00binary\n"),  # text with NUL bytes
        ("utf16.txt", "记录".encode("utf-16")),
        ("report.pdf", b"just some text"),
        ("说明.docx", zip_bytes()),  # a zip that is no Word document
        ("installer.doc", ole_bytes("\x05SummaryInformation")),  # a compound file without WordDocument
        ("archive.zip", b"PK\x03\x04 broken"),
    ],
)
def test_bad_files_are_refused_on_the_file_field_and_nothing_is_stored(settings, ticket, teacher, name, content):
    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=teacher, upload=upload(name, content, "image/png"))

    assert set(caught.value.message_dict) == {"file"}
    assert caught.value.message_dict["file"][0]
    assert not TicketAttachment.objects.exists()
    assert stored_files(settings) == []


def test_oversize_files_are_refused(settings, ticket, teacher):
    settings.TICKET_ATTACHMENT_MAX_BYTES = 1024
    attachment_add(ticket=ticket, user=teacher, upload=upload("ok.txt", b"a" * 1024))

    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=teacher, upload=upload("big.txt", b"a" * 1025))

    assert set(caught.value.message_dict) == {"file"}
    assert "1024" not in caught.value.message_dict["file"][0]  # said in MB, as people think of it
    assert TicketAttachment.objects.count() == 1
    assert len(stored_files(settings)) == 1


def test_the_default_limit_is_ten_megabytes(ticket, teacher):
    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=teacher, upload=upload("big.log", b"a" * (10 * 1024 * 1024 + 1)))
    assert "10" in caught.value.message_dict["file"][0]


def test_a_ticket_holds_a_bounded_number_of_files(settings, ticket, teacher):
    settings.TICKET_ATTACHMENT_MAX_PER_TICKET = 2
    for index in range(2):
        attachment_add(ticket=ticket, user=teacher, upload=upload(f"{index}.txt", b"note"))

    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=teacher, upload=upload("3.txt", b"note"))

    assert set(caught.value.message_dict) == {"file"}
    assert ticket.attachments.count() == 2
    assert len(stored_files(settings)) == 2


def test_the_name_is_reduced_to_a_safe_basename():
    assert sanitize_filename("C:\\Users\\张伟\\Desktop\\截图.png") == "截图.png"
    assert sanitize_filename("../../etc/passwd.txt") == "passwd.txt"
    assert sanitize_filename("bad\x00\r\nname.txt") == "badname.txt"
    long = sanitize_filename("长" * 300 + ".docx")
    assert len(long) == 200 and long.endswith(".docx")


# --- Who may attach -----------------------------------------------------------------------------
def test_a_user_who_cannot_see_the_ticket_cannot_attach(settings, ticket, tianjin_teacher):
    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=tianjin_teacher, upload=upload("a.png", png_bytes()))
    assert "ticket" in caught.value.message_dict
    assert stored_files(settings) == []


def test_only_staff_add_internal_files(ticket, teacher, agent):
    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=teacher, upload=upload("a.png", png_bytes()), internal=True)
    assert "internal" in caught.value.message_dict

    attachment = attachment_add(ticket=ticket, user=agent, upload=upload("a.png", png_bytes()), internal=True)
    assert attachment.internal


def test_a_file_on_an_internal_note_is_internal(ticket, agent):
    services.ticket_accept(ticket=ticket, agent=agent)
    note = services.ticket_add_note(ticket=ticket, author=agent, body="交换机端口已更换")

    attachment = attachment_add(ticket=ticket, user=agent, upload=upload("端口.png", png_bytes()), message=note)

    assert attachment.internal and attachment.message == note


def test_a_closed_ticket_takes_no_new_files(settings, ticket, teacher):
    Ticket.objects.filter(pk=ticket.pk).update(state=TicketState.CLOSED)
    ticket.refresh_from_db()

    with pytest.raises(ValidationError) as caught:
        attachment_add(ticket=ticket, user=teacher, upload=upload("a.png", png_bytes()))

    assert "state" in caught.value.message_dict
    assert stored_files(settings) == []


# --- Download -----------------------------------------------------------------------------------
def test_the_asker_downloads_an_image_inline_with_safe_headers(client, ticket, teacher):
    content = png_bytes()
    attachment = attachment_add(ticket=ticket, user=teacher, upload=upload("教室 投影.png", content))

    response = download(client, teacher, attachment)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline;")
    assert "filename*=utf-8''%E6%95%99%E5%AE%A4%20%E6%8A%95%E5%BD%B1.png" in response["Content-Disposition"]
    assert body_of(response) == content


def test_documents_and_text_are_downloaded_never_rendered(client, ticket, teacher, agent):
    pdf = attachment_add(ticket=ticket, user=teacher, upload=upload("维修报告.pdf", PDF))
    log = attachment_add(ticket=ticket, user=teacher, upload=upload("error.log", b"<script>alert(1)</script>"))

    for attachment, content_type in ((pdf, "application/pdf"), (log, "text/plain; charset=utf-8")):
        response = download(client, agent, attachment)
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
    assert "%E7%BB%B4%E4%BF%AE%E6%8A%A5%E5%91%8A.pdf" in download(client, agent, pdf)["Content-Disposition"]
    assert body_of(download(client, agent, pdf)) == PDF


def test_a_user_of_another_unit_gets_404(client, ticket, teacher, tianjin_teacher):
    attachment = attachment_add(ticket=ticket, user=teacher, upload=upload("a.png", png_bytes()))

    assert download(client, tianjin_teacher, attachment).status_code == 404


def test_an_attachment_id_under_another_ticket_gets_404(client, teacher, agent, ticket, tianjin_teacher):
    # The Tianjin teacher's own ticket in the URL does not open Beijing's file.
    own = services.ticket_create(
        asker=tianjin_teacher, title="网络故障", description="无法上网", type="hardware", contact_info="13800000000"
    )
    attachment = attachment_add(ticket=ticket, user=teacher, upload=upload("a.png", png_bytes()))

    assert download(client, tianjin_teacher, attachment, ticket_id=own.pk).status_code == 404
    assert download(client, teacher, attachment, ticket_id=own.pk).status_code == 404


def test_internal_files_are_hidden_from_the_asker(client, ticket, teacher, agent):
    attachment = attachment_add(ticket=ticket, user=agent, upload=upload("内部.png", png_bytes()), internal=True)

    assert download(client, teacher, attachment).status_code == 404
    assert download(client, agent, attachment).status_code == 200


def test_anonymous_users_are_sent_to_login(client, ticket, teacher):
    attachment = attachment_add(ticket=ticket, user=teacher, upload=upload("a.png", png_bytes()))

    response = download(client, None, attachment)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


def test_a_missing_stored_file_is_404_not_500(client, ticket, teacher):
    attachment = attachment_add(ticket=ticket, user=teacher, upload=upload("a.png", png_bytes()))
    Path(attachment.file.path).unlink()

    assert download(client, teacher, attachment).status_code == 404
