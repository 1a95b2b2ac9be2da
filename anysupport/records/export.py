"""The Excel export of support records: a write-only openpyxl workbook built in a worker thread.

No HTTP in here. ``write_workbook`` is the blocking builder: it streams rows into openpyxl's
write-only sheets (each row goes to a temporary file as it is appended; strings are written inline,
so nothing grows with the number of records). ``export_records`` runs it in its own thread and feeds
it from an async iterator of records through a bounded queue, so the event loop keeps serving and
at most ``queue_depth`` batches are in memory between the database and the workbook.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import functools
import math
import queue
import re
import threading
import unicodedata
import zoneinfo
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from anysupport import i18n
from anysupport.records.stats import TABLES, resolution_label, satisfaction_label

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# text starting with one of these is a formula (or DDE) to a spreadsheet program
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_CELL_TEXT = 32767  # Excel's limit per cell


@dataclass(frozen=True)
class Column:
    key: str
    width: float
    wrap: bool = False


COLUMNS = (
    Column("agent_id", 14),
    Column("agent_name", 14),
    Column("trouble_type", 24, wrap=True),
    Column("support_time", 41),
    Column("duration", 16),
    Column("content", 50, wrap=True),
    Column("resolution", 15),
    Column("customer_name", 14),
    Column("email", 26),
    Column("phone", 16),
    Column("feedback", 40, wrap=True),
    Column("satisfaction", 11),
)

BODY_FONT = "Calibri"  # the workbook's default font: bold text in it too (a font without a name prints in serif)
HEADER_FONT = Font(name=BODY_FONT, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
THIN = Side(style="thin", color="A6A6A6")
HEADER_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
BOLD = Font(name=BODY_FONT, bold=True)
#: the records sheet: row 1 is the title ("원격 지원 기록" and the period), row 2 the column headers
HEADER_ROW = 2
TITLE_FONT = Font(name=BODY_FONT, bold=True, size=14)
TABLE_FILL = PatternFill("solid", fgColor="DDEBF7")
RATIO_FORMAT = "0.0%"


def headers(language: str) -> list[str]:
    return [i18n.text(f"report_column_{c.key}", language) for c in COLUMNS]


def format_duration(seconds: int, language: str) -> str:
    """As the manual's sheet writes it: ``32초`` under a minute, ``03분 12초`` (two-digit minutes and
    seconds) from one, ``1시간 02분 05초`` from an hour; ``32 s``, ``03 min 12 s``, ``1 h 02 min 05 s``."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return i18n.text("report_duration_hours", language, hours=hours, minutes=minutes, seconds=secs)
    if minutes:
        return i18n.text("report_duration", language, minutes=minutes, seconds=secs)
    return i18n.text("report_duration_seconds", language, seconds=secs)


LINE_HEIGHT = 15.0  # points per line of 11-point text (Excel's and Calc's default row height)
MAX_ROW_HEIGHT = 409.0  # the most a spreadsheet row can be


@functools.cache
def _wide() -> re.Pattern[str]:
    """One character class of every assigned East Asian wide or fullwidth character (Unicode's
    East_Asian_Width W and F), built from ``unicodedata`` once, at the first export (~0.1 s): calling
    unicodedata per character of every cell made the export 70 % slower than a regular expression."""
    ranges: list[list[int]] = []
    for code in range(0x1100, 0x40000):
        ch = chr(code)
        if unicodedata.east_asian_width(ch) in "WF" and unicodedata.category(ch) not in ("Cn", "Cs"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")


def text_width(text: str) -> int:
    """Width in column-width units (the width of a ``0``): East Asian wide characters count two."""
    if text.isascii():
        return len(text)
    return 2 * len(text) - len(_wide().sub("", text))


def wrapped_lines(text: str, width: float) -> int:
    """Lines a cell ``width`` units wide shows ``text`` on when it wraps: each of its lines, broken
    between words where the next word no longer fits (a word wider than the cell is broken too)."""
    usable = max(1.0, width - 1.0)  # the cell's inner padding
    count = 0
    for line in text.split("\n"):
        if text_width(line) <= usable:  # most lines: no need to place the words
            count += 1
            continue
        lines, used = 1, 0.0
        for word in line.split(" "):
            w = text_width(word)
            if used and used + 1 + w > usable:  # the next word goes on a new line
                lines, used = lines + 1, 0.0
            elif used:
                used += 1  # the space before it
            if w > usable:  # a word wider than the cell fills whole lines
                extra = math.ceil(w / usable) - 1
                lines, used = lines + extra, w - extra * usable
            else:
                used += w
        count += lines
    return count


BOLD_WIDTH = 1.15  # bold text is about this much wider


def header_height(labels: list[str]) -> float | None:
    """The header row's height: its labels wrap (bold) in their columns."""
    lines = max(wrapped_lines(label, c.width / BOLD_WIDTH) for label, c in zip(labels, COLUMNS, strict=True))
    return min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT) if lines > 1 else None


