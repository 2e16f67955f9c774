"""Alert rules: which heartbeat values are a problem, how bad, and online/offline/missing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from central_server.fleet.schemas import HeartbeatIn

ONLINE_WITHIN = timedelta(minutes=3)  # three missed one-minute heartbeats
OFFLINE_ALERT_AFTER = timedelta(minutes=15)
MISSING_AFTER = timedelta(hours=24)
DISK_LOW_PCT = 10.0
DISK_LOW_BYTES = 1 << 30
CPU_HOT_C = 85.0
OUTBOX_BACKLOG = 20
COPY_REPORTS_LATE_S = 30 * 60  # a receipt-copy print report waiting this long is an alert
# A command handed out this long ago that the kiosk has neither acknowledged nor answered is
# unacknowledged (fleet.service): a kiosk that names what it received (fleet.heartbeats) gets
# it again with every heartbeat (one a minute), an older kiosk never does.
UNACKNOWLEDGED_AFTER = timedelta(minutes=10)
UNACKNOWLEDGED = "commands_unacknowledged"  # raised by the server from its commands

OK, WARNING, CRITICAL = 0, 1, 2
ALERTS: dict[str, tuple[int, str]] = {  # texts: Indonesian / English
    "paper_out": (CRITICAL, "Kertas printer tiket habis / Ticket printer out of paper"),
    "paper_near_end": (
        WARNING,
        "Kertas printer tiket hampir habis / Ticket printer paper near end",
    ),
    "ticket_printer_fault": (
        CRITICAL,
        "Printer tiket mati atau tutup terbuka / Ticket printer offline or cover open",
    ),
    "a4_paper_out": (CRITICAL, "Kertas printer A4 habis / A4 printer out of paper"),
    "a4_printer_fault": (
        CRITICAL,
        "Printer A4 mati atau kertas macet / A4 printer offline or jammed",
    ),
    "reader_missing": (CRITICAL, "Pembaca e-KTP tidak terdeteksi / e-KTP reader missing"),
    "sam_fault": (
        CRITICAL,
        "Modul keamanan (SAM) pembaca e-KTP tidak ada atau tidak merespons; petugas "
        "dipanggil / e-KTP reader's security module (SAM) missing or not answering; "
        "attendant called",
    ),
    "attendant_called": (WARNING, "Anjungan memanggil petugas / The kiosk is calling an attendant"),
    "scanner_missing": (WARNING, "Pemindai dokumen tidak tersedia / Document scanner unavailable"),
    "disk_low": (WARNING, "Ruang disk hampir habis / Disk space low"),
    "cpu_hot": (WARNING, "Suhu CPU tinggi / CPU temperature high"),
    "outbox_backlog": (
        WARNING,
        "Permohonan menunggu di kotak keluar / Applications waiting in the outbox",
    ),
    "held_submissions": (
        WARNING,
        "Kiriman tertahan menunggu petugas / Held submissions waiting for an attendant",
    ),
    "copy_reports_waiting": (
        WARNING,
        "Laporan hasil cetak salinan tanda terima tertahan di anjungan lebih dari 30 menit: "
        "salinan yang gagal dicetak belum dikembalikan ke jatah harian warga sampai laporan "
        "terkirim / Receipt-copy print reports have waited on the kiosk for more than 30 "
        "minutes: a copy that did not print is not given back to the citizen's daily allowance "
        "until its report is sent",
    ),
    "copy_reports_refused": (
        WARNING,
        "Laporan hasil cetak salinan tanda terima ditolak server: jatah salinan harian warga "
        "mungkin terhitung salah; periksa log anjungan dan daftar salinan di server / "
        "Receipt-copy print reports were refused by the server: a citizen's daily copy "
        "allowance may be counted wrongly; check the kiosk's log and the server's copy records",
    ),
    "storage_fault": (
        CRITICAL,
        "Penyimpanan data anjungan rusak atau penuh / Kiosk storage damaged or full",
    ),
    "over_quota": (
        CRITICAL,
        "Pemesanan luring masuk untuk tempat yang sudah dilepas dan terisi: jadwal melebihi "
        "kuota, warga tetap dilayani / An offline booking arrived for a place released and "
        "taken meanwhile: the slot is over its quota, the citizen is still served",
    ),
    "seal_key_pending": (
        WARNING,
        "Kunci segel baru menunggu persetujuan teknisi: setujui atau tolak di halaman anjungan "
        "/ New seal key awaiting a technician's approval: approve or reject it on the kiosk's page",
    ),
    "seal_key_rejected": (
        CRITICAL,
        "Kunci segel anjungan ditolak teknisi: segel dengan kunci itu tidak sah, anjungan perlu "
        "kunci baru / The kiosk's seal key was rejected: its seals are not valid, the kiosk needs "
        "a new key",
    ),
    "lookup_budget": (  # central_server.card_holder_audit: raised by the server, not a heartbeat
        CRITICAL,
        "Anjungan melampaui batas pencarian data pemegang kartu (NIK): pencarian dan cetak "
        "dokumen ditolak sementara. Wajar bila antrean warga sangat ramai; bila tidak, token "
        "anjungan mungkin disalahgunakan untuk menelusuri NIK: periksa log audit, cabut token "
        "dan daftarkan ulang / The kiosk went over its card-holder look-up budget (NIK): "
        "look-ups and document printing are refused for now. Normal only in a very busy queue; "
        "otherwise its token may be misused to walk through NIKs: check the audit log, revoke "
        "the token and re-enrol",
    ),
    "seal_key_replaced": (
        WARNING,
        "Kunci segel anjungan ditolak teknisi: anjungan berhenti memakainya dan membuat kunci "
        "baru yang menunggu persetujuan; setujui atau tolak di halaman anjungan / The kiosk's "
        "seal key was rejected: the kiosk stopped using it and made a new key awaiting approval; "
        "approve or reject it on the kiosk's page",
    ),
    "seal_key_rotating": (
        WARNING,
        "Penggantian kunci segel belum berhasil: anjungan tetap menyegel dengan kunci lama "
        "(lihat hasil perintah dan log anjungan) / The seal key rotation has not succeeded yet: "
        "the kiosk keeps sealing with its old key (see the command's result and its log)",
    ),
    "commands_unacknowledged": (  # fleet.service: raised by the server, not a heartbeat
        WARNING,
        "Perintah dikirim lebih dari 10 menit lalu belum dikonfirmasi anjungan: lihat halaman "
        "anjungan / Commands sent more than 10 minutes ago not acknowledged by the kiosk: see "
        "the kiosk's page",
    ),
    "offline_too_long": (
        CRITICAL,
        "Tidak terhubung lebih dari 15 menit / Offline for more than 15 minutes",
    ),
}
PROBLEM_CODES = tuple(ALERTS)
SAM_FAULT_STATES = {"fault", "missing"}  # drivers.card_reader.pcsc status()["sam"]
READER_MISSING_STATES = {"unavailable", "stopped", "missing", "error", "no_reader"}
STORAGE_FAULT_STATES = {"damaged", "unwritable", "full", "no_key"}  # kiosk_app.services.durable
PRINTER_FAULT_STATES = {"offline", "cover_open", "jammed", "error"}


def device_problems(hb: HeartbeatIn) -> list[str]:
    """Alert codes raised by one heartbeat (connectivity alerts come from last_seen)."""
    found: list[str] = []
    devices = hb.devices
    ticket = devices.get("ticket_printer")
    if ticket is not None:
        if ticket.get("paper") == "out" or ticket.get("state") == "paper_out":
            found.append("paper_out")
        elif ticket.get("paper") == "near_end":
            found.append("paper_near_end")
        if ticket.get("state") in PRINTER_FAULT_STATES:
            found.append("ticket_printer_fault")
    a4 = devices.get("document_printer")
    if a4 is not None:
        if a4.get("paper") == "out" or a4.get("state") == "paper_out":
            found.append("a4_paper_out")
        if a4.get("state") in PRINTER_FAULT_STATES:
            found.append("a4_printer_fault")
    reader = devices.get("card_reader")
    if reader is None or reader.get("state") in READER_MISSING_STATES:
        # A reader that is there but whose SAM is missing or faulty cannot read an e-KTP
        # either; the technician needs to know which part to bring.
        sam_fault = (
            reader is not None
            and bool(reader.get("reader"))
            and reader.get("sam") in SAM_FAULT_STATES
        )
        found.append("sam_fault" if sam_fault else "reader_missing")
    scanner = devices.get("scanner")
    if scanner is not None and scanner.get("state") in READER_MISSING_STATES:
        found.append("scanner_missing")
    if (devices.get("attendant") or {}).get("called"):
        found.append("attendant_called")
    storage = devices.get("storage")
    if storage is not None and storage.get("state") in STORAGE_FAULT_STATES:
        found.append("storage_fault")
    found.extend(_copy_report_problems(devices.get("copy_reports") or {}))
    seal_key = devices.get("seal_key") or {}  # kiosk_app.services.seal_key
    if seal_key.get("rejected") and seal_key.get("state") != "in_force":
        found.append("seal_key_replaced")  # a rejected key replaced, the new one not in force
    elif seal_key.get("state") in ("pending", "rejected"):
        found.append(f"seal_key_{seal_key['state']}")
    if seal_key.get("rotation_failed"):  # a planned rotation not done (yet)
        found.append("seal_key_rotating")
    if hb.disk_free_pct < DISK_LOW_PCT or hb.disk_free_bytes < DISK_LOW_BYTES:
        found.append("disk_low")
    if hb.cpu_temp_c is not None and hb.cpu_temp_c >= CPU_HOT_C:
        found.append("cpu_hot")
    if hb.outbox_depth >= OUTBOX_BACKLOG:
        found.append("outbox_backlog")
    if hb.held_submissions > 0:
        found.append("held_submissions")
    return found


def _copy_report_problems(reports: dict[str, str]) -> list[str]:
    """kiosk_app.services.printing.copy_outcomes status(): waiting long, refused."""
    found = []
    if _count(reports.get("waiting")) and _count(reports.get("oldest_waiting_s")) >= (
        COPY_REPORTS_LATE_S
    ):
        found.append("copy_reports_waiting")
    if _count(reports.get("refused")):
        found.append("copy_reports_refused")
    return found


def _count(value: str | None) -> int:
    """A device field's count (the heartbeat's device fields are text): 0 if not a count."""
    return int(value) if value is not None and value.isdigit() else 0


def severity(codes: Iterable[str]) -> int:
    """The worst level among alert codes (unknown codes count as warnings)."""
    return max((ALERTS.get(code, (WARNING, ""))[0] for code in codes), default=OK)


def encode(codes: Iterable[str]) -> str:
    """Store codes as ' a b ' so that LIKE '% a %' finds one exactly."""
    codes = list(codes)
    return f" {' '.join(codes)} " if codes else ""


def decode(stored: str | None) -> list[str]:
    """Inverse of encode."""
    return (stored or "").split()


def connectivity(last_seen: datetime | None, now: datetime) -> str:
    """online, offline or missing from the last heartbeat time."""
    if last_seen is None or now - last_seen >= MISSING_AFTER:
        return "missing"
    return "online" if now - last_seen < ONLINE_WITHIN else "offline"


def current_alerts(stored: str | None, last_seen: datetime | None, now: datetime) -> list[str]:
    """Device alerts of the last heartbeat plus offline_too_long from last_seen."""
    codes = decode(stored)
    if last_seen is None or now - last_seen >= OFFLINE_ALERT_AFTER:
        codes.append("offline_too_long")
    return codes


def colour(status: str, alerts: list[str]) -> str:
    """Dashboard colour: grey missing, red critical or long offline, amber warning, green ok."""
    if status == "missing":
        return "grey"
    level = severity(alerts)
    if level == CRITICAL:
        return "red"
    if level == WARNING or status == "offline":
        return "amber"
    return "green"


def unacknowledged_spell(sent_at: datetime, now: datetime) -> tuple[datetime, datetime] | None:
    """When a command handed out at `sent_at` and acknowledged (or answered) at `now` was
    unacknowledged (raised, cleared), or None if it was acknowledged in time."""
    raised = sent_at + UNACKNOWLEDGED_AFTER
    return (raised, now) if raised < now else None
