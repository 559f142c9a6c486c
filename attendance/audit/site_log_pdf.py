"""A site's report for one session as a PDF an auditor can print, sign and file.

It shows the counts over time as a chart, the reconciliation with both the estimate and any
correction, the corrections with who and why, the headcounts, and the audit chain's head hash
and length at the time of printing: a printed report can be checked against the database
later. The font (Source Sans Pro, with every Vietnamese glyph) comes from a Python package, so
the report looks the same on every machine and needs no system font.
"""

from __future__ import annotations

import functools
import io
import math
from datetime import timedelta
from importlib.resources import files
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from attendance.audit.site_log import SiteLog
from attendance.store.models import COUNTED

FONT, BOLD = "SourceSansPro", "SourceSansPro-Bold"
INK, MUTED, LINE = (
    colors.HexColor("#1d2430"),
    colors.HexColor("#5b6575"),
    colors.HexColor("#d9dee6"),
)
COUNT, FAILURE = colors.HexColor("#1f5fbf"), colors.HexColor("#c5221f")
CHART_W, CHART_H = 170 * mm, 62 * mm
LEFT, BOTTOM, RIGHT, TOP = 34, 18, 10, 10
STATUS = {
    "ok": "Đạt",
    "under": "Thiếu",
    "over": "Vượt",
    "feed_problem": "Lỗi tín hiệu",
    "no_data": "Không có dữ liệu",
}
QUALITY = {"good": "tốt", "fair": "khá", "poor": "kém", "no_data": "không có dữ liệu"}


@functools.cache
def _fonts() -> None:
    """Register the embedded font once per process."""
    folder = files("font_source_sans_pro") / "files"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "SourceSansPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "SourceSansPro-Bold.ttf")))


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=15, leading=19),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=BOLD, fontSize=11.5, spaceBefore=9, spaceAfter=4
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=MUTED),
    }


