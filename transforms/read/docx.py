"""DOCX → lines, under the ZIP limits (members, unpacked size, ratio, one part's size) and with XML
parts refused when their prolog declares a DOCTYPE (entity expansion, external entities)."""
from __future__ import annotations

import io
import re
import zipfile

from transforms.read.grid import join_pieces
from transforms.read.limits import MB, Deadline, Limits, Unreadable, _mb

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _check_zip(zf: zipfile.ZipFile, limits: Limits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise Unreadable(f"DOCX has {len(infos)} ZIP members > {limits.max_members} (limit NIANBAO_MAX_MEMBERS)",
                         "archive_limit")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_uncompressed:
        raise Unreadable(f"DOCX expands to {_mb(total)} > {_mb(limits.max_uncompressed)} "
                         f"(zip bomb? limit NIANBAO_MAX_UNCOMPRESSED)", "archive_limit")
    if total > MB and total / max(packed, 1) > limits.max_ratio:
        raise Unreadable(f"DOCX compression ratio {total / max(packed, 1):.0f}:1 > {limits.max_ratio:g}:1 "
                         f"(zip bomb? limit NIANBAO_MAX_RATIO)", "archive_limit")
    for i in infos:
        if i.file_size > MB and i.file_size / max(i.compress_size, 1) > limits.max_ratio:
            raise Unreadable(f"DOCX member {i.filename} compression ratio "
                             f"{i.file_size / max(i.compress_size, 1):.0f}:1 > {limits.max_ratio:g}:1 "
                             f"(zip bomb? limit NIANBAO_MAX_RATIO)", "archive_limit")


def _read_member(zf: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    """Inflate one member with a hard cap (the ZIP directory may lie about sizes)."""
    cap = min(limits.max_xml_part, limits.max_uncompressed)
    with zf.open(name) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise Unreadable(f"DOCX part {name} inflates past {_mb(cap)} (zip bomb? limit NIANBAO_MAX_XML_PART)",
                         "archive_limit")
    return data


def _xml_parser_options() -> dict:
    return dict(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def _refuse_dtd(data: bytes, name: str) -> None:
    """Refuse a part whose prolog declares a DOCTYPE (ENTITY declarations live only inside one).

    Decided by the XML parser on the structure, not by searching the bytes: the part may be encoded
    in UTF-16 or any charset libxml2 knows, declared or by BOM. The parse stops at the DOCTYPE or at
    the root element's start tag (a DTD can only come before it): entities are never reached."""
    from lxml import etree

    if not data.strip():
        return  # an empty part declares nothing (and is never parsed)
    if _read_as_utf8(data) and not _DTD.search(data):
        return  # UTF-8 as the parser reads it: a DOCTYPE would be these very bytes (the common case, 20x cheaper)
    target = _PrologTarget()
    parser = etree.XMLParser(target=target, **_xml_parser_options())
    try:
        for at in range(0, len(data), 65536):
            parser.feed(data[at:at + 65536])
        parser.close()
    except _PrologSeen:
        pass
    except etree.XMLSyntaxError as exc:
        raise Unreadable(f"DOCX part {name} is not well-formed XML ({exc})", "corrupt_document") from None
    if target.declared is not None:
        raise Unreadable(f"DOCX part {name} declares a DOCTYPE/ENTITY ({target.declared!r}; entity expansion "
                         f"attack?): refused", "unsafe_markup")


_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_XML_DECL = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _read_as_utf8(data: bytes) -> bool:
    """Whether libxml2 reads these bytes as UTF-8: they open with "<" (no BOM, not UTF-16/32 or
    EBCDIC) and declare no encoding, or UTF-8 / ASCII. Only then can a byte search stand in for the
    parse; a part in any other encoding (UTF-16, UTF-7 …) is parsed."""
    if data[:1] != b"<" or data[1:2] in (b"", b"\x00"):
        return False
    m = _XML_DECL.match(data, 0, 512) if data.startswith(b"<?xml") else None
    return m is None or m.group(1).lower() in (b"utf-8", b"utf8", b"us-ascii", b"ascii")


class _PrologSeen(Exception):
    """Stops the prolog parse: a DOCTYPE or the root element was reached."""


class _PrologTarget:
    """lxml parser target that only watches the prolog."""

    def __init__(self):
        self.declared: str | None = None   # the DOCTYPE's name, if the prolog has one

    def doctype(self, name, public_id, system_url):
        self.declared = name or "(unnamed)"
        raise _PrologSeen

    def start(self, tag, attrib, nsmap=None):
        raise _PrologSeen

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


def _check_docinfo(docinfo, name: str) -> None:
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype \
            or docinfo.system_url or docinfo.public_id:
        raise Unreadable(f"DOCX part {name} declares a DOCTYPE/ENTITY (entity expansion attack?): refused",
                         "unsafe_markup")


def _safe_xml(data: bytes, name: str):
    """Parse one XML part: DOCTYPE/ENTITY declarations refused, entities never resolved."""
    _refuse_dtd(data, name)
    from docx.oxml.parser import element_class_lookup  # python-docx's element classes (CT_Tbl, CT_Tc …)
    from lxml import etree

    parser = etree.XMLParser(remove_blank_text=True, dtd_validation=False, **_xml_parser_options())
    parser.set_element_class_lookup(element_class_lookup)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise Unreadable(f"DOCX part {name} is not well-formed XML ({exc})", "corrupt_document") from None
    _check_docinfo(root.getroottree().docinfo, name)
    return root


def docx_lines(data: bytes, limits: Limits | None = None, deadline: Deadline | None = None) -> list[tuple[str, int]]:
    """DOCX → lines: paragraphs one line each, table rows "\\t"-joined (gridSpan cell once, vMerge
    continuation cells skipped), nested tables read as tables of their own; source line = block index."""
    limits = limits or Limits.from_env()
    deadline = deadline or Deadline(limits.max_seconds)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise Unreadable(f"broken DOCX (ZIP): {exc}", "corrupt_document") from None
    with zf:
        _check_zip(zf, limits)
        xml = None
        try:
            for info in zf.infolist():  # every XML part python-docx would parse: no DTD anywhere
                if info.filename.endswith((".xml", ".rels")) and not info.is_dir():
                    deadline.check("DOCX parts")
                    part = _read_member(zf, info.filename, limits)
                    if info.filename == "word/document.xml":
                        xml = part  # its prolog is checked when it is parsed
                    else:
                        _refuse_dtd(part, info.filename)
        except Unreadable:
            raise
        except Exception as exc:  # CRC errors, broken deflate streams, truncated archives
            raise Unreadable(f"broken DOCX ({type(exc).__name__}: {exc})", "corrupt_document") from None
    if xml is None:
        raise Unreadable("DOCX without word/document.xml", "corrupt_document")
    root = _safe_xml(xml, "word/document.xml")
    body = root.find(f"{_W}body")
    if body is None:
        raise Unreadable("DOCX without a document body", "corrupt_document")
    out: list[tuple[str, int]] = []
    counter = [0]

    def nxt() -> int:
        counter[0] += 1
        if counter[0] % 500 == 0:
            deadline.check("DOCX blocks")
        return counter[0]

    def run_text(el) -> list[str]:
        """Text of a paragraph, split at line breaks; tabs become spaces (a tab separates cells)."""
        pieces, cur = [], []
        for node in el.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen", f"{_W}sym"):
            tag = node.tag
            if tag == f"{_W}t":
                cur.append(node.text or "")
            elif tag == f"{_W}tab":
                cur.append(" ")
            elif tag in (f"{_W}br", f"{_W}cr"):
                pieces.append("".join(cur))
                cur = []
            elif tag == f"{_W}noBreakHyphen":
                cur.append("-")
        pieces.append("".join(cur))
        return pieces

    def blocks(container) -> None:
        for el in container:
            tag = el.tag
            if tag == f"{_W}p":
                no = nxt()
                for piece in run_text(el):
                    t = " ".join(piece.split())
                    if t:
                        out.append((t, no))
            elif tag == f"{_W}tbl":
                table(el)
            elif tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}smartTag"):
                inner = el.find(f"{_W}sdtContent")
                blocks(inner if inner is not None else el)

    def cell_text(tc) -> str:
        parts = []
        for p in tc.iter(f"{_W}p"):
            parts.extend(run_text(p))
        return join_pieces(parts)

    def table(tbl) -> None:
        spans, texts, nos = [], [], []
        for tr in tbl.iter(f"{_W}tr"):
            if tr.getparent() is not tbl:
                continue  # rows of nested tables are read with their own table
            tcs = [tc for tc in tr if tc.tag == f"{_W}tc"] + [tc for s in tr.findall(f"{_W}sdt")
                                                                  for tc in s.iter(f"{_W}tc")]
            if any(tc.find(f".//{_W}tbl") is not None for tc in tcs):
                flush(spans, texts, nos)
                spans, texts, nos = [], [], []
                for tc in tcs:
                    blocks(tc)
                continue
            no = nxt()
            row, cells = [], []
            for tc in tcs:
                pr = tc.find(f"{_W}tcPr")
                span, vm = 1, None
                if pr is not None:
                    gs = pr.find(f"{_W}gridSpan")
                    if gs is not None:
                        try:
                            span = max(1, int(gs.get(f"{_W}val") or 1))
                        except ValueError:
                            span = 1
                    v = pr.find(f"{_W}vMerge")
                    if v is not None:
                        vm = v.get(f"{_W}val") or "continue"
                if vm == "continue":
                    row.append(("", -1, span))  # covered by the cell above: not a cell of this row
                    continue
                txt = cell_text(tc)
                row.append((txt, 1, span))
                cells.append(txt)
            spans.append(row)
            texts.append("\t".join(cells))
            nos.append(no)
        flush(spans, texts, nos)

    def flush(spans, texts, nos) -> None:
        if texts:
            out.extend(zip(texts, nos))
            out.append(("", nos[-1]))

    blocks(body)
    return out
