"""Legacy Office files (.doc, .wps, .rtf, .odt; .xls, .et, .ods tables) → a format nianbao reads.

Government sites still publish annual reports as Word 97 ``.doc``, WPS ``.wps``, RTF and
OpenDocument files, and the statutory tables sometimes as spreadsheets. Rather than a second set of
readers, each file is converted by LibreOffice headless (Debian ``libreoffice-writer-nogui`` /
``libreoffice-calc-nogui``) — word-processing documents to DOCX, spreadsheets to HTML — and then read
by the DOCX or HTML reader like any other file, so the same label and value rules apply.

Every conversion runs in its own temporary profile (``-env:UserInstallation``): conversions can
run in parallel, a crashed one cannot lock the next, and the profile disables macros outright. It is
bounded by a wall-clock timeout (the process group is killed) and its output by the byte limit.
Without LibreOffice the file is unreadable with that reason. The only I/O is the subprocess and its
scratch folder; input and output are bytes.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

# What the file is (from its bytes: read.sniff.sniff) → (extension LibreOffice sees, target format).
# The extension matters: it selects LibreOffice's import filter family (writer vs calc).
TARGETS = {
    "doc": ("doc", "docx"),   # Word 97-2003 and WPS Writer (.wps is the same OLE2 "WordDocument")
    "rtf": ("rtf", "docx"),
    "odt": ("odt", "docx"),
    "xls": ("xls", "html"),   # Excel 97-2003 and WPS Spreadsheets (.et)
    "ods": ("ods", "html"),
}

# A fresh profile that never runs a macro: security level "very high" and macro execution disabled.
_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel"
 oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution"
 oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""


class ConversionError(Exception):
    """The file could not be converted; the message is the reason (it reaches report problems)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def soffice_path() -> str | None:
    """The LibreOffice binary (``NIANBAO_SOFFICE`` overrides the search), or None if not installed."""
    explicit = os.environ.get("NIANBAO_SOFFICE")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(data: bytes, kind: str, *, timeout: float, max_bytes: int) -> tuple[bytes, str]:
    """Convert a legacy file's bytes; returns (converted bytes, target format: "docx" | "html")."""
    if kind not in TARGETS:
        raise ConversionError(f"no conversion for {kind}", "unsupported_type")
    binary = soffice_path()
    if binary is None:
        raise ConversionError(f"legacy {kind} file: LibreOffice (soffice) is not installed, so it cannot be "
                              "converted (apt-get install libreoffice-writer-nogui)", "converter_missing")
    ext, target = TARGETS[kind]
    with tempfile.TemporaryDirectory(prefix="nianbao-lo-") as tmp:
        work = Path(tmp)
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(_PROFILE_XCU, encoding="utf-8")
        src = work / f"report.{ext}"
        src.write_bytes(data)
        out = work / "out"
        filt = "docx:MS Word 2007 XML" if target == "docx" else "html"
        cmd = [binary, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               f"-env:UserInstallation={profile.as_uri()}", "--convert-to", filt, "--outdir", str(out), str(src)]
        env = {**os.environ, "HOME": str(work), "SAL_USE_VCLPLUGIN": "svp"}
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd=work, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise ConversionError(f"legacy {kind} file: conversion over the time limit of {timeout:g} s "
                                  "(NIANBAO_MAX_SECONDS; killed)", "time_limit") from None
        results = sorted(out.glob(f"*.{target}")) if out.exists() else []
        if proc.returncode != 0 or not results:
            detail = (err or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output file"]
            raise ConversionError(f"legacy {kind} file could not be converted by LibreOffice: {detail[0][:200]}",
                                  "corrupt_document")
        size = results[0].stat().st_size
        if size > max_bytes:
            raise ConversionError(f"legacy {kind} file converts to {size:,} bytes, over the limit "
                                  f"NIANBAO_MAX_BYTES ({max_bytes:,})", "too_large")
        return results[0].read_bytes(), target


def _kill_group(proc: subprocess.Popen) -> None:
    """soffice forks (oosplash → soffice.bin): kill the whole session, not just the first pid."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