def site_report_pdf(log: SiteLog) -> bytes:
    """The report as PDF bytes."""
    _fonts()
    styles = _styles()
    out = io.BytesIO()
    site, session = log.site, log.session
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{site['code']} · {log.conference}/{session.code}",
        author="attendance",
    )
    footer = functools.partial(_footer, f"{site['code']} · {log.conference}/{session.code}")
    document.build(_story(log, styles), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _story(log: SiteLog, styles: dict[str, ParagraphStyle]) -> list[Any]:
    site, session, result = log.site, log.session, log.result
    expected = result.expected if result else 0
    when = (
        f"{log.local(session.starts_at, '%d/%m/%Y %H:%M')} – {log.local(session.ends_at, '%H:%M')}"
    )
    return [
        _p(f"Báo cáo điểm cầu {site['code']} · {site['name']}", styles["title"]),
        _p(
            f"Phiên {log.conference}/{session.code} · {session.name} · {when} "
            f"({log.timezone}) · {site['region']}",
            styles["body"],
        ),
        _p(f"In lúc {log.local(log.made_at, '%d/%m/%Y %H:%M:%S')}", styles["small"]),
        _p("Số người theo thời gian", styles["h2"]),
        chart(log, expected),
        _p(
            "Đường xanh: số người đếm được mỗi khe; vạch đỏ: lấy hình thất bại; nét đứt: số "
            f"phải dự. {_samples_line(log)}",
            styles["small"],
        ),
        _p("Đối chiếu với danh sách", styles["h2"]),
        *_reconciliation(log, styles),
        _p("Hiệu chỉnh", styles["h2"]),
        _corrections(log, styles),
        _p("Đếm thủ công", styles["h2"]),
        _headcounts(log, styles),
        _p("Chuỗi nhật ký kiểm toán", styles["h2"]),
        *_chain(log, styles),
    ]


def chart(log: SiteLog, expected: int) -> Drawing:
    """Counts over the session's window, broken where a slot has no count."""
    drawing = Drawing(CHART_W, CHART_H)
    counts = [s["face_count"] for s in log.samples if _counted(s)]
    top = _round_up(max([*counts, expected, 1]))
    start, end = log.session.starts_at, log.session.ends_at
    x = _scale(start.timestamp(), end.timestamp(), LEFT, CHART_W - RIGHT)
    y = _scale(0, top, BOTTOM, CHART_H - TOP)
    _axes(drawing, log, top, x, y)
    if expected:
        drawing.add(
            Line(
                LEFT,
                y(expected),
                CHART_W - RIGHT,
                y(expected),
                strokeColor=MUTED,
                strokeDashArray=[3, 3],
                strokeWidth=0.8,
            )
        )
    for run in _runs(log):
        points = [(x(s["slot"].timestamp()), y(s["face_count"])) for s in run]
        if len(points) > 1:
            flat = [value for point in points for value in point]
            drawing.add(PolyLine(flat, strokeColor=COUNT, strokeWidth=1.4, fillColor=None))
        drawing.add(Circle(*points[-1], 1.6, fillColor=COUNT, strokeColor=None))
    for sample in log.samples:
        if not _counted(sample) and sample["status"] != "deferred":
            at = x(sample["slot"].timestamp())
            drawing.add(Line(at, BOTTOM, at, BOTTOM + 7, strokeColor=FAILURE, strokeWidth=1))
    return drawing


def _axes(drawing: Drawing, log: SiteLog, top: int, x, y) -> None:
    for value in sorted({0, top // 2, top}):
        drawing.add(Line(LEFT, y(value), CHART_W - RIGHT, y(value), strokeColor=LINE))
        drawing.add(_label(LEFT - 4, y(value) - 3, str(value), "end"))
    start, end = log.session.starts_at, log.session.ends_at
    for at, anchor in ((start, "start"), (start + (end - start) / 2, "middle"), (end, "end")):
        drawing.add(_label(x(at.timestamp()), 4, log.local(at, "%H:%M"), anchor))


def _label(x: float, y: float, text: str, anchor: str) -> String:
    return String(x, y, text, fontName=FONT, fontSize=7.5, fillColor=MUTED, textAnchor=anchor)


def _runs(log: SiteLog) -> list[list[dict[str, Any]]]:
    """Runs of counted samples, broken at a failed sample or a missed slot: a line across a
    dead feed would claim counts nobody made."""
    runs, run, previous = [], [], None
    longest = timedelta(seconds=1.5 * log.cadence_s)
    for sample in log.samples:
        broken = previous is not None and sample["slot"] - previous > longest
        if run and (broken or not _counted(sample)):
            runs.append(run)
            run = []
        if _counted(sample):
            run.append(sample)
        previous = sample["slot"]
    return [*runs, run] if run else runs


def _counted(sample: dict[str, Any]) -> bool:
    return sample["status"] in COUNTED and sample["face_count"] is not None


def _round_up(value: float) -> int:
    """The next 1, 2 or 5 × 10ⁿ: axis labels read at a glance."""
    power = 10 ** math.floor(math.log10(value))
    return int(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _scale(low: float, high: float, start: float, end: float):
    span = (high - low) or 1
    return lambda value: start + (min(max(value, low), high) - low) / span * (end - start)


def _samples_line(log: SiteLog) -> str:
    by_status = ", ".join(f"{status} {n}" for status, n in sorted(log.counts.items()))
    gaps = [e for e in log.entries if e.gap]
    missing = sum(e.missing for e in gaps)
    changes = sum(e.changed for e in log.entries)
    return (
        f"{len(log.samples)} mẫu ({by_status or 'không có'}); {len(gaps)} khoảng trống, "
        f"{missing} khe không có mẫu; {changes} lần đổi trạng thái."
    )


def _reconciliation(log: SiteLog, styles) -> list[Any]:
    r = log.result
    if r is None:
        return [_p("Điểm cầu đã ngừng hoạt động: không được đối chiếu.", styles["body"])]
    rows = [
        ("Kết quả", STATUS.get(r.status, r.status)),
        ("Đăng ký / miễn / phải dự", f"{r.registered} / {r.exempt} / {r.expected}"),
        ("Ước tính chưa hiệu chỉnh", _number(r.estimated_raw)),
        ("Hệ số hiệu chỉnh", f"{r.factor:g}"),
        ("Ước tính theo hệ số", _number(r.calibrated)),
        ("Số hiệu chỉnh", _number(r.corrected)),
        ("Có mặt (số dùng để đối chiếu)", _number(r.present)),
        ("Vắng", _number(r.absent)),
        ("Tỷ lệ tham dự", "–" if r.rate is None else f"{r.rate:.0%}"),
        ("Nhận diện được / người lạ", f"{r.identified} / {r.unregistered}"),
        (
            "Chất lượng số liệu, độ phủ mẫu",
            f"{QUALITY.get(r.quality, r.quality)}, {r.coverage:.0%}",
        ),
        ("Cao nhất", _number(r.peak)),
        ("Ghi chú", "; ".join(r.reasons) or "–"),
        ("Mẫu làm căn cứ", ", ".join(map(str, r.evidence)) or "–"),
    ]
    cells = [[_p(label, styles["small"]), _p(value, styles["body"])] for label, value in rows]
    return [_table(cells, [60 * mm, 114 * mm], header=False)]


def _corrections(log: SiteLog, styles) -> Any:
    if not log.corrections:
        return _p("Không có hiệu chỉnh nào.", styles["body"])
    head = ["Lúc", "Người hiệu chỉnh", "Ước tính lúc đó", "Số mới", "Lý do"]
    rows = [
        [
            log.local(c["created_at"], "%d/%m %H:%M"),
            c["corrected_by"],
            _number(c["original_value"]),
            _number(c["value"]),
            c["reason"],
        ]
        for c in log.corrections
    ]
    return _grid(head, rows, [24 * mm, 32 * mm, 24 * mm, 18 * mm, 76 * mm], styles)


def _headcounts(log: SiteLog, styles) -> Any:
    if not log.headcounts:
        return _p("Không có lần đếm thủ công nào trong phiên.", styles["body"])
    head = ["Lúc", "Số người", "Người đếm", "Ghi chú"]
    rows = [
        [
            log.local(h["counted_at"], "%d/%m %H:%M"),
            str(h["value"]),
            h["counted_by"],
            h["note"] or "",
        ]
        for h in log.headcounts
    ]
    return _grid(head, rows, [24 * mm, 20 * mm, 40 * mm, 90 * mm], styles)


def _chain(log: SiteLog, styles) -> list[Any]:
    chain = log.chain
    state = {True: "mọi mã băm đã được tính lại: nguyên vẹn", False: f"BỊ SỬA: {chain.problem}"}
    return [
        _p(f"Số sự kiện lúc in: {chain.events}", styles["body"]),
        _p(f"Mã băm cuối chuỗi lúc in: {chain.head or '–'}", styles["body"]),
        _p(
            state.get(
                chain.verified,
                "Các mã băm không được tính lại khi in. Đối chiếu mã "
                "băm và số sự kiện này với cơ sở dữ liệu để biết số liệu có bị sửa sau "
                "khi in hay không.",
            ),
            styles["small"],
        ),
    ]


def _grid(head: list[str], rows: list[list[str]], widths, styles) -> Table:
    cells = [[_p(h, styles["small"]) for h in head]]
    cells += [[_p(value, styles["body"]) for value in row] for row in rows]
    return _table(cells, widths, header=True)


def _table(cells, widths, header: bool) -> Table:
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style.append(("LINEBELOW", (0, 0), (-1, 0), 0.8, MUTED))
    table.setStyle(TableStyle(style))
    return table


def _footer(label: str, canvas, document) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(18 * mm, 9 * mm, label)
    canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"Trang {document.page}")
    canvas.restoreState()


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
