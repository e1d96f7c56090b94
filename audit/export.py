"""
CSV exports of the audit trail and of what other apps keep for it (who watched what):
streamed row by row, and safe to open in a spreadsheet (a cell that starts like a formula
is read as text: failed sign-ins put anyone's input into these files).
"""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils import timezone

# Leading characters that make a spreadsheet read a CSV cell as a formula (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV cell that spreadsheets show as text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value):
        return value


def csv_response(rows: Iterable[list], *, header: list[str], filename: str) -> StreamingHttpResponse:
    """``rows`` (lists of values) as a streamed, formula-safe CSV download named ``<filename>-<time>.csv``."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
