"""CSV down- and upload of a business unit's messages, for the portal (docs/csv.md).

A download records every waiting message of one type: which messages, when and by whom
(``csv_download``); its file fetches them through the mailbox (the call SOAP's HaalBerichtOp
makes), again and again until the download is confirmed, which confirms exactly those
messages as SOAP's BevestigOntvangst does, or until its messages' deadline. An upload of one
or more files is read and checked whole — every cell, then every message by the mailbox's own
checks — and sent all or none in one transaction (:meth:`skp.mailbox.Mailbox.send_many`).
Downloads, confirmations and uploads are written to the audit trail. Nothing here logs
content. The parts: :mod:`~skp.csvexchange.downloads`, :mod:`~skp.csvexchange.uploads`.

An uploaded row without a Kenmerk gets one derived from the unit, the file's SHA-256 and the
row's line, so the same file uploaded again sends nothing twice.
"""

from __future__ import annotations

from skp.csvexchange.base import CsvFile
from skp.csvexchange.downloads import DownloadInfo, Downloads, Waiting
from skp.csvexchange.uploads import MAX_FILE_BYTES, MAX_FILES, Problem, UploadResult, Uploads

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "CsvExchange", "CsvFile", "DownloadInfo", "Problem",
           "UploadResult", "Waiting"]


class CsvExchange(Downloads, Uploads):
    """CSV files of one unit's messages, over the mailbox (skp.csvexchange.base)."""
