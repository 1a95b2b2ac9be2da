"""The Excel export as a manager opens and prints it: LibreOffice Calc converts the workbook to PDF
(``libreoffice --headless --convert-to pdf``, apt package libreoffice-calc-nogui; Korean glyphs from
fonts-nanum), and poppler-utils (``pdfinfo``, ``pdftotext``, ``pdftoppm``) read the pages back.

Checked on the PDF: every page is A4 landscape and one page wide (the last column is on every
page), the header row is repeated on every printed page, and a record of several lines takes the
height of its lines instead of overlapping the rows below. A page is rendered to PNG under
``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET

import openpyxl
import pytest

from anysupport.records.export import LINE_HEIGHT, row_height, text_width, wrapped_lines, write_workbook
from anysupport.records.stats import build_statistics

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
TOOLS = ("libreoffice", "pdfinfo", "pdftotext", "pdftoppm")
LINES = 5  # lines of the support content of every fourth record


def records(n: int):
    start = dt.datetime(2024, 3, 4, 0, 30, tzinfo=dt.UTC)
    for i in range(n):
        begun = start + dt.timedelta(minutes=7 * i)
        content = "\n".join(f"줄{k}-{i:03d} 공유기 전원을 껐다 켠 뒤 다시 연결" for k in range(1, LINES + 1)) if i % 4 == 0 \
            else f"앱 재설치 후 정상 동작 확인 {i}"
        yield {"agent_login": f"agent{i:03d}", "agent_name": "김상담", "trouble_type": None,
               "trouble_type_name": "Network Error / Wi-Fi", "started_at": begun,
               "ended_at": begun + dt.timedelta(seconds=(32, 192, 3725)[i % 3]), "content": content,
               "resolution": ("solved", "pending", None)[i % 3], "customer_name": f"홍길동{i}",
               "email": f"customer{i}@example.co.kr", "phone": "010-1234-5678",
               "feedback": "친절하게 설명해 주셔서 감사합니다" if i % 2 else None, "satisfaction": "satisfied"}


def statistics(language: str):
    return build_statistics({"trouble_type": [], "resolution": [], "satisfaction": [], "total": []}, [], language)


def test_text_width_counts_east_asian_wide_characters_twice_as_unicodedata_says():
    assert text_width("상담원 ID") == 9 and text_width("Network Error") == 13 and text_width("ｆｕｌｌ") == 8
    for code in range(0x20, 0x40000):
        ch = chr(code)
        if unicodedata.category(ch) in ("Cn", "Cs"):
            continue
        assert text_width(ch) == (2 if unicodedata.east_asian_width(ch) in "WF" else 1), hex(code)


def test_row_heights_follow_the_wrapped_line_count():
    assert wrapped_lines("짧은 내용", 50) == 1
    assert wrapped_lines("첫째 줄\n둘째 줄\n셋째 줄", 50) == 3
    assert wrapped_lines("가" * 60, 50) == 3  # 120 units in a 49-unit cell: three lines
    assert wrapped_lines(" ".join(["word"] * 30), 24) == 8  # 23 units hold four words and their spaces
    values = [None] * 12
    values[5] = "한 줄"
    assert row_height(values) is None
    values[5] = "\n".join(["줄"] * LINES)
    assert row_height(values) == LINES * LINE_HEIGHT
    values[5] = "\n".join(["줄"] * 1000)
    assert row_height(values) == 409.0  # the most a row can be


def test_workbook_print_setup_and_row_heights(tmp_path):
    path = tmp_path / "records.xlsx"
    write_workbook(str(path), records(12), statistics("ko"), language="ko", time_zone="Asia/Seoul", trouble_types={})
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$2"  # the title row and the headers on every page
    assert sheet["A1"].value == "원격 지원 기록"
    assert sheet.row_dimensions[2].height == 2 * LINE_HEIGHT  # "장애 해결 여부" wraps in bold
    assert sheet.row_dimensions[3].height == LINES * LINE_HEIGHT  # record 0: five lines of content
    assert sheet.row_dimensions[4].height is None  # record 1: one line, the default height
    assert sheet["F3"].alignment.wrap_text and sheet["A3"].alignment.vertical == "top"
    assert [sheet.cell(r, 5).value for r in (3, 4, 5)] == ["32초", "03분 12초", "1시간 02분 05초"]
    assert book.worksheets[1].page_setup.fitToWidth == 1


def _run(*args: str, timeout: float = 180) -> str:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True).stdout


def to_pdf(xlsx: str, outdir: str, profile: str) -> str:
    # a private profile: no first-start dialogs, and no clash with another LibreOffice running
    _run("libreoffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", outdir, xlsx)
    pdf = os.path.join(outdir, os.path.splitext(os.path.basename(xlsx))[0] + ".pdf")
    assert os.path.exists(pdf), f"LibreOffice made no PDF of {xlsx}"
    return pdf


def page_sizes(pdf: str) -> list[tuple[float, float]]:
    pages = int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", pdf), re.M).group(1))
    out = _run("pdfinfo", "-f", "1", "-l", str(pages), pdf)
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


def words_by_page(pdf: str) -> list[list[tuple[str, float, float]]]:
    """Every word of every page with its top and bottom (points from the top)."""
    xhtml = _run("pdftotext", "-bbox", pdf, "-")
    xhtml = re.sub(r"<!DOCTYPE[^>]*>", "", xhtml).replace('xmlns="http://www.w3.org/1999/xhtml"', "")
    root = ET.fromstring(xhtml)
    return [[(w.text or "", float(w.get("yMin")), float(w.get("yMax"))) for w in page.iter("word")]
            for page in root.iter("page")]


@pytest.mark.slow
@pytest.mark.parametrize(("language", "first_header", "last_header", "durations"), [
    ("ko", "상담원", "만족도", ("32초", "03분 12초", "1시간 02분 05초")),
    ("en", "Agent", "Satisfaction", ("32 s", "03 min 12 s", "1 h 02 min 05 s")),
])
def test_export_prints_landscape_one_page_wide_with_headers_and_no_overlap(tmp_path, language, first_header,
                                                                           last_header, durations):
    missing = [t for t in TOOLS if shutil.which(t) is None]
    assert not missing, f"install the apt packages libreoffice-calc-nogui, poppler-utils, fonts-nanum ({missing})"
    n = 90
    xlsx = str(tmp_path / f"records-{language}.xlsx")
    write_workbook(xlsx, records(n), statistics(language), language=language, time_zone="Asia/Seoul",
                   trouble_types={})
    pdf = to_pdf(xlsx, str(tmp_path), str(tmp_path / "lo-profile"))
    pages = words_by_page(pdf)
    sizes = page_sizes(pdf)
    assert len(sizes) == len(pages)
    record_pages = [i for i, words in enumerate(pages) if any(re.fullmatch(r"agent\d{3}", w[0]) for w in words)]
    assert record_pages == list(range(len(record_pages))), "the records come first, then the statistics"
    # one page wide: 90 records of which a quarter have five lines fill a few pages, not columns × rows of them
    assert 2 <= len(record_pages) <= 8, len(record_pages)
    for index in record_pages:
        width, height = sizes[index]
        assert width > height and abs(width - 842) < 2 and abs(height - 595) < 2, (index, sizes[index])  # A4 landscape
        texts = [w[0] for w in pages[index]]
        assert first_header in texts and last_header in texts, f"page {index + 1} lacks the header row or a column"
    text = _run("pdftotext", "-layout", pdf, "-")
    assert all(d in text for d in durations), durations
    # no overlap: the last line of a five-line content ends above the next record's first line
    seen = 0
    for words in (pages[i] for i in record_pages):
        where = {w[0]: w for w in words}
        for i in range(0, n - 1, 4):
            last, following = where.get(f"줄{LINES}-{i:03d}"), where.get(f"agent{i + 1:03d}")
            first = where.get(f"줄1-{i:03d}")
            if last is None or following is None or first is None:
                continue  # the pair is split by a page break
            assert first[1] < last[1], "the lines of one content are stacked"
            assert last[2] <= following[1] + 0.5, f"record {i}'s content overlaps the row below"
            seen += 1
    assert seen >= n // 4 - len(record_pages)
    os.makedirs(ARTIFACTS, exist_ok=True)
    prefix = os.path.join(ARTIFACTS, f"export-{language}-page")
    _run("pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", pdf, prefix)
    shutil.copy(pdf, os.path.join(ARTIFACTS, f"export-{language}.pdf"))