def row_height(values: list[Any]) -> float | None:
    """The height (points) a record row needs so its wrapped cells show every line; None for one line."""
    lines = max((wrapped_lines(v, c.width) for v, c in zip(values, COLUMNS, strict=True)
                 if c.wrap and isinstance(v, str) and v), default=1)
    return min(lines * LINE_HEIGHT, MAX_ROW_HEIGHT) if lines > 1 else None


def _print_setup(sheet, *, landscape: bool, title_rows: str | None = None) -> None:
    """A4, fit to one page wide (as many pages down as it takes), page numbers in the footer."""
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.oddFooter.center.text = "&P / &N"
    if title_rows:
        sheet.print_title_rows = title_rows  # the header row again on every printed page


def _local(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(tz)


def record_row(record: Mapping[str, Any], *, language: str, tz: dt.tzinfo,
               trouble_types: Mapping[str, str]) -> list[Any]:
    """One record as the export's cell values, in ``COLUMNS`` order (text; None for empty)."""
    started, ended = _local(record.get("started_at"), tz), _local(record.get("ended_at"), tz)
    stamp = "%Y-%m-%d %H:%M:%S"
    if started is None:
        support_time = None
    else:
        support_time = f"{started:{stamp}} - {ended:{stamp}}" if ended else f"{started:{stamp}} -"
    duration = format_duration((ended - started).total_seconds(), language) if started and ended else None
    type_id = record.get("trouble_type")
    return [
        record.get("agent_login"),
        # a handed-over session is one row, naming every agent it had in order
        " → ".join(a.get("name") or "" for a in record["agents"]) if len(record.get("agents") or ()) > 1
        else record.get("agent_name"),
        (trouble_types.get(type_id) if type_id else None) or record.get("trouble_type_name"),
        support_time,
        duration,
        record.get("content"),
        resolution_label(record.get("resolution"), language),
        record.get("customer_name"),
        record.get("email"),
        record.get("phone"),
        record.get("feedback"),
        satisfaction_label(record.get("satisfaction"), language),
    ]


class _Sheet:
    """A write-only sheet whose text can never become a formula."""

    def __init__(self, sheet):
        self.sheet = sheet
        # each combination of styles is built once, then copied: setting a style on a cell hashes it
        # into the workbook's style tables, which made styled rows several times slower than plain ones
        # (copying ``_style`` is how openpyxl's documentation copies styles between cells)
        self._styles: dict[tuple, Any] = {}

    def text(self, value: Any, *, wrap: bool = False, font: Font | None = None, fill: PatternFill | None = None,
             align: Alignment | None = None, border: Border | None = None) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            value = str(value)
        value = ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_TEXT]
        risky = value.startswith(FORMULA_START) or value in ERROR_CODES
        if not (risky or wrap or font or fill or align or border):
            return value  # a plain str: openpyxl writes it as an inline string
        cell = WriteOnlyCell(self.sheet, value)
        cell.data_type = "s"  # openpyxl made "=…" a formula and "#N/A" an error; it is text
        key = (risky, wrap, id(font), id(fill), id(align), id(border))  # the styles are module constants
        style = self._styles.get(key)
        if style is not None:
            cell._style = copy.copy(style)
            return cell
        if risky:
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
        if wrap:
            cell.alignment = WRAP
        if align is not None:
            cell.alignment = align
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if border is not None:
            cell.border = border
        self._styles[key] = copy.copy(cell._style)
        return cell

    def number(self, value: float, *, number_format: str | None = None, font: Font | None = None) -> Any:
        if number_format is None and font is None:
            return value
        cell = WriteOnlyCell(self.sheet, value)
        if number_format:
            cell.number_format = number_format
        if font is not None:
            cell.font = font
        return cell

    def append(self, row: list[Any]) -> None:
        self.sheet.append(row)


