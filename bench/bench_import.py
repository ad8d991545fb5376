"""Account import against a file far over the row limit: time and memory before the 400.

The security review sent a 253 KB XLSX holding a million rows; reading the whole sheet first cost
38 s of CPU and 300 MB. The reader now streams and stops at the limit. This script builds such
files by hand (openpyxl would take minutes to write them), runs the import's reader on each in
this process and prints wall time, CPU time and the peak of Python allocations (tracemalloc) and
the growth of the process's peak RSS.

    .venv/bin/python bench/bench_import.py [--rows 1000000]

Needs no database: the reader refuses the file before any query.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.core.exceptions import ValidationError  # noqa: E402

from accounts.services.imports import _read_rows  # noqa: E402

PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
        '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
        'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}
HEADER = (
    '<row><c t="inlineStr"><is><t>account</t></is></c><c t="inlineStr"><is><t>name</t></is></c>'
    '<c t="inlineStr"><is><t>unit_code</t></is></c></row>'
)


def xlsx(rows: int, row_xml: str) -> bytes:
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{HEADER}{row_xml * rows}</sheetData></worksheet>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in {**PARTS, "xl/worksheets/sheet1.xml": sheet}.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def csv_file(rows: int) -> bytes:
    return ("account,name,unit_code\n" + "a,b,c\n" * rows).encode()


def measure(label: str, filename: str, content: bytes) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        _read_rows(filename=filename, content=content)
        outcome = "read to the end"
    except ValidationError as exc:
        outcome = "400: " + "; ".join(exc.message_dict["file"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(
        f"{label:<44} {len(content) / 1024:>8.0f} KB  wall {wall * 1000:>7.1f} ms  cpu {cpu * 1000:>7.1f} ms  "
        f"py peak {peak / 2**20:>6.1f} MiB  rss peak +{rss_growth / 1024:>6.1f} MiB  {outcome}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    print(f"{rows:,} data rows each; the limit is 5,000 rows")
    # The shortest row XML a spreadsheet program writes: unpacks below the 50 MB cap, so the streaming
    # reader runs and must stop at the row limit.
    measure(f"XLSX, {rows:,} numeric rows", "a.xlsx", xlsx(rows, "<row><c><v>1</v></c></row>"))
    # Inline strings unpack beyond the cap: refused before parsing.
    measure(f"XLSX, {rows:,} text rows", "a.xlsx", xlsx(rows, '<row><c t="inlineStr"><is><t>x</t></is></c></row>'))
    measure(f"XLSX, {rows:,} blank rows", "a.xlsx", xlsx(rows, "<row/>"))
    measure(f"CSV, {rows:,} rows (5 MB cap aside)", "a.csv", csv_file(rows))
    # The most a file can hold and still be read: 10,001 lines (header and blank ones included) of 32 cells.
    widest = "<row>" + "<c><v>1</v></c>" * 32 + "</row>"
    measure("XLSX at the bound: 10,000 rows x 32 cells", "a.xlsx", xlsx(10_000, widest))
    # A real account sheet at the limit: 5,000 rows of eight text cells.
    real = "<row>" + '<c t="inlineStr"><is><t>zhang_wei_0001</t></is></c>' * 8 + "</row>"
    measure("XLSX, 5,000 rows x 8 text cells (real size)", "a.xlsx", xlsx(5_000, real))


if __name__ == "__main__":
    main()