def _period(statistics: Mapping[str, Any], language: str) -> str:
    first, last = statistics.get("from"), statistics.get("to")
    if not first and not last:
        return i18n.text("report_all_time", language)
    return f"{first or ''} ~ {last or ''}".strip()


def _write_statistics(sheet: _Sheet, statistics: Mapping[str, Any], language: str) -> None:
    for letter, width in (("A", 40), ("B", 14), ("C", 14)):
        sheet.sheet.column_dimensions[letter].width = width
    _print_setup(sheet.sheet, landscape=False)
    sheet.append([sheet.text(i18n.text("report_sheet_statistics", language), font=TITLE_FONT)])
    sheet.append([sheet.text(i18n.text("report_period", language), font=BOLD), sheet.text(_period(statistics, language))])
    agent = statistics.get("agent") or i18n.text("report_all_agents", language)
    sheet.append([sheet.text(i18n.text("report_agent", language), font=BOLD), sheet.text(agent)])
    if statistics.get("time_zone"):
        sheet.append([sheet.text(i18n.text("report_time_zone", language), font=BOLD),
                      sheet.text(statistics["time_zone"])])
    for name in TABLES:
        table = statistics[name]
        sheet.append([])
        sheet.append([sheet.text(text, font=HEADER_FONT, fill=HEADER_FILL, align=HEADER_ALIGN, border=HEADER_BORDER)
                      for text in (table["title"], i18n.text("report_count", language),
                                   i18n.text("report_ratio", language))])
        for row in table["rows"]:
            sheet.append([sheet.text(row["label"], wrap=True), row["count"],
                          sheet.number(row["ratio"], number_format=RATIO_FORMAT)])
        total = table["total"]
        sheet.append([sheet.text(total["label"], font=BOLD, fill=TABLE_FILL), sheet.number(total["count"], font=BOLD),
                      sheet.number(total["ratio"], number_format=RATIO_FORMAT, font=BOLD)])


def write_workbook(target: str | BinaryIO, records: Iterable[Mapping[str, Any]], statistics: Mapping[str, Any], *,
                   language: str, time_zone: str, trouble_types: Mapping[str, str]) -> int:
    """Write the records sheet (streamed) and the statistics sheet; returns the number of records."""
    tz = zoneinfo.ZoneInfo(time_zone)
    workbook = Workbook(write_only=True)
    try:
        return _fill(workbook, target, records, statistics, language=language, tz=tz, trouble_types=trouble_types)
    except BaseException:
        _discard(workbook)
        raise


def _fill(workbook: Workbook, target: str | BinaryIO, records: Iterable[Mapping[str, Any]],
          statistics: Mapping[str, Any], *, language: str, tz: dt.tzinfo, trouble_types: Mapping[str, str]) -> int:
    records_sheet = _Sheet(workbook.create_sheet(i18n.text("report_sheet_records", language)))
    stats_sheet = _Sheet(workbook.create_sheet(i18n.text("report_sheet_statistics", language)))
    sheet = records_sheet.sheet
    for index, column in enumerate(COLUMNS, 1):  # widths and panes must be set before the first row
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    _print_setup(sheet, landscape=True, title_rows=f"1:{HEADER_ROW}")
    # the manual's title row: "원격 지원 기록" (in the workbook's language) and the period
    records_sheet.append([records_sheet.text(i18n.text("report_sheet_records", language), font=TITLE_FONT), None,
                          records_sheet.text(_period(statistics, language))])
    labels = headers(language)
    if (height := header_height(labels)) is not None:
        sheet.row_dimensions[HEADER_ROW].height = height
    records_sheet.append([records_sheet.text(h, font=HEADER_FONT, fill=HEADER_FILL, align=HEADER_ALIGN,
                                             border=HEADER_BORDER) for h in labels])
    sheet.row_dimensions.pop(HEADER_ROW, None)
    wraps = [c.wrap for c in COLUMNS]
    count = 0
    for record in records:
        values = record_row(record, language=language, tz=tz, trouble_types=trouble_types)
        height = row_height(values)
        if height is None:
            records_sheet.append([records_sheet.text(v, wrap=w) for v, w in zip(values, wraps, strict=True)])
        else:
            # write-only sheets read a row's dimensions as it is written: set it just before, drop it after
            row_index = count + HEADER_ROW + 1
            sheet.row_dimensions[row_index].height = height
            records_sheet.append([records_sheet.text(v, wrap=w, align=None if w else TOP)
                                  for v, w in zip(values, wraps, strict=True)])
            del sheet.row_dimensions[row_index]
        count += 1
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(COLUMNS))}{count + HEADER_ROW}"
    _write_statistics(stats_sheet, statistics, language)
    workbook.save(target)
    return count


def _discard(workbook: Workbook) -> None:
    """Close the sheets of an unfinished workbook and remove their temporary files now, not at exit."""
    for sheet in workbook.worksheets:
        with contextlib.suppress(Exception):
            if not sheet.closed:
                sheet.close()
        with contextlib.suppress(Exception):
            if sheet._writer is not None:
                sheet._writer.cleanup()


class ExportAborted(RuntimeError):
    """The records stopped coming (the database failed); the workbook is not finished."""


class _Feed:
    """Batches handed from the event loop to the builder thread; at most ``depth`` wait in between."""

    _END = object()

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int):
        self._loop = loop
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._slots = asyncio.Semaphore(depth)
        self._abandoned = False

    async def put(self, batch: list[Any]) -> bool:
        """Wait for room, then hand over a batch; False when the builder has stopped reading."""
        if self._abandoned:
            return False
        await self._slots.acquire()
        if self._abandoned:
            return False
        self._queue.put(batch)
        return True

    def end(self, error: BaseException | None = None) -> None:
        self._queue.put((self._END, error))

    def abandon(self) -> None:
        """On the loop: the builder is gone, so wake a producer waiting for room."""
        self._abandoned = True
        self._slots.release()

    def records(self) -> Iterator[Any]:
        """In the builder thread: every record of every batch, until the end."""
        while True:
            batch = self._queue.get()
            if isinstance(batch, tuple) and batch and batch[0] is self._END:
                if batch[1] is not None:
                    raise ExportAborted("the records could not be read") from batch[1]
                return
            self._loop.call_soon_threadsafe(self._slots.release)
            yield from batch


async def export_records(target: str | BinaryIO, records: AsyncIterator[Mapping[str, Any]],
                         statistics: Mapping[str, Any], *, language: str, time_zone: str,
                         trouble_types: Mapping[str, str], batch_size: int = 500, queue_depth: int = 4) -> int:
    """Build the workbook in a worker thread fed from ``records``; returns the number of records.

    Memory stays bounded by ``batch_size * queue_depth`` records, whatever their number; the event
    loop only reads the cursor and hands batches over.
    """
    loop = asyncio.get_running_loop()
    feed = _Feed(loop, queue_depth)
    built: asyncio.Future[int] = loop.create_future()
    built.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen, even if we were cancelled

    def settle(result: int | None, error: BaseException | None) -> None:
        feed.abandon()
        if built.done():
            return
        if error is not None:
            built.set_exception(error)
        else:
            built.set_result(result)

    def build() -> None:
        try:
            rows = write_workbook(target, feed.records(), statistics, language=language, time_zone=time_zone,
                                  trouble_types=trouble_types)
        except BaseException as exc:  # handed to the awaiting coroutine, raised there
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, rows, None)

    async def pump() -> None:
        batch: list[Mapping[str, Any]] = []
        try:
            async for record in records:
                batch.append(record)
                if len(batch) >= batch_size:
                    if not await feed.put(batch):
                        return
                    batch = []
            if batch:
                await feed.put(batch)
        except BaseException as exc:
            feed.end(exc)
            raise
        else:
            feed.end()
        finally:
            closer = getattr(records, "aclose", None)
            if closer is not None:
                await closer()

    threading.Thread(target=build, name="record-export", daemon=True).start()
    pumping = asyncio.ensure_future(pump())
    try:
        # both always finish: the thread on the end marker (or its own error), the pump when the
        # records are done or the thread has abandoned the feed
        await asyncio.wait([pumping, built])
    finally:
        pumping.cancel()
    if pumping.exception() is not None:
        built.exception()  # the thread only stopped because the records did; the cause is the pump's
        raise pumping.exception()
    return built.result()
